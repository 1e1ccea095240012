/**
 * loadConfig(env) is a pure function of the environment it is given, so it is tested directly:
 * defaults, refusals that name the variable, production's safe defaults, and immutability.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Config, ConfigError, loadConfig } from '../src/config.ts';

/** The ConfigError `loadConfig(env)` throws (fails the test when it does not throw one). */
function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected loadConfig(${JSON.stringify(env)}) to throw a ConfigError`);
}

/** What production needs at the least; each test removes or breaks one of them. */
const PRODUCTION: Record<string, string> = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://orders@db.internal:5432/orders',
  JWT_ISSUER: 'https://id.example.com/',
  JWT_AUDIENCE: 'orders-api',
  JWT_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
};

function without(env: Record<string, string>, name: string): Record<string, string> {
  const { [name]: _removed, ...rest } = env;
  return rest;
}

describe('defaults', () => {
  it('starts a development server on the embedded database with nothing set', () => {
    const dataDir = path.resolve('.data');
    expect(loadConfig({})).toEqual({
      env: 'development',
      isProduction: false,
      port: 4000,
      host: '127.0.0.1',
      dataDir,
      database: { kind: 'pglite', dataDir: path.join(dataDir, 'pglite'), seedDemoData: true },
      logLevel: 'info',
      graphiql: true,
      auth: {
        issuer: 'orders-api-dev',
        audience: 'orders-api',
        algorithms: ['HS256'],
        clockToleranceSeconds: 30,
        maxTokenLifetimeSeconds: 900,
        keys: { kind: 'devKey', file: path.join(dataDir, 'dev-signing-key.json') },
      },
      pagination: { defaultSize: 20, maxSize: 100 },
      limits: {
        maxDocumentSize: 15_000,
        maxTokens: 1_000,
        maxDepth: 10,
        maxAliases: 15,
        maxRootFields: 10,
        maxDirectives: 50,
        maxValidationErrors: 5,
        batching: false,
        hideSuggestions: false,
      },
      cost: {
        maxCost: 1_000,
        budgets: {
          free: { size: 1_000, restoreRate: 50 },
          pro: { size: 2_000, restoreRate: 100 },
          enterprise: { size: 10_000, restoreRate: 500 },
          anonymous: { size: 1_000, restoreRate: 50 },
        },
        trustedProxies: [],
      },
      timeouts: { executionMs: 10_000, poolMs: 5_000 },
      idempotency: { ttlSeconds: 86_400, waitMs: 5_000 },
      fieldRateLimits: true,
      persistedOperations: {
        mode: 'allow',
        manifestFile: path.resolve('persisted-queries/manifest.json'),
      },
      shutdownTimeoutMs: 10_000,
      workers: 1,
      tracing: null,
      redis: null,
      http: {
        maxBodyBytes: 102_400,
        servedOverTls: false,
        cors: null,
        compression: { minBytes: 1_024 },
        serverTiming: true,
      },
      metrics: null,
      webhooks: {
        worker: true,
        retryScheduleMs: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
        requireHttps: false,
        allowPrivateUrls: true,
      },
    } satisfies Config);
  });

  it('is silent under NODE_ENV=test', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).logLevel).toBe('silent');
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', NODE_ENV: '', DATABASE_URL: '', LOG_LEVEL: '' });
    expect([config.port, config.env, config.database.kind, config.logLevel]).toEqual([
      4000,
      'development',
      'pglite',
      'info',
    ]);
  });

  it('reads the variables it is given', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATA_DIR: '/var/lib/orders',
      DATABASE_URL: 'postgresql://app@localhost/orders',
      DB_POOL_MAX: '25',
      LOG_LEVEL: 'debug',
      GRAPHIQL: '0',
      JWT_CLOCK_TOLERANCE_SECONDS: '0',
      PAGE_SIZE_DEFAULT: '10',
      PAGE_SIZE_MAX: '50',
      IDEMPOTENCY_TTL: '2h',
      IDEMPOTENCY_WAIT_MS: '1500',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      dataDir: '/var/lib/orders',
      database: { kind: 'postgres', url: 'postgresql://app@localhost/orders', poolMax: 25 },
      logLevel: 'debug',
      graphiql: false,
      auth: { clockToleranceSeconds: 0, keys: { kind: 'devKey' } },
      pagination: { defaultSize: 10, maxSize: 50 },
      idempotency: { ttlSeconds: 7200, waitMs: 1500 },
    });
  });
});

describe('a bad value stops the server with a ConfigError naming the variable', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['NODE_ENV', 'staging'],
    ['DATABASE_URL', 'mysql://db.internal/orders'],
    ['DATABASE_URL', 'db.internal:5432'],
    ['JWT_CLOCK_TOLERANCE_SECONDS', '31'],
    ['JWT_CLOCK_TOLERANCE_SECONDS', '-1'],
    ['LOG_LEVEL', 'verbose'],
    ['GRAPHIQL', 'yes'],
    ['DB_POOL_MAX', '0'],
    ['PAGE_SIZE_MAX', '101'],
    ['JWT_ALGORITHMS', 'none'],
    ['JWT_JWKS_URL', 'ftp://id.example.com/jwks.json'],
    ['IDEMPOTENCY_TTL', '0'],
    ['IDEMPOTENCY_TTL', '1w'],
    ['IDEMPOTENCY_WAIT_MS', '0'],
    ['MAX_BODY_SIZE', '0'],
    ['MAX_BODY_SIZE', '1gb'],
    ['MAX_BODY_SIZE', '100 kb'],
    ['SERVED_OVER_TLS', 'yes'],
    ['CORS_ORIGINS', 'app.example.com'],
    ['CORS_ORIGINS', 'https://app.example.com/'],
    ['CORS_ORIGINS', 'https://app.example.com/graphql'],
    ['CORS_ORIGINS', 'ftp://app.example.com'],
    ['CORS_ORIGINS', '*,https://app.example.com'],
    ['CORS_CREDENTIALS', 'yes'],
    ['DB_CONNECT_TIMEOUT_MS', '0'],
    ['DB_CIRCUIT_FAILURES', '0'],
    ['DB_CIRCUIT_FAILURES', '2.5'],
    ['DB_CIRCUIT_RESET_MS', '-1'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon'],
    ['WORKERS', '0'],
    ['WORKERS', '257'],
    ['COMPRESSION', 'gzip'],
    ['COMPRESSION_MIN_BYTES', '0'],
    ['COMPRESSION_MIN_BYTES', '-1'],
    ['COMPRESSION_MIN_BYTES', '1 kb'],
    ['COMPRESSION_MIN_BYTES', 'small'],
    ['SERVER_TIMING', 'on'],
    ['MAX_VALIDATION_ERRORS', '0'],
    ['MAX_VALIDATION_ERRORS', '101'],
    ['MAX_VALIDATION_ERRORS', '2.5'],
  ])('%s=%s', (name, value) => {
    const error = configErrorOf({ [name]: value });
    expect(error.message).toMatch(new RegExp(`^Invalid configuration:\\n  ${name}: \\S`));
  });

  it('names every bad variable at once', () => {
    const error = configErrorOf({ PORT: 'abc', NODE_ENV: 'staging', LOG_LEVEL: 'loud' });
    const named = error.message
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(':')[0]);
    expect(named.sort()).toEqual(['LOG_LEVEL', 'NODE_ENV', 'PORT']);
  });

  it('refuses both JWT_JWKS_FILE and JWT_JWKS_URL', () => {
    expect(
      configErrorOf({ JWT_JWKS_FILE: 'jwks.json', JWT_JWKS_URL: 'https://id.example.com/jwks' })
        .message,
    ).toBe('Set only one of JWT_JWKS_FILE and JWT_JWKS_URL.');
  });

  it('refuses HS256 beside a JWKS', () => {
    expect(
      configErrorOf({ JWT_JWKS_FILE: 'jwks.json', JWT_ALGORITHMS: 'RS256,HS256' }).message,
    ).toBe('JWT_ALGORITHMS: HS256 is only allowed with the development key.');
  });

  it('refuses a default page size above the maximum', () => {
    expect(configErrorOf({ PAGE_SIZE_DEFAULT: '50', PAGE_SIZE_MAX: '40' }).message).toBe(
      'PAGE_SIZE_DEFAULT must not exceed PAGE_SIZE_MAX.',
    );
  });
});

describe('NODE_ENV=production', () => {
  it('turns on the safe defaults when everything it needs is set', () => {
    expect(loadConfig(PRODUCTION)).toMatchObject({
      env: 'production',
      isProduction: true,
      graphiql: false,
      logLevel: 'info',
      persistedOperations: { mode: 'require' },
      database: { kind: 'postgres', url: PRODUCTION.DATABASE_URL, poolMax: 10 },
      auth: {
        issuer: 'https://id.example.com/',
        audience: 'orders-api',
        algorithms: ['RS256', 'ES256', 'EdDSA'],
        keys: { kind: 'jwksUrl', url: PRODUCTION.JWT_JWKS_URL },
      },
    });
  });

  it('accepts a local JWKS file, resolved to an absolute path', () => {
    const config = loadConfig({
      ...without(PRODUCTION, 'JWT_JWKS_URL'),
      JWT_JWKS_FILE: 'keys/jwks.json',
    });
    expect(config.auth.keys).toEqual({ kind: 'jwksFile', file: path.resolve('keys/jwks.json') });
  });

  it('refuses the development signing key', () => {
    expect(configErrorOf(without(PRODUCTION, 'JWT_JWKS_URL')).message).toBe(
      'NODE_ENV=production refuses the development signing key: set JWT_JWKS_FILE or JWT_JWKS_URL.',
    );
  });

  it.each(['JWT_ISSUER', 'JWT_AUDIENCE', 'DATABASE_URL'])('requires %s', (name) => {
    expect(configErrorOf(without(PRODUCTION, name)).message).toBe(
      `${name} is required when NODE_ENV=production.`,
    );
  });

  it.each(['true', '1'])('refuses GRAPHIQL=%s', (value) => {
    expect(configErrorOf({ ...PRODUCTION, GRAPHIQL: value }).message).toBe(
      'GRAPHIQL=true is refused when NODE_ENV=production.',
    );
  });

  it.each(['allow', 'off'] as const)('lets PERSISTED_OPERATIONS=%s loosen the default', (mode) => {
    expect(loadConfig({ ...PRODUCTION, PERSISTED_OPERATIONS: mode }).persistedOperations.mode).toBe(
      mode,
    );
  });

  it('accepts GRAPHIQL=false', () => {
    expect(loadConfig({ ...PRODUCTION, GRAPHIQL: 'false' }).graphiql).toBe(false);
  });

  it('refuses a CORS wildcard', () => {
    expect(configErrorOf({ ...PRODUCTION, CORS_ORIGINS: '*' }).message).toBe(
      'CORS_ORIGINS=* is refused when NODE_ENV=production: list the allowed origins.',
    );
  });

  it('accepts listed CORS origins, with credentials', () => {
    const config = loadConfig({
      ...PRODUCTION,
      CORS_ORIGINS: 'https://app.example.com',
      CORS_CREDENTIALS: 'true',
    });
    expect(config.http.cors).toEqual({ origins: ['https://app.example.com'], credentials: true });
  });

  it('sends Strict-Transport-Security unless SERVED_OVER_TLS=false', () => {
    expect(loadConfig(PRODUCTION).http.servedOverTls).toBe(true);
    expect(loadConfig({ ...PRODUCTION, SERVED_OVER_TLS: 'false' }).http.servedOverTls).toBe(false);
  });
});

describe('the loaded config', () => {
  it('is frozen all the way down', () => {
    const config = loadConfig(PRODUCTION);
    for (const part of [
      config,
      config.database,
      config.auth,
      config.auth.algorithms,
      config.auth.keys,
      config.pagination,
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.auth as { issuer: string }).issuer = 'https://attacker.example';
    }).toThrow(TypeError);
    expect(() => {
      (config.auth.algorithms as string[]).push('HS256');
    }).toThrow(TypeError);
    expect(config.port).toBe(4000);
    expect(config.auth.issuer).toBe('https://id.example.com/');
  });

  it('does not depend on process.env when an environment is passed', () => {
    const before = process.env.PORT;
    process.env.PORT = '1234';
    try {
      expect(loadConfig({}).port).toBe(4000);
    } finally {
      if (before === undefined) delete process.env.PORT;
      else process.env.PORT = before;
    }
  });
});

describe('resilience and process settings', () => {
  it('gives PostgreSQL a 5 s connect timeout and a circuit that opens after 5 failures for 5 s', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://db.internal/orders' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://db.internal/orders',
      poolMax: 10,
      statementTimeoutMs: 5_000,
      connectTimeoutMs: 5_000,
      answerTimeoutMs: 6_000,
      idleInTransactionTimeoutMs: 11_000,
      circuit: { failures: 5, resetMs: 5_000 },
    });
  });

  it('reads the connect timeout, the circuit, the shutdown deadline and the workers', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://db.internal/orders',
      DB_CONNECT_TIMEOUT_MS: '1500',
      DB_CIRCUIT_FAILURES: '3',
      DB_CIRCUIT_RESET_MS: '250',
      SHUTDOWN_TIMEOUT_MS: '30000',
      WORKERS: '4',
    });
    expect(config).toMatchObject({
      database: { connectTimeoutMs: 1_500, circuit: { failures: 3, resetMs: 250 } },
      shutdownTimeoutMs: 30_000,
      workers: 4,
    });
  });

  it('refuses WORKERS above 1 with the embedded database, and says why', () => {
    expect(configErrorOf({ WORKERS: '2' }).message).toBe(
      'WORKERS=2 needs DATABASE_URL: the embedded PGlite database runs inside one process and cannot be shared by several workers. Set DATABASE_URL to a PostgreSQL server, or WORKERS=1.',
    );
  });
});

describe('the HTTP edge', () => {
  it.each([
    ['2048', 2_048],
    ['2048b', 2_048],
    ['100kb', 102_400],
    ['100KB', 102_400],
    ['1mb', 1_048_576],
  ])('reads MAX_BODY_SIZE=%s as %i bytes', (value, bytes) => {
    expect(loadConfig({ MAX_BODY_SIZE: value }).http.maxBodyBytes).toBe(bytes);
  });

  it('reads CORS_ORIGINS as a list of origins, commas or spaces between them', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173 https://admin.example.com:8443',
    });
    expect(config.http.cors).toEqual({
      origins: [
        'https://app.example.com',
        'http://localhost:5173',
        'https://admin.example.com:8443',
      ],
      credentials: false,
    });
  });

  it('reads CORS_ORIGINS=* as any origin, without credentials', () => {
    expect(loadConfig({ CORS_ORIGINS: '*' }).http.cors).toEqual({
      origins: '*',
      credentials: false,
    });
  });

  it('refuses CORS_CREDENTIALS=true with CORS_ORIGINS=*', () => {
    expect(configErrorOf({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' }).message).toBe(
      'CORS_CREDENTIALS=true needs CORS_ORIGINS to list the origins (not *).',
    );
  });

  it('refuses CORS_CREDENTIALS=true without CORS_ORIGINS', () => {
    expect(configErrorOf({ CORS_CREDENTIALS: 'true' }).message).toBe(
      'CORS_CREDENTIALS=true needs CORS_ORIGINS to list the origins (not *).',
    );
  });

  it('sends Strict-Transport-Security outside production only when SERVED_OVER_TLS=true', () => {
    expect(loadConfig({ SERVED_OVER_TLS: 'true' }).http.servedOverTls).toBe(true);
  });

  it.each([
    ['512', 512],
    ['4kb', 4_096],
  ])('reads COMPRESSION_MIN_BYTES=%s as %i bytes', (value, bytes) => {
    expect(loadConfig({ COMPRESSION_MIN_BYTES: value }).http.compression).toEqual({
      minBytes: bytes,
    });
  });

  it('turns compression off with COMPRESSION=false', () => {
    expect(loadConfig({ COMPRESSION: 'false' }).http.compression).toBeNull();
  });

  it('sends Server-Timing in production only when SERVER_TIMING=true', () => {
    expect(loadConfig(PRODUCTION).http.serverTiming).toBe(false);
    expect(loadConfig({ ...PRODUCTION, SERVER_TIMING: 'true' }).http.serverTiming).toBe(true);
    expect(loadConfig({ SERVER_TIMING: 'false' }).http.serverTiming).toBe(false);
  });

  it('reads MAX_VALIDATION_ERRORS', () => {
    expect(loadConfig({ MAX_VALIDATION_ERRORS: '3' }).limits.maxValidationErrors).toBe(3);
  });
});

describe('metrics', () => {
  it('has no /metrics when neither METRICS_PORT nor METRICS_TOKEN is set', () => {
    expect(loadConfig({}).metrics).toBeNull();
  });

  it('serves /metrics on the main port behind METRICS_TOKEN', () => {
    expect(loadConfig({ METRICS_TOKEN: 'a-long-enough-token' }).metrics).toEqual({
      token: 'a-long-enough-token',
      listen: null,
    });
  });

  it('listens on METRICS_PORT at HOST, or METRICS_HOST', () => {
    expect(loadConfig({ HOST: '0.0.0.0', METRICS_PORT: '9464' }).metrics).toEqual({
      token: null,
      listen: { host: '0.0.0.0', port: 9464 },
    });
    expect(
      loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '10.0.0.5', METRICS_TOKEN: 'x'.repeat(16) })
        .metrics,
    ).toEqual({ token: 'x'.repeat(16), listen: { host: '10.0.0.5', port: 9464 } });
  });

  it.each([
    ['METRICS_TOKEN', { METRICS_TOKEN: 'too-short' }],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'has a space in the middle' }],
    ['METRICS_PORT', { METRICS_PORT: 'abc' }],
    ['METRICS_PORT', { METRICS_PORT: '70000' }],
  ])('refuses a bad %s', (variable, env) => {
    expect(configErrorOf(env).message).toMatch(
      new RegExp(`^Invalid configuration:\\n  ${variable}: `),
    );
  });

  it('needs METRICS_PORT for metrics with several workers', () => {
    const workers = { WORKERS: '2', DATABASE_URL: 'postgres://db.internal/orders' };
    expect(configErrorOf({ ...workers, METRICS_TOKEN: 'x'.repeat(16) }).message).toBe(
      'WORKERS=2 needs METRICS_PORT for metrics: on the main port a scrape reaches one worker at random; the METRICS_PORT listener sums them all.',
    );
    expect(loadConfig({ ...workers, METRICS_PORT: '9464' }).metrics?.listen?.port).toBe(9464);
  });

  it('refuses METRICS_HOST without METRICS_PORT, and METRICS_PORT equal to PORT', () => {
    expect(configErrorOf({ METRICS_HOST: '127.0.0.1' }).message).toBe(
      'METRICS_HOST needs METRICS_PORT.',
    );
    expect(configErrorOf({ PORT: '4000', METRICS_PORT: '4000' }).message).toBe(
      'METRICS_PORT must differ from PORT (unset it to serve /metrics on PORT behind METRICS_TOKEN).',
    );
  });
});

describe('webhooks', () => {
  it('allow private addresses over http outside production', () => {
    expect(loadConfig({}).webhooks).toEqual({
      worker: true,
      retryScheduleMs: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
      requireHttps: false,
      allowPrivateUrls: true,
    });
  });

  it('call only https URLs of public addresses in production, unless WEBHOOK_ALLOW_PRIVATE_URLS', () => {
    expect(loadConfig(PRODUCTION).webhooks).toMatchObject({
      requireHttps: true,
      allowPrivateUrls: false,
    });
    expect(
      loadConfig({ ...PRODUCTION, WEBHOOK_ALLOW_PRIVATE_URLS: 'true' }).webhooks,
    ).toMatchObject({ requireHttps: true, allowPrivateUrls: true });
  });

  it('parse WEBHOOK_RETRY_SCHEDULE as durations and WEBHOOK_WORKER as a boolean', () => {
    const config = loadConfig({ WEBHOOK_RETRY_SCHEDULE: '50ms, 2s,1m', WEBHOOK_WORKER: 'false' });
    expect(config.webhooks.retryScheduleMs).toEqual([50, 2_000, 60_000]);
    expect(config.webhooks.worker).toBe(false);
  });

  it('refuses a retry schedule that is not a list of positive durations', () => {
    expect(configErrorOf({ WEBHOOK_RETRY_SCHEDULE: '5s,soon' }).message).toContain(
      'WEBHOOK_RETRY_SCHEDULE: must be durations like 5s,5m,30m,2h',
    );
    expect(configErrorOf({ WEBHOOK_RETRY_SCHEDULE: '0s' }).message).toContain(
      'WEBHOOK_RETRY_SCHEDULE',
    );
  });
});
