/**
 * API keys of server-to-server clients (docs/api-keys.md): `oak_` plus 32 random bytes
 * (base64url), stored only as the SHA-256 of the whole secret. A request's key is looked up by
 * that hash through the SECURITY DEFINER function `api_key_by_secret_hash` (drizzle/0012), since
 * the tenant is not known yet, and the outcome is kept per process for `API_KEY_CACHE_TTL_MS`.
 *
 * The cache never lets a revoked or expired key read or write: every request transaction's
 * set-up statement also asks `request_principal_active`, which refuses a key revoked or expired
 * since (plugins/tenant-transaction.ts). What the cache can outlive by up to its TTL is only the
 * answer to requests that never reach execution (a validation error, a cost rejection).
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { base64url } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { TokenRejectedError, type TokenVerifier } from './jwt.ts';
import { isScope, type Viewer } from './viewer.ts';

export const API_KEY_SECRET_PREFIX = 'oak_';
/** 256 bits of randomness: nothing to guess, so an unsalted SHA-256 is a safe thing to store. */
const SECRET_BYTES = 32;
/** `oak_` and 8 characters of the random part: enough to recognise a key, useless to guess it. */
export const API_KEY_PREFIX_LENGTH = 12;
const SECRET_FORMAT = /^oak_[A-Za-z0-9_-]{43}$/;

/** How long a looked-up key (or an unknown secret) is remembered by one process. */
export const API_KEY_CACHE_TTL_MS = 30_000;
const API_KEY_CACHE_MAX = 10_000;
/** `lastUsedAt` is written at most this often per key (and per process). */
export const LAST_USED_INTERVAL_MS = 60_000;

export interface NewApiKeySecret {
  /** The secret, shown to its creator once. */
  readonly secret: string;
  readonly prefix: string;
  readonly hash: string;
}

export function generateApiKeySecret(): NewApiKeySecret {
  const secret = `${API_KEY_SECRET_PREFIX}${base64url.encode(randomBytes(SECRET_BYTES))}`;
  return {
    secret,
    prefix: secret.slice(0, API_KEY_PREFIX_LENGTH),
    hash: hashApiKeySecret(secret),
  };
}

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** True when a bearer credential is meant as an API key rather than a JWT. */
export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_SECRET_PREFIX);
}

interface KeyRow {
  id: string;
  tenant_id: string;
  scopes: string[];
  expires_at: string | Date | null;
  revoked_at: string | Date | null;
}

type Cached = { readonly viewer: Viewer; readonly expiresAt: number | null } | null;

export interface ApiKeyVerifierOptions {
  readonly logger?: Pick<Logger, 'warn'>;
}

/** Verifies `oak_` secrets; rejects exactly like a bad JWT (`TokenRejectedError`). */
export function createApiKeyVerifier(
  database: Database,
  options: ApiKeyVerifierOptions = {},
): TokenVerifier {
  const known = new LRUCache<string, { value: Cached }>({
    max: API_KEY_CACHE_MAX,
    ttl: API_KEY_CACHE_TTL_MS,
  });
  const touchedAt = new LRUCache<string, number>({
    max: API_KEY_CACHE_MAX,
    ttl: LAST_USED_INTERVAL_MS,
  });

  const lookUp = async (hash: string): Promise<Cached> => {
    const result = await database.circuit.run(() =>
      database.db.execute(
        sql`select id, tenant_id, scopes, expires_at, revoked_at from api_key_by_secret_hash(${hash})`,
      ),
    );
    const row = rowsOf(result)[0] as KeyRow | undefined;
    if (!row || row.revoked_at !== null) return null;
    const expiresAt = row.expires_at === null ? null : new Date(row.expires_at).getTime();
    const viewer: Viewer = Object.freeze({
      userId: null,
      apiKeyId: row.id,
      tenantId: row.tenant_id,
      role: null,
      scopes: new Set(row.scopes.filter(isScope)),
    });
    return { viewer, expiresAt };
  };

  // Off the request's path: a failure only delays `lastUsedAt`.
  const touch = (viewer: Viewer) => {
    const id = viewer.apiKeyId as string;
    if (touchedAt.has(id)) return;
    touchedAt.set(id, Date.now());
    database.db
      .execute(sql`select touch_api_key(${viewer.tenantId}, ${id})`)
      .catch((error: unknown) => {
        touchedAt.delete(id);
        options.logger?.warn({ err: error, apiKeyId: id }, 'could not record API key use');
      });
  };

  return {
    async verify(token) {
      if (!SECRET_FORMAT.test(token)) throw new TokenRejectedError('malformed');
      const hash = hashApiKeySecret(token);
      let entry = known.get(hash);
      if (!entry) {
        entry = { value: await lookUp(hash) };
        known.set(hash, entry);
      }
      const { value } = entry;
      if (value === null) throw new TokenRejectedError('unknown_key');
      if (value.expiresAt !== null && value.expiresAt <= Date.now()) {
        throw new TokenRejectedError('expired');
      }
      touch(value.viewer);
      return value.viewer;
    },
  };
}

/** A verifier for both kinds of bearer credential: `oak_…` API keys, else JWTs. */
export function withApiKeys(jwt: TokenVerifier, apiKeys: TokenVerifier): TokenVerifier {
  return {
    verify: (token) => (looksLikeApiKey(token) ? apiKeys.verify(token) : jwt.verify(token)),
  };
}

function rowsOf(result: unknown): unknown[] {
  // postgres.js returns the rows themselves; PGlite a result with `rows`.
  return Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? []);
}
