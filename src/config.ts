/**
 * The only module that reads `process.env`. Every setting is parsed once with zod into a
 * frozen object; a bad value stops the server at start with a message naming the variable.
 * Defaults depend on NODE_ENV so that `npm start` is safe to try and production is safe to run.
 */
import path from 'node:path';
import { z } from 'zod';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const positiveInt = z.coerce.number().int().positive();

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  DB_POOL_MAX: positiveInt.max(1000).default(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  GRAPHIQL: booleanFromEnv.optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_JWKS_FILE: z.string().min(1).optional(),
  JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  JWT_ALGORITHMS: z
    .string()
    .transform((value) => value.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.enum(['HS256', 'RS256', 'ES256', 'EdDSA'])).min(1))
    .optional(),
  JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(30).default(30),
  PAGE_SIZE_DEFAULT: positiveInt.max(100).default(20),
  PAGE_SIZE_MAX: positiveInt.max(100).default(100),
  SEED_DEMO_DATA: booleanFromEnv.optional(),
});

export type Environment = 'development' | 'production' | 'test';

export interface Config {
  readonly env: Environment;
  readonly isProduction: boolean;
  readonly port: number;
  readonly host: string;
  /** Absolute path of the directory holding PGlite files and the development signing key. */
  readonly dataDir: string;
  readonly database:
    | { readonly kind: 'pglite'; readonly dataDir: string; readonly seedDemoData: boolean }
    | { readonly kind: 'postgres'; readonly url: string; readonly poolMax: number };
  readonly logLevel: string;
  readonly graphiql: boolean;
  readonly auth: {
    readonly issuer: string;
    readonly audience: string;
    readonly algorithms: readonly ('HS256' | 'RS256' | 'ES256' | 'EdDSA')[];
    readonly clockToleranceSeconds: number;
    /** Where verification keys come from. `devKey`: an HS256 secret generated into DATA_DIR. */
    readonly keys:
      | { readonly kind: 'devKey'; readonly file: string }
      | { readonly kind: 'jwksFile'; readonly file: string }
      | { readonly kind: 'jwksUrl'; readonly url: string };
  };
  readonly pagination: { readonly defaultSize: number; readonly maxSize: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DEV_ISSUER = 'orders-api-dev';
const DEFAULT_AUDIENCE = 'orders-api';

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "unset": shells and .env files often export `FOO=`.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    // Fix: name the variable itself; a list variable's issue path also has the item's index
    // (`JWT_ALGORITHMS.0`), which is no variable anyone can set.
    const problems = parsed.error.issues.map(
      (issue) => `${String(issue.path[0] ?? '(environment)')}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  const dataDir = path.resolve(e.DATA_DIR);

  if (e.JWT_JWKS_FILE && e.JWT_JWKS_URL) {
    throw new ConfigError('Set only one of JWT_JWKS_FILE and JWT_JWKS_URL.');
  }
  const keys: Config['auth']['keys'] = e.JWT_JWKS_URL
    ? { kind: 'jwksUrl', url: e.JWT_JWKS_URL }
    : e.JWT_JWKS_FILE
      ? { kind: 'jwksFile', file: path.resolve(e.JWT_JWKS_FILE) }
      : { kind: 'devKey', file: path.join(dataDir, 'dev-signing-key.json') };

  if (isProduction) {
    if (keys.kind === 'devKey') {
      throw new ConfigError(
        'NODE_ENV=production refuses the development signing key: set JWT_JWKS_FILE or JWT_JWKS_URL.',
      );
    }
    if (!e.JWT_ISSUER) throw new ConfigError('JWT_ISSUER is required when NODE_ENV=production.');
    if (!e.JWT_AUDIENCE) {
      throw new ConfigError('JWT_AUDIENCE is required when NODE_ENV=production.');
    }
    if (!e.DATABASE_URL) {
      throw new ConfigError('DATABASE_URL is required when NODE_ENV=production.');
    }
    if (e.GRAPHIQL) throw new ConfigError('GRAPHIQL=true is refused when NODE_ENV=production.');
  }

  // The development key is a shared HMAC secret: fine on a laptop, never beside asymmetric keys.
  const algorithms =
    e.JWT_ALGORITHMS ?? (keys.kind === 'devKey' ? ['HS256'] : ['RS256', 'ES256', 'EdDSA']);
  if (keys.kind !== 'devKey' && algorithms.includes('HS256')) {
    throw new ConfigError('JWT_ALGORITHMS: HS256 is only allowed with the development key.');
  }
  if (e.PAGE_SIZE_DEFAULT > e.PAGE_SIZE_MAX) {
    throw new ConfigError('PAGE_SIZE_DEFAULT must not exceed PAGE_SIZE_MAX.');
  }

  const config: Config = {
    env: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    host: e.HOST,
    dataDir,
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL, poolMax: e.DB_POOL_MAX }
      : {
          kind: 'pglite',
          dataDir: path.join(dataDir, 'pglite'),
          seedDemoData: e.SEED_DEMO_DATA ?? true,
        },
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
    graphiql: e.GRAPHIQL ?? !isProduction,
    auth: {
      issuer: e.JWT_ISSUER ?? DEV_ISSUER,
      audience: e.JWT_AUDIENCE ?? DEFAULT_AUDIENCE,
      algorithms,
      clockToleranceSeconds: e.JWT_CLOCK_TOLERANCE_SECONDS,
      keys,
    },
    pagination: { defaultSize: e.PAGE_SIZE_DEFAULT, maxSize: e.PAGE_SIZE_MAX },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
