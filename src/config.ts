/**
 * The only module that reads `process.env`. Every setting is parsed once with zod into a
 * frozen object; a bad value stops the server at start with a message naming the variable.
 * Defaults depend on NODE_ENV so that `npm start` is safe to try and production is safe to run.
 */
import path from 'node:path';
import ms, { type StringValue } from 'ms';
import { z } from 'zod';
import type { CircuitSettings } from './db/circuit-breaker.ts';
import type { Plan } from './db/schema.ts';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const positiveInt = z.coerce.number().int().positive();

/** A leaky bucket as `SIZE/RESTORE_RATE`, e.g. `2000/100`: holds 2000, refills 100 per second. */
const bucketSpec = z
  .string()
  .regex(/^\d+\/\d+(\.\d+)?$/, 'must be SIZE/RESTORE_RATE, e.g. 2000/100')
  .transform((value) => {
    const [size, restoreRate] = value.split('/').map(Number) as [number, number];
    return { size, restoreRate };
  })
  .refine((bucket) => bucket.size > 0 && bucket.restoreRate > 0, 'both numbers must be positive');

/** The most a token may live (`exp - iat`): a leaked token is useful for at most this long. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 15 * 60;
/**
 * Bounds of JWT_MAX_TOKEN_LIFETIME. Below a minute, clock skew alone would reject honest
 * tokens; above a day, a bearer token is a password that nobody rotates.
 */
export const MIN_TOKEN_LIFETIME_SECONDS = 60;
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

/**
 * Seconds written bare or with a unit (`s`, `m`, `h`, `d`), read by `ms`; at most `digits`
 * digits, so no value overflows; `examples` go in the message for anything else.
 */
function durationInSeconds(digits: number, examples: string) {
  return z
    .string()
    .regex(
      new RegExp(`^\\d{1,${digits}}[smhd]?$`),
      `must be seconds or a duration with a unit: ${examples}`,
    )
    .transform((value) => (/^\d+$/.test(value) ? Number(value) : ms(value as StringValue) / 1000));
}

/** `900` (seconds), `90s`, `15m`, `2h` or `1d` → seconds, within the lifetime bounds. */
const tokenLifetime = durationInSeconds(6, '900, 90s, 15m, 2h, 1d').refine(
  (seconds) => seconds >= MIN_TOKEN_LIFETIME_SECONDS && seconds <= MAX_TOKEN_LIFETIME_SECONDS,
  'must be between 1m and 24h',
);

/** `86400` (seconds), `90s`, `30m`, `24h` or `7d` → seconds, at least one second. */
const duration = durationInSeconds(7, '86400, 90s, 30m, 24h, 7d').refine(
  (seconds) => seconds >= 1,
  'must be at least 1s',
);

const BYTE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, kb: 1024, mb: 1024 * 1024 };

/** `102400` (bytes), `100kb` or `1mb` → bytes (1 kb = 1024 bytes), at least one byte. */
const byteSize = z
  .string()
  .regex(/^\d{1,10}(b|kb|mb)?$/i, 'must be bytes or a size with a unit: 102400, 100kb, 1mb')
  .transform((value) => {
    const unit = value.replace(/^\d+/, '').toLowerCase();
    return Number.parseInt(value, 10) * (BYTE_UNITS[unit] ?? Number.NaN);
  })
  .refine((bytes) => bytes >= 1, 'must be at least 1 byte');

/** `5s,5m,30m,2h` → milliseconds: the delay before each retry of a webhook delivery. */
const retrySchedule = z
  .string()
  .transform((value) => value.split(/[\s,]+/).filter(Boolean))
  .pipe(
    z
      .array(
        z
          .string()
          .transform((step) => ms(step as StringValue) as number | undefined)
          .refine(
            (delay) => delay !== undefined && Number.isFinite(delay) && delay > 0,
            'must be durations like 5s,5m,30m,2h (ms, s, m, h, d), each positive',
          )
          .transform((delay) => delay as number),
      )
      .max(20, 'at most 20 retries'),
  );

/**
 * `https://app.example.com,http://localhost:5173` → the origins a browser may call from, each
 * exactly as browsers send it in `Origin` (scheme, host, port; no path); or `*` for any.
 */
const corsOrigins = z
  .string()
  .transform((value) => value.split(/[\s,]+/).filter(Boolean))
  .pipe(
    z
      .array(
        z
          .string()
          .refine(
            (origin) => origin === '*' || isOrigin(origin),
            'must be origins like https://app.example.com (scheme, host and port; no path), or *',
          ),
      )
      .min(1)
      .refine((origins) => !origins.includes('*') || origins.length === 1, '* must stand alone'),
  );

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

/** Signing algorithms a token may use. `Ed25519` is RFC 9864's fully-specified name of `EdDSA`. */
export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA', 'Ed25519'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/**
 * OTEL_TRACES_SAMPLER values the OpenTelemetry SDK specification defines and this server
 * supports (not the Jaeger-remote and X-Ray ones, which need other packages).
 */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** Which traces are kept (observability/tracing.ts builds the SDK's sampler from it). */
export type TraceSampler =
  | {
      readonly name:
        | 'always_on'
        | 'always_off'
        | 'parentbased_always_on'
        | 'parentbased_always_off';
    }
  | {
      readonly name: 'traceidratio' | 'parentbased_traceidratio';
      /** The fraction of new traces kept, 0 to 1. */
      readonly ratio: number;
    };

/**
 * The fraction of traces production keeps unless OTEL_TRACES_SAMPLER_ARG says otherwise: one
 * request in ten shows every kind of request within seconds at production rates, while the
 * span volume (about ten spans a request) stays a tenth of the traffic's.
 */
export const DEFAULT_PRODUCTION_TRACE_RATIO = 0.1;

/**
 * What a database answer may take beyond its own limit before the client stops waiting: room
 * for PostgreSQL's cancellation of a statement (57014) to arrive over a slow network.
 */
const ANSWER_MARGIN_MS = 1_000;

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
  // Resilience: how long a new connection may take, and the circuit breaker around PostgreSQL
  // (opens after this many consecutive connection failures, probes again after the reset).
  DB_CONNECT_TIMEOUT_MS: positiveInt.default(5_000),
  // How long a request may wait for its transaction to start: a pooled connection, opening one,
  // BEGIN. Capped by the request's execution deadline.
  DB_POOL_TIMEOUT_MS: positiveInt.default(5_000),
  DB_CIRCUIT_FAILURES: positiveInt.max(1000).default(5),
  DB_CIRCUIT_RESET_MS: positiveInt.default(5_000),
  // Process: how long SIGTERM waits for in-flight requests; how many worker processes.
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  WORKERS: positiveInt.max(256).default(1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  GRAPHIQL: booleanFromEnv.optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_JWKS_FILE: z.string().min(1).optional(),
  JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  JWT_ALGORITHMS: z
    .string()
    .transform((value) => value.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.enum(JWT_ALGORITHMS)).min(1))
    .optional(),
  JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(30).default(30),
  JWT_MAX_TOKEN_LIFETIME: tokenLifetime.default(DEFAULT_MAX_TOKEN_LIFETIME_SECONDS),
  PAGE_SIZE_DEFAULT: positiveInt.max(100).default(20),
  PAGE_SIZE_MAX: positiveInt.max(100).default(100),
  SEED_DEMO_DATA: booleanFromEnv.optional(),
  // Operation limits, checked before any resolver runs.
  MAX_DOCUMENT_SIZE: positiveInt.default(15_000),
  MAX_TOKENS: positiveInt.default(1_000),
  MAX_DEPTH: positiveInt.default(10),
  MAX_ALIASES: z.coerce.number().int().min(0).default(15),
  MAX_ROOT_FIELDS: positiveInt.default(10),
  MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  MAX_VALIDATION_ERRORS: positiveInt.max(100).default(5),
  BATCHING: booleanFromEnv.default(false),
  MAX_BATCH_OPERATIONS: positiveInt.max(100).default(10),
  // Cost analysis and the per-viewer cost budget.
  MAX_COST: positiveInt.default(1_000),
  BUDGET_FREE: bucketSpec.default({ size: 1_000, restoreRate: 50 }),
  BUDGET_PRO: bucketSpec.default({ size: 2_000, restoreRate: 100 }),
  BUDGET_ENTERPRISE: bucketSpec.default({ size: 10_000, restoreRate: 500 }),
  BUDGET_ANONYMOUS: bucketSpec.default({ size: 1_000, restoreRate: 50 }),
  TRUSTED_PROXIES: z
    .string()
    .transform((value) => value.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()])))
    .default([]),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  REDIS_FAILURE_MODE: z.enum(['open', 'closed']).default('closed'),
  // Whether @rateLimit directives are enforced (off only for load tests of other features).
  FIELD_RATE_LIMITS: booleanFromEnv.default(true),
  // Time limits: a whole operation's execution, and each SQL statement (0 = no limit).
  EXECUTION_TIMEOUT_MS: positiveInt.default(10_000),
  STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(5_000),
  // Idempotency keys: how long a key is remembered, and how long a retry waits for the
  // request that holds its key before IDEMPOTENCY_IN_PROGRESS.
  IDEMPOTENCY_TTL: duration.default(24 * 60 * 60),
  IDEMPOTENCY_WAIT_MS: positiveInt.default(5_000),
  // Persisted operations: whether only registered operations run, and where the manifest is.
  PERSISTED_OPERATIONS: z.enum(['require', 'allow', 'off']).optional(),
  PERSISTED_OPERATIONS_MANIFEST: z.string().min(1).default('persisted-queries/manifest.json'),
  // OpenTelemetry traces over OTLP/HTTP, under the standard names collectors and agents set.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('orders-api'),
  OTEL_SDK_DISABLED: booleanFromEnv.default(false),
  OTEL_TRACES_SAMPLER: z.enum(TRACE_SAMPLERS).optional(),
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .regex(/^\s*\d*\.?\d+\s*$/, 'must be a number from 0 to 1: the fraction of traces kept')
    .transform(Number)
    .refine(
      (ratio) => ratio >= 0 && ratio <= 1,
      'must be a number from 0 to 1: the fraction of traces kept',
    )
    .optional(),
  // The HTTP edge: request body limit, HSTS, CORS (src/http/).
  MAX_BODY_SIZE: byteSize.default(100 * 1024),
  SERVED_OVER_TLS: booleanFromEnv.optional(),
  CORS_ORIGINS: corsOrigins.optional(),
  CORS_CREDENTIALS: booleanFromEnv.default(false),
  // Responses: compression (off when a proxy compresses) and Server-Timing.
  COMPRESSION: booleanFromEnv.default(true),
  COMPRESSION_MIN_BYTES: byteSize.default(1024),
  SERVER_TIMING: booleanFromEnv.optional(),
  // Prometheus metrics: a separate listener, or the main port behind a bearer token.
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).optional(),
  METRICS_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, 'must be at least 16 printable characters, no spaces')
    .optional(),
  // Webhooks (src/webhooks/): the delivery worker in this process, its retry delays, and
  // whether endpoints may be private or loopback addresses (never in production by default).
  WEBHOOK_WORKER: booleanFromEnv.default(true),
  WEBHOOK_RETRY_SCHEDULE: retrySchedule.default([
    5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
  ]),
  WEBHOOK_ALLOW_PRIVATE_URLS: booleanFromEnv.optional(),
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
    | {
        readonly kind: 'postgres';
        readonly url: string;
        readonly poolMax: number;
        /** PostgreSQL `statement_timeout` of every pooled connection; 0 or unset: none. */
        readonly statementTimeoutMs?: number;
        /** Most milliseconds to open a connection (postgres.js `connect_timeout`). */
        readonly connectTimeoutMs?: number;
        /**
         * A connection that owes an answer and receives nothing for this long is destroyed
         * (db/watched-socket.ts): the statement timeout (or, without one, the execution
         * timeout) plus a margin for the server's own cancellation to arrive.
         */
        readonly answerTimeoutMs?: number;
        /**
         * PostgreSQL `idle_in_transaction_session_timeout`: the server ends a transaction whose
         * client went quiet (a lost network), releasing its locks. Above the execution timeout,
         * which bounds every request's transaction.
         */
        readonly idleInTransactionTimeoutMs?: number;
        /** The circuit breaker around this database (db/circuit-breaker.ts). */
        readonly circuit?: CircuitSettings;
      };
  readonly logLevel: string;
  readonly graphiql: boolean;
  readonly auth: {
    readonly issuer: string;
    readonly audience: string;
    readonly algorithms: readonly JwtAlgorithm[];
    readonly clockToleranceSeconds: number;
    /** Most seconds between a token's `iat` and `exp`; longer-lived tokens are refused. */
    readonly maxTokenLifetimeSeconds: number;
    /** Where verification keys come from. `devKey`: an HS256 secret generated into DATA_DIR. */
    readonly keys:
      | { readonly kind: 'devKey'; readonly file: string }
      | { readonly kind: 'jwksFile'; readonly file: string }
      | { readonly kind: 'jwksUrl'; readonly url: string };
  };
  readonly pagination: { readonly defaultSize: number; readonly maxSize: number };
  /** Checked before execution; each has its own error code (errors.ts). */
  readonly limits: {
    readonly maxDocumentSize: number;
    readonly maxTokens: number;
    readonly maxDepth: number;
    readonly maxAliases: number;
    readonly maxRootFields: number;
    readonly maxDirectives: number;
    /** Validation errors listed before one final TOO_MANY_VALIDATION_ERRORS ends the list. */
    readonly maxValidationErrors: number;
    /** Batched operations per HTTP request; `false` turns batching off. */
    readonly batching: false | { readonly maxOperations: number };
    /** Hide "Did you mean …?" suggestions, which reveal the schema. */
    readonly hideSuggestions: boolean;
  };
  readonly cost: {
    readonly maxCost: number;
    /** Leaky buckets by tenant plan, and for anonymous callers (keyed by client address). */
    readonly budgets: Readonly<Record<Plan | 'anonymous', BucketSpec>>;
    /** Addresses (or CIDR ranges) of proxies whose X-Forwarded-For is believed. */
    readonly trustedProxies: readonly string[];
  };
  /** Time limits; an operation over them fails with TIMEOUT. */
  readonly timeouts: {
    /** Most milliseconds one operation may execute (resolvers and their SQL). */
    readonly executionMs: number;
    /**
     * Most milliseconds a request waits for its transaction to start (a pooled connection,
     * opening one, BEGIN), within its execution deadline (DB_POOL_TIMEOUT_MS).
     */
    readonly poolMs: number;
  };
  /** Idempotent mutations (src/idempotency/). */
  readonly idempotency: {
    /** Seconds a key (and its stored payload) is kept. */
    readonly ttlSeconds: number;
    /** Most milliseconds a retry waits for the request holding its key. */
    readonly waitMs: number;
  };
  /** Whether `@rateLimit(max, window)` on schema fields is enforced. */
  readonly fieldRateLimits: boolean;
  /** Persisted operations (src/persisted-operations/, plugins/persisted-operations.ts). */
  readonly persistedOperations: {
    /**
     * `require`: only persisted operations run (anything else is PERSISTED_QUERY_ONLY);
     * `allow`: persisted ids and full documents both run, and Apollo's automatic persisted
     * queries register unknown hashes; `off`: ids are refused, only full documents run.
     */
    readonly mode: PersistedOperationsMode;
    /** Absolute path of the committed manifest (`npm run pq -- build` writes it). */
    readonly manifestFile: string;
  };
  /** Milliseconds SIGTERM/SIGINT wait for in-flight requests before closing their connections. */
  readonly shutdownTimeoutMs: number;
  /** Processes serving the port (node:cluster); 1 is this process alone. */
  readonly workers: number;
  /**
   * OpenTelemetry traces (observability/tracing.ts); null, the default, loads no OpenTelemetry
   * code at all.
   */
  readonly tracing: {
    /** Where spans are POSTed (OTLP/HTTP, JSON), `…/v1/traces`. */
    readonly url: string;
    /** The `service.name` the spans carry. */
    readonly serviceName: string;
    /** Which traces are kept: OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. */
    readonly sampler: TraceSampler;
  } | null;
  /** Shared counters (budgets, field rate limits); in memory per process when unset. */
  readonly redis: { readonly url: string; readonly failureMode: 'open' | 'closed' } | null;
  /** What happens before GraphQL (src/http/). */
  readonly http: {
    /** Largest request body in bytes; a larger one is refused (413) without being read. */
    readonly maxBodyBytes: number;
    /** Clients reach the server over HTTPS (here or at a proxy): send Strict-Transport-Security. */
    readonly servedOverTls: boolean;
    /** Origins whose pages may call the API from a browser; `null`: none (same origin only). */
    readonly cors: {
      readonly origins: '*' | readonly string[];
      /** Access-Control-Allow-Credentials (cookies); never with `*`. */
      readonly credentials: boolean;
    } | null;
    /** Brotli or gzip for bodies of at least `minBytes` (http/compression.ts); null: off. */
    readonly compression: { readonly minBytes: number } | null;
    /** `Server-Timing: total, db, cost` on GraphQL responses (plugins/server-timing.ts). */
    readonly serverTiming: boolean;
  };
  /** Prometheus `/metrics`; null (no endpoint at all) unless METRICS_PORT or METRICS_TOKEN. */
  readonly metrics: {
    /** The bearer token a scrape must present; required when served on the main port. */
    readonly token: string | null;
    /** A listener of its own for `/metrics`; null serves it on the main port. */
    readonly listen: { readonly host: string; readonly port: number } | null;
  } | null;
  /** Outbound webhooks (src/webhooks/). */
  readonly webhooks: {
    /** Whether this process runs the delivery worker (WEBHOOK_WORKER). */
    readonly worker: boolean;
    /** Milliseconds before each retry; a delivery fails after the last one. */
    readonly retryScheduleMs: readonly number[];
    /** Endpoint URLs must be https (production). */
    readonly requireHttps: boolean;
    /** Endpoints may resolve to loopback, private or other non-public addresses. */
    readonly allowPrivateUrls: boolean;
  };
}

export type PersistedOperationsMode = 'require' | 'allow' | 'off';

export interface BucketSpec {
  /** Most cost points the bucket holds. */
  readonly size: number;
  /** Points restored per second. */
  readonly restoreRate: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DEV_ISSUER = 'orders-api-dev';
const DEFAULT_AUDIENCE = 'orders-api';

/** Parses the environment with `schema`, or throws a ConfigError naming each bad variable. */
function parseEnvironment<Schema extends z.ZodType>(
  schema: Schema,
  env: Record<string, string | undefined>,
): z.output<Schema> {
  // An empty variable means "unset": shells and .env files often export `FOO=`.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    // Name the variable itself: a list variable's issue path also has the item's index
    // (`JWT_ALGORITHMS.0`), which is no variable anyone can set.
    const problems = parsed.error.issues.map(
      (issue) => `${String(issue.path[0] ?? '(environment)')}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/**
 * What checking an operation against the server's limits needs (`npm run pq -- build` and
 * `check`): the operation limits, the page sizes and MAX_COST. Nothing about where the server
 * runs, so a CI job with NODE_ENV=production and no JWT or database settings can build the
 * manifest the production servers will enforce.
 */
export interface AnalysisSettings {
  readonly limits: Pick<
    Config['limits'],
    'maxDocumentSize' | 'maxTokens' | 'maxDepth' | 'maxAliases' | 'maxRootFields' | 'maxDirectives'
  >;
  readonly cost: Pick<Config['cost'], 'maxCost'>;
  readonly pagination: Config['pagination'];
}

const AnalysisEnvSchema = EnvSchema.pick({
  PAGE_SIZE_DEFAULT: true,
  PAGE_SIZE_MAX: true,
  MAX_DOCUMENT_SIZE: true,
  MAX_TOKENS: true,
  MAX_DEPTH: true,
  MAX_ALIASES: true,
  MAX_ROOT_FIELDS: true,
  MAX_DIRECTIVES: true,
  MAX_COST: true,
});

function analysisSettingsOf(e: z.output<typeof AnalysisEnvSchema>): AnalysisSettings {
  if (e.PAGE_SIZE_DEFAULT > e.PAGE_SIZE_MAX) {
    throw new ConfigError('PAGE_SIZE_DEFAULT must not exceed PAGE_SIZE_MAX.');
  }
  return {
    limits: {
      maxDocumentSize: e.MAX_DOCUMENT_SIZE,
      maxTokens: e.MAX_TOKENS,
      maxDepth: e.MAX_DEPTH,
      maxAliases: e.MAX_ALIASES,
      maxRootFields: e.MAX_ROOT_FIELDS,
      maxDirectives: e.MAX_DIRECTIVES,
    },
    cost: { maxCost: e.MAX_COST },
    pagination: { defaultSize: e.PAGE_SIZE_DEFAULT, maxSize: e.PAGE_SIZE_MAX },
  };
}

/** The analysis settings alone: reads only their variables, whatever NODE_ENV says. */
export function loadAnalysisSettings(
  env: Record<string, string | undefined> = process.env,
): AnalysisSettings {
  return deepFreeze(analysisSettingsOf(parseEnvironment(AnalysisEnvSchema, env)));
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const e = parseEnvironment(EnvSchema, env);
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
    if (e.CORS_ORIGINS?.includes('*')) {
      throw new ConfigError(
        'CORS_ORIGINS=* is refused when NODE_ENV=production: list the allowed origins.',
      );
    }
  }

  // The development key is a shared HMAC secret: fine on a laptop, never beside asymmetric keys.
  const algorithms =
    e.JWT_ALGORITHMS ?? (keys.kind === 'devKey' ? ['HS256'] : ['RS256', 'ES256', 'EdDSA']);
  if (keys.kind !== 'devKey' && algorithms.includes('HS256')) {
    throw new ConfigError('JWT_ALGORITHMS: HS256 is only allowed with the development key.');
  }
  if (e.WORKERS > 1 && e.METRICS_TOKEN && e.METRICS_PORT === undefined) {
    throw new ConfigError(
      `WORKERS=${e.WORKERS} needs METRICS_PORT for metrics: on the main port a scrape reaches one worker at random; the METRICS_PORT listener sums them all.`,
    );
  }
  if (e.METRICS_HOST && e.METRICS_PORT === undefined) {
    throw new ConfigError('METRICS_HOST needs METRICS_PORT.');
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    throw new ConfigError(
      'METRICS_PORT must differ from PORT (unset it to serve /metrics on PORT behind METRICS_TOKEN).',
    );
  }
  // A wildcard with credentials would let any site make calls that carry a user's cookies.
  if (e.CORS_CREDENTIALS && (!e.CORS_ORIGINS || e.CORS_ORIGINS.includes('*'))) {
    throw new ConfigError('CORS_CREDENTIALS=true needs CORS_ORIGINS to list the origins (not *).');
  }
  if (e.WORKERS > 1 && !e.DATABASE_URL) {
    throw new ConfigError(
      `WORKERS=${e.WORKERS} needs DATABASE_URL: the embedded PGlite database runs inside one process and cannot be shared by several workers. Set DATABASE_URL to a PostgreSQL server, or WORKERS=1.`,
    );
  }
  const analysis = analysisSettingsOf(e);

  // OTLP's rule: a signal's own endpoint is used as it is; the shared one gets `/v1/traces`
  // appended to its path (`http://collector:4318/otlp` → `http://collector:4318/otlp/v1/traces`).
  const tracesUrl =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT &&
      `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);

  const config: Config = {
    env: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    host: e.HOST,
    dataDir,
    database: e.DATABASE_URL
      ? {
          kind: 'postgres',
          url: e.DATABASE_URL,
          poolMax: e.DB_POOL_MAX,
          statementTimeoutMs: e.STATEMENT_TIMEOUT_MS,
          connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
          answerTimeoutMs: (e.STATEMENT_TIMEOUT_MS || e.EXECUTION_TIMEOUT_MS) + ANSWER_MARGIN_MS,
          idleInTransactionTimeoutMs: e.EXECUTION_TIMEOUT_MS + ANSWER_MARGIN_MS,
          circuit: { failures: e.DB_CIRCUIT_FAILURES, resetMs: e.DB_CIRCUIT_RESET_MS },
        }
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
      maxTokenLifetimeSeconds: e.JWT_MAX_TOKEN_LIFETIME,
      keys,
    },
    pagination: analysis.pagination,
    limits: {
      ...analysis.limits,
      maxValidationErrors: e.MAX_VALIDATION_ERRORS,
      batching: e.BATCHING ? { maxOperations: e.MAX_BATCH_OPERATIONS } : false,
      hideSuggestions: isProduction,
    },
    cost: {
      maxCost: analysis.cost.maxCost,
      budgets: {
        free: e.BUDGET_FREE,
        pro: e.BUDGET_PRO,
        enterprise: e.BUDGET_ENTERPRISE,
        anonymous: e.BUDGET_ANONYMOUS,
      },
      trustedProxies: e.TRUSTED_PROXIES,
    },
    timeouts: { executionMs: e.EXECUTION_TIMEOUT_MS, poolMs: e.DB_POOL_TIMEOUT_MS },
    idempotency: { ttlSeconds: e.IDEMPOTENCY_TTL, waitMs: e.IDEMPOTENCY_WAIT_MS },
    fieldRateLimits: e.FIELD_RATE_LIMITS,
    persistedOperations: {
      // Production runs only what the frontends registered; development lets GraphiQL work.
      mode: e.PERSISTED_OPERATIONS ?? (isProduction ? 'require' : 'allow'),
      manifestFile: path.resolve(e.PERSISTED_OPERATIONS_MANIFEST),
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    workers: e.WORKERS,
    tracing:
      tracesUrl && !e.OTEL_SDK_DISABLED
        ? {
            url: tracesUrl,
            serviceName: e.OTEL_SERVICE_NAME,
            sampler: traceSamplerOf(e.OTEL_TRACES_SAMPLER, e.OTEL_TRACES_SAMPLER_ARG, isProduction),
          }
        : null,
    redis: e.REDIS_URL ? { url: e.REDIS_URL, failureMode: e.REDIS_FAILURE_MODE } : null,
    http: {
      maxBodyBytes: e.MAX_BODY_SIZE,
      // Browsers ignore HSTS received over plain HTTP, so production can send it by default.
      servedOverTls: e.SERVED_OVER_TLS ?? isProduction,
      cors: e.CORS_ORIGINS
        ? {
            origins: e.CORS_ORIGINS.includes('*') ? '*' : e.CORS_ORIGINS,
            credentials: e.CORS_CREDENTIALS,
          }
        : null,
      compression: e.COMPRESSION ? { minBytes: e.COMPRESSION_MIN_BYTES } : null,
      // Timings tell callers how the server spends its time: shown while developing, and in
      // production only when asked for.
      serverTiming: e.SERVER_TIMING ?? !isProduction,
    },
    metrics:
      e.METRICS_PORT !== undefined || e.METRICS_TOKEN
        ? {
            token: e.METRICS_TOKEN ?? null,
            listen:
              e.METRICS_PORT !== undefined
                ? { host: e.METRICS_HOST ?? e.HOST, port: e.METRICS_PORT }
                : null,
          }
        : null,
    webhooks: {
      worker: e.WEBHOOK_WORKER,
      retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE,
      // Production calls https endpoints on public addresses only (SSRF): a tenant's admin
      // must not make this server POST into its own network.
      requireHttps: isProduction,
      allowPrivateUrls: e.WEBHOOK_ALLOW_PRIVATE_URLS ?? !isProduction,
    },
  };
  return deepFreeze(config);
}

/**
 * The sampler OTEL_TRACES_SAMPLER names, with OTEL_TRACES_SAMPLER_ARG as the ratio of those that
 * take one (1 when unset, as the specification says). Unset, production keeps a ratio of new
 * traces (DEFAULT_PRODUCTION_TRACE_RATIO, or OTEL_TRACES_SAMPLER_ARG) and follows the caller's
 * decision for the rest (`traceparent`'s sampled flag), so a trace is never kept in pieces;
 * elsewhere every trace is kept (the SDK's own default, parentbased_always_on).
 */
function traceSamplerOf(
  name: (typeof TRACE_SAMPLERS)[number] | undefined,
  ratio: number | undefined,
  isProduction: boolean,
): TraceSampler {
  switch (name) {
    case undefined:
      return isProduction
        ? { name: 'parentbased_traceidratio', ratio: ratio ?? DEFAULT_PRODUCTION_TRACE_RATIO }
        : { name: 'parentbased_always_on' };
    case 'traceidratio':
    case 'parentbased_traceidratio':
      return { name, ratio: ratio ?? 1 };
    default:
      return { name };
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * `loadConfig` for the processes' entry points (the server, the webhook worker): a bad setting
 * stops the process with exit code 1 and the message naming the variable, without a stack.
 */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
