/**
 * What the reference servers (mercurius-jit.ts, ceiling.ts) read from the environment: the
 * variables our server reads for the same things, with the same defaults as src/config.ts, so
 * that the bench can start every server with one environment. Read by hand rather than through
 * loadConfig: a reference must not load zod and the rest of our configuration only to have its
 * memory compared with ours. test/bench/references.test.ts holds these to loadConfig.
 */
import path from 'node:path';

export interface ReferenceSettings {
  port: number;
  host: string;
  databaseUrl: string;
  /** DB_POOL_MAX: the size of the postgres.js pool, as ours. */
  poolMax: number;
  /** STATEMENT_TIMEOUT_MS: a startup parameter of every pooled connection, as ours. */
  statementTimeoutMs: number;
  /** The development HS256 secret `npm run token` signs with: DATA_DIR/dev-signing-key.json. */
  signingKeyFile: string;
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
  /** The longest `exp - iat` a token may have. */
  maxTokenLifetimeSeconds: number;
  /** Where the persisted operations are: the references serve OrderList by its documentId. */
  manifestFile: string;
}

/** src/config.ts's defaults for the variables below. */
const DEFAULTS = {
  PORT: '4000',
  HOST: '127.0.0.1',
  DATA_DIR: './.data',
  DB_POOL_MAX: '10',
  STATEMENT_TIMEOUT_MS: '5000',
  JWT_ISSUER: 'orders-api-dev',
  JWT_AUDIENCE: 'orders-api',
  JWT_CLOCK_TOLERANCE_SECONDS: '30',
  JWT_MAX_TOKEN_LIFETIME: '15m',
  PERSISTED_OPERATIONS_MANIFEST: 'persisted-queries/manifest.json',
} as const;

const DURATION_UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

function integer(name: string, raw: string): number {
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}".`);
  return Number(raw);
}

/** `900`, `90s`, `15m`, `2h`, `1d` → seconds (JWT_MAX_TOKEN_LIFETIME's form). */
export function durationSeconds(name: string, raw: string): number {
  const match = /^(\d{1,6})([smhd]?)$/.exec(raw);
  if (!match) throw new Error(`${name} must be seconds or a duration such as 15m, got "${raw}".`);
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? ''] ?? Number.NaN);
}

export function readReferenceSettings(
  env: Record<string, string | undefined> = process.env,
): ReferenceSettings {
  // An empty variable means unset, as in src/config.ts.
  const read = (name: keyof typeof DEFAULTS) => env[name] || DEFAULTS[name];
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL must name the PostgreSQL the bench seeded.');
  if (env.JWT_JWKS_FILE || env.JWT_JWKS_URL) {
    throw new Error('The references verify development tokens only: unset JWT_JWKS_FILE/URL.');
  }
  return {
    port: integer('PORT', read('PORT')),
    host: read('HOST'),
    databaseUrl,
    poolMax: integer('DB_POOL_MAX', read('DB_POOL_MAX')),
    statementTimeoutMs: integer('STATEMENT_TIMEOUT_MS', read('STATEMENT_TIMEOUT_MS')),
    signingKeyFile: path.join(path.resolve(read('DATA_DIR')), 'dev-signing-key.json'),
    issuer: read('JWT_ISSUER'),
    audience: read('JWT_AUDIENCE'),
    clockToleranceSeconds: integer(
      'JWT_CLOCK_TOLERANCE_SECONDS',
      read('JWT_CLOCK_TOLERANCE_SECONDS'),
    ),
    maxTokenLifetimeSeconds: durationSeconds(
      'JWT_MAX_TOKEN_LIFETIME',
      read('JWT_MAX_TOKEN_LIFETIME'),
    ),
    manifestFile: path.resolve(read('PERSISTED_OPERATIONS_MANIFEST')),
  };
}
