/**
 * CORS from the CORS_ORIGINS allow-list: a listed origin gets the CORS headers on its preflight
 * and on its actual requests; any other origin (look-alikes and `null` included) gets none, so
 * its browser refuses. Credentials only when CORS_CREDENTIALS=true, which config.ts allows
 * only with listed origins. No CORS_ORIGINS: no CORS headers at all.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { loadConfig } from '../../src/config.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const APP_ORIGIN = 'https://app.example.com';
const ADMIN_ORIGIN = 'https://admin.example.com';
const LISTED = `${APP_ORIGIN},${ADMIN_ORIGIN}`;

const EXPOSED =
  'X-Request-Id, Retry-After, WWW-Authenticate, RateLimit, RateLimit-Policy, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Idempotent-Replayed, Server-Timing, Deprecation, Sunset';

const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-allow-credentials',
  'access-control-expose-headers',
  'access-control-max-age',
  'vary',
] as const;

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

/** An app on the test database under these settings. */
async function appWith(env: Record<string, string>): Promise<App> {
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: t.config.dataDir, ...env });
  return createApp({
    config,
    database: t.database,
    verifier: await createTokenVerifier(config.auth),
    persistedOperations: t.persistedOperations,
    logger: pino({ level: 'silent' }),
  });
}

function preflight(app: App, origin: string) {
  return app.fetch('http://localhost/graphql', {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });
}

function post(app: App, origin: string) {
  return app.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
}

/** The CORS headers of a response; absent ones are left out. */
function corsHeaders(response: Response): Record<string, string> {
  return Object.fromEntries(
    CORS_HEADERS.flatMap((name) => {
      const value = response.headers.get(name);
      return value === null ? [] : [[name, value]];
    }),
  );
}

describe('CORS_ORIGINS lists origins', () => {
  let app: App;

  beforeAll(async () => {
    app = await appWith({ CORS_ORIGINS: LISTED });
  });

  it.each([APP_ORIGIN, ADMIN_ORIGIN])('answers a preflight from %s', async (origin) => {
    const response = await preflight(app, origin);
    expect(response.status).toBe(204);
    expect(corsHeaders(response)).toEqual({
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-expose-headers': EXPOSED,
      'access-control-max-age': '600',
      vary: 'Access-Control-Request-Headers, Origin, Accept-Encoding',
    });
  });

  it('lets a listed origin read the answer, and the headers it needs', async () => {
    const response = await post(app, APP_ORIGIN);
    expect(response.status).toBe(200);
    expect(corsHeaders(response)).toEqual({
      'access-control-allow-origin': APP_ORIGIN,
      'access-control-allow-methods': 'GET, POST',
      'access-control-expose-headers': EXPOSED,
      'access-control-max-age': '600',
      vary: 'Origin, Accept-Encoding',
    });
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['a look-alike ending in a listed origin', 'https://evil-app.example.com'],
    ['a listed origin as a prefix', 'https://app.example.com.evil.example'],
    ['a listed host under plain HTTP', 'http://app.example.com'],
    ['a listed host on another port', 'https://app.example.com:8443'],
    ['the null origin (sandboxed frames, file: pages)', 'null'],
  ])('gives %s no CORS headers, on its preflight or its request', async (_kind, origin) => {
    const refused = await preflight(app, origin);
    expect(corsHeaders(refused)).toEqual({ vary: 'Origin, Accept-Encoding' });
    const answered = await post(app, origin);
    expect(corsHeaders(answered)).toEqual({ vary: 'Origin, Accept-Encoding' });
  });

  it('varies by Origin even when a request has none', async () => {
    const response = await app.fetch('http://localhost/healthz');
    expect(corsHeaders(response)).toEqual({ vary: 'Origin, Accept-Encoding' });
  });

  it('sends no Access-Control-Allow-Credentials unless CORS_CREDENTIALS=true', async () => {
    expect((await post(app, APP_ORIGIN)).headers.has('access-control-allow-credentials')).toBe(
      false,
    );
  });
});

describe('CORS_CREDENTIALS=true', () => {
  it('allows credentials to a listed origin, and to nobody else', async () => {
    const app = await appWith({ CORS_ORIGINS: LISTED, CORS_CREDENTIALS: 'true' });
    const listed = await preflight(app, APP_ORIGIN);
    expect(corsHeaders(listed)).toMatchObject({
      'access-control-allow-origin': APP_ORIGIN,
      'access-control-allow-credentials': 'true',
    });
    expect(corsHeaders(await post(app, APP_ORIGIN))).toMatchObject({
      'access-control-allow-origin': APP_ORIGIN,
      'access-control-allow-credentials': 'true',
    });
    expect(corsHeaders(await post(app, 'https://evil.example'))).toEqual({
      vary: 'Origin, Accept-Encoding',
    });
  });
});

describe('CORS_ORIGINS=* (refused in production)', () => {
  it('lets any origin read answers, never with credentials', async () => {
    const app = await appWith({ CORS_ORIGINS: '*' });
    for (const origin of ['https://anywhere.example', 'http://localhost:5173']) {
      const response = await post(app, origin);
      expect(corsHeaders(response)).toEqual({
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'GET, POST',
        'access-control-expose-headers': EXPOSED,
        'access-control-max-age': '600',
        vary: 'Origin, Accept-Encoding',
      });
    }
  });
});

describe('no CORS_ORIGINS (the default)', () => {
  it('sends no CORS headers to any origin, and answers no preflight', async () => {
    const refused = await preflight(t.app, APP_ORIGIN);
    expect(refused.status).toBe(405);
    // Vary by encoding only: compression's (http/compression.ts), on every response.
    expect(corsHeaders(refused)).toEqual({ vary: 'Accept-Encoding' });
    const answered = await post(t.app, APP_ORIGIN);
    expect(answered.status).toBe(200);
    expect(corsHeaders(answered)).toEqual({ vary: 'Accept-Encoding' });
  });
});
