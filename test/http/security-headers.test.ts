/**
 * Security headers on every response — results, errors, refusals, health, unknown paths — with
 * the request id; Strict-Transport-Security when SERVED_OVER_TLS; and on the GraphiQL page a
 * Content-Security-Policy that allows exactly what the page loads and runs: its inline script
 * by hash, everything else from its own origin, no other origin at all.
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, type AppDeps, createApp } from '../../src/app.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { loadConfig } from '../../src/config.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

/** What every response carries, whatever it is. */
const HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': null,
};

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

/** Another app on the same database, under other settings. */
async function appWith(env: Record<string, string>, deps: Partial<AppDeps> = {}) {
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: t.config.dataDir, ...env });
  return createApp({
    config,
    database: t.database,
    persistedOperations: t.persistedOperations,
    verifier: await createTokenVerifier(config.auth),
    logger: pino({ level: 'silent' }),
    ...deps,
  });
}

function securityHeaders(response: Response) {
  return Object.fromEntries(Object.keys(HEADERS).map((name) => [name, response.headers.get(name)]));
}

const postJson = (body: string) =>
  t.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body,
  });

const graphiqlPage = (app: App) =>
  app.fetch('http://localhost/graphql', { headers: { accept: 'text/html' } });

/** `'sha256-…'` of each inline script of a page, in page order. */
function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, body]) => `'sha256-${createHash('sha256').update(body!).digest('base64')}'`,
  );
}

describe('every response', () => {
  it.each([
    ['a result', 200, () => postJson(JSON.stringify({ query: '{ __typename }' }))],
    ['a GraphQL error', 400, () => postJson(JSON.stringify({ query: '{ nope }' }))],
    ['a body that is not JSON', 415, () => t.fetch('/graphql', { method: 'POST', body: 'x' })],
    ['a GET without a preflight header', 403, () => t.fetch('/graphql?query=%7B__typename%7D')],
    ['an unsupported method', 405, () => t.fetch('/graphql', { method: 'PUT', body: '{}' })],
    ['GET /healthz', 200, () => t.fetch('/healthz')],
    ['GET /readyz', 200, () => t.fetch('/readyz')],
    ['an unknown path', 404, () => t.fetch('/nope')],
  ])('carries the security headers and a request id: %s', async (_kind, status, send) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(securityHeaders(response)).toEqual(HEADERS);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('echoes a well-formed incoming X-Request-Id, on /healthz too', async () => {
    const response = await t.fetch('/healthz', { headers: { 'x-request-id': 'probe-00000001' } });
    expect(response.headers.get('x-request-id')).toBe('probe-00000001');
  });
});

describe('SERVED_OVER_TLS', () => {
  it('adds Strict-Transport-Security for a year, subdomains included, to every response', async () => {
    const app = await appWith({ SERVED_OVER_TLS: 'true' });
    for (const response of [
      await app.fetch('http://localhost/healthz'),
      await app.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      }),
      await graphiqlPage(app),
    ]) {
      expect(response.headers.get('strict-transport-security')).toBe(
        'max-age=31536000; includeSubDomains',
      );
    }
  });
});

describe('the GraphiQL page', () => {
  it('allows its own inline script by hash and everything else from its own origin only', async () => {
    const response = await graphiqlPage(t.app);
    const html = await response.text();
    const hashes = inlineScriptHashes(html);
    expect(hashes).toHaveLength(1);
    expect(response.headers.get('content-security-policy')).toBe(
      [
        "default-src 'none'",
        `script-src 'self' ${hashes[0]}`,
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        'font-src data:',
        "connect-src 'self'",
        "worker-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join('; '),
    );
  });

  it('refers to no other origin', async () => {
    const html = await (await graphiqlPage(t.app)).text();
    expect(html.match(/(?:https?:)?\/\/[a-z0-9.-]+/gi) ?? []).toEqual([]);
    expect(html).toContain('<title>Orders API</title>');
  });

  it('follows the page when its inline options change (a pre-filled Authorization header)', async () => {
    const app = await appWith({}, { graphiqlAuthorization: 'Bearer a-demo-token' });
    const response = await graphiqlPage(app);
    const html = await response.text();
    expect(html).toContain('Bearer a-demo-token');
    const [options] = inlineScriptHashes(html);
    expect(response.headers.get('content-security-policy')!.split(/[\s;]+/)).toContain(options);
    // …and that hash is not the one of the page without the header.
    const plain = inlineScriptHashes(await (await graphiqlPage(t.app)).text());
    expect(plain[0]).not.toBe(options);
  });

  it('is not framed and sends no referrer either', async () => {
    const response = await graphiqlPage(t.app);
    expect(securityHeaders(response)).toEqual({
      ...HEADERS,
      'content-security-policy': expect.stringContaining("frame-ancestors 'none'"),
    });
  });
});
