/**
 * Development tokens: a user named by tenant slug and username, signed with the development
 * key in DATA_DIR. Used by `npm run token` (cli/token.ts), by the start-up banner and by tests.
 * Demo users resolve without a database (the embedded PGlite database cannot be opened while
 * the server runs); other users are looked up when DATABASE_URL names a PostgreSQL server.
 */
import { and, eq, sql } from 'drizzle-orm';
import ms from 'ms';
import { type Config, MAX_TOKEN_LIFETIME_SECONDS } from '../config.ts';
import type { Db } from '../db/client.ts';
import { type Role, tenants, users } from '../db/schema.ts';
import { DEMO_TENANTS } from '../db/seed.ts';
import { loadOrCreateDevKey, signDevToken } from './dev-key.ts';
import { isScope, SCOPES } from './viewer.ts';

export const DEFAULT_TTL_SECONDS = 15 * 60;
/**
 * What `--ttl` can ever say; the configured JWT_MAX_TOKEN_LIFETIME (default 15m) is the real
 * limit, since the server refuses any token that lives longer.
 */
export const MAX_TTL_SECONDS = MAX_TOKEN_LIFETIME_SECONDS;

/** A mistake in what was asked for: shown to the user as is, without a stack trace. */
export class DevTokenError extends Error {
  override name = 'DevTokenError';
}

export interface DevUser {
  readonly tenantId: string;
  readonly userId: string;
  readonly role: Role;
}

export interface MintDevTokenOptions {
  /** Tenant slug, e.g. `acme`. */
  readonly tenant: string;
  /** Username within the tenant, e.g. `alice`. */
  readonly user: string;
  /** Narrows the role's scopes; omitted means everything the role grants. */
  readonly scopes?: readonly string[];
  readonly ttlSeconds?: number;
  /** An open database to look non-demo users up in, instead of connecting to DATABASE_URL. */
  readonly db?: Db;
}

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds as the shortest exact `90s`, `15m`, `2h`, `1d` (or a combination: `1h30m`). */
export function formatDuration(seconds: number): string {
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of Object.entries(UNITS).sort(([, a], [, b]) => b - a)) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('') || '0s';
}

/**
 * The token lifetime to use: `requested` (default 15 minutes, or the maximum when that is
 * shorter), refused when the server would refuse the token as living too long.
 */
export function tokenTtl(config: Config, requested?: number): number {
  const max = config.auth.maxTokenLifetimeSeconds;
  if (requested === undefined) return Math.min(DEFAULT_TTL_SECONDS, max);
  if (requested > max) {
    throw new DevTokenError(
      `--ttl ${formatDuration(requested)} is longer than the server accepts: tokens may live at most ${formatDuration(max)} (JWT_MAX_TOKEN_LIFETIME). Use a shorter --ttl, or raise JWT_MAX_TOKEN_LIFETIME for the server and this command alike.`,
    );
  }
  return requested;
}

/** `90s`, `15m`, `2h`, `1d` → seconds; positive and at most 24 hours. */
export function parseTtl(text: string): number {
  const trimmed = text.trim();
  // The pattern is the accepted syntax (a whole number and one unit); `ms` does the arithmetic.
  const match = /^[0-9]{1,6}[smhd]$/.test(trimmed);
  const seconds = match ? ms(trimmed as ms.StringValue) / 1000 : Number.NaN;
  if (!match || !Number.isInteger(seconds) || seconds <= 0) {
    throw new DevTokenError(
      `--ttl ${JSON.stringify(text)} is not a duration: use a positive number and a unit, like 90s, 15m, 2h or 1d.`,
    );
  }
  if (seconds > MAX_TTL_SECONDS) {
    throw new DevTokenError(`--ttl ${text} is too long: development tokens live at most 24h.`);
  }
  return seconds;
}

/** Splits `"read:products read:orders"` (spaces or commas) and refuses unknown scope names. */
export function parseScopes(text: string): string[] {
  const scopes = [...new Set(text.split(/[\s,]+/).filter(Boolean))];
  const unknown = scopes.filter((scope) => !isScope(scope));
  if (unknown.length > 0) {
    throw new DevTokenError(
      `Unknown scope${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known scopes: ${SCOPES.join(' ')}.`,
    );
  }
  return scopes;
}

function demoUsersList(): string {
  return DEMO_TENANTS.map(
    (tenant) =>
      `${tenant.slug}: ${tenant.users.map((user) => `${user.username} (${user.role})`).join(', ')}`,
  ).join('; ');
}

/** Finds a user by tenant slug and username: demo users first, then the database if any. */
export async function resolveDevUser(
  config: Config,
  tenantSlug: string,
  username: string,
  db?: Db,
): Promise<DevUser> {
  const slug = tenantSlug.trim().toLowerCase();
  const name = username.trim().toLowerCase();
  const demoTenant = DEMO_TENANTS.find((tenant) => tenant.slug === slug);
  const demoUser = demoTenant?.users.find((user) => user.username === name);
  if (demoTenant && demoUser) {
    return { tenantId: demoTenant.id, userId: demoUser.id, role: demoUser.role };
  }
  if (db) return lookUpUser(db, slug, name);
  if (config.database.kind === 'postgres') {
    // Loaded only here: the demo path needs no database driver at all.
    const { openDatabase } = await import('../db/client.ts');
    const database = await openDatabase(config.database);
    try {
      return await lookUpUser(database.db, slug, name);
    } finally {
      await database.close();
    }
  }
  throw new DevTokenError(
    `No demo user ${name} in tenant ${slug}. Demo users: ${demoUsersList()}. ` +
      'Other users can be looked up when DATABASE_URL is set.',
  );
}

/**
 * RLS is forced on `tenants` and `users`. The tenant is found by slug as the connecting role
 * (a superuser bypasses RLS; an ordinary owner sees nothing here), then `app.tenant_id` is set
 * for the user lookup.
 */
async function lookUpUser(db: Db, slug: string, username: string): Promise<DevUser> {
  const found = await findUser(db, slug, username).catch((error: unknown) => {
    // Drizzle's message is the SQL; the driver's (its cause) says what went wrong.
    const cause = (error as Error).cause as Error | undefined;
    throw new DevTokenError(
      `Could not look up ${username} in tenant ${slug} in the database: ${cause?.message ?? (error as Error).message}`,
    );
  });
  if (!found.tenant) {
    throw new DevTokenError(
      `No tenant with slug ${slug} (the database role must be able to read \`tenants\` without a tenant set, e.g. a superuser). Demo users: ${demoUsersList()}.`,
    );
  }
  if (!found.user) throw new DevTokenError(`No user ${username} in tenant ${slug}.`);
  return { tenantId: found.tenant.id, userId: found.user.id, role: found.user.role };
}

function findUser(db: Db, slug: string, username: string) {
  return db.transaction(async (tx) => {
    const [tenant] = await tx
      .select({ id: tenants.id })
      .from(tenants)
      .where(eq(tenants.slug, slug))
      .limit(1);
    if (!tenant) return { tenant: null, user: null };
    await tx.execute(sql`select set_config('app.tenant_id', ${tenant.id}, true)`);
    const [user] = await tx
      .select({ id: users.id, role: users.role })
      .from(users)
      .where(and(eq(users.tenantId, tenant.id), eq(users.username, username)))
      .limit(1);
    return { tenant, user: user ?? null };
  });
}

export function assertDevKey(config: Config): asserts config is Config & {
  auth: { keys: { kind: 'devKey'; file: string } };
} {
  if (config.auth.keys.kind !== 'devKey') {
    throw new DevTokenError(
      `Development tokens need the development signing key, but JWT keys come from ${
        config.auth.keys.kind === 'jwksFile' ? 'JWT_JWKS_FILE' : 'JWT_JWKS_URL'
      }: get a token from your identity provider instead.`,
    );
  }
}

export async function signFor(
  config: Config,
  user: DevUser,
  scopes: readonly string[] | undefined,
  ttlSeconds: number,
): Promise<string> {
  assertDevKey(config);
  const secret = await loadOrCreateDevKey(config.auth.keys.file);
  return signDevToken(secret, config.auth, { ...user, scopes }, ttlSeconds);
}

/** Signs a development token for a user named by tenant slug and username. */
export async function mintDevToken(config: Config, options: MintDevTokenOptions): Promise<string> {
  assertDevKey(config);
  const ttlSeconds = tokenTtl(config, options.ttlSeconds);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new DevTokenError(`ttlSeconds must be a positive integer, got ${ttlSeconds}.`);
  }
  const scopes = options.scopes === undefined ? undefined : parseScopes(options.scopes.join(' '));
  const user = await resolveDevUser(config, options.tenant, options.user, options.db);
  return signFor(config, user, scopes, ttlSeconds);
}
