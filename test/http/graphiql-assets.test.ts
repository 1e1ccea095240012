/**
 * GraphiQL's files come from this server: every file the page refers to is served from its own
 * origin under a versioned path, cacheable for a year, with an ETag that conditional requests
 * are answered with 304 from; other names are 404, other methods 405, and with GraphiQL off
 * none of them exists. (test/browser/graphiql.test.ts opens the page in a real browser.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_ASSETS_PATH } from '../../src/http/graphiql.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { GRAPHIQL: 'true' } });
});

afterAll(async () => {
  await t.close();
});

async function pageReferences(): Promise<string[]> {
  const response = await t.fetch('/graphql', { headers: { accept: 'text/html' } });
  const html = await response.text();
  const references = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map(([, url]) => url!);
  // The editor's workers are named in the inline script.
  const workers = [...html.matchAll(/"(\/graphiql\/[^"]+\.worker\.js)"/g)].map(([, url]) => url!);
  return [...references, ...workers];
}

describe('the files of the GraphiQL page', () => {
  it('are all on our origin, under the versioned path', async () => {
    const references = await pageReferences();
    expect(references.sort()).toEqual(
      [
        'favicon.ico',
        'graphiql.css',
        'graphiql.js',
        'editor.worker.js',
        'json.worker.js',
        'graphql.worker.js',
      ]
        .map((name) => GRAPHIQL_ASSETS_PATH + name)
        .sort(),
    );
    expect(GRAPHIQL_ASSETS_PATH).toMatch(/^\/graphiql\/\d+\.\d+\.\d+\/$/);
  });

  it('are served with their type, a year of caching and an ETag', async () => {
    const types: Record<string, RegExp> = {
      js: /^text\/javascript/,
      css: /^text\/css/,
      ico: /^image\/x-icon$/,
    };
    for (const url of await pageReferences()) {
      const response = await t.fetch(url);
      expect(response.status, url).toBe(200);
      const extension = url.slice(url.lastIndexOf('.') + 1);
      expect(response.headers.get('content-type'), url).toMatch(types[extension]!);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      const body = new Uint8Array(await response.arrayBuffer());
      expect(body.byteLength).toBeGreaterThan(100);
      expect(Number(response.headers.get('content-length'))).toBe(body.byteLength);
    }
  });

  it('serves the script GraphiQL starts from and the stylesheet it needs', async () => {
    const script = await (await t.fetch(`${GRAPHIQL_ASSETS_PATH}graphiql.js`)).text();
    expect(script).toContain('renderYogaGraphiQL');
    const style = await (await t.fetch(`${GRAPHIQL_ASSETS_PATH}graphiql.css`)).text();
    expect(style).toContain('.graphiql-container');
  });

  it('answers If-None-Match with 304 and no body, and a stale ETag with the file', async () => {
    const url = `${GRAPHIQL_ASSETS_PATH}graphiql.css`;
    const etag = (await t.fetch(url)).headers.get('etag')!;
    const cached = await t.fetch(url, { headers: { 'if-none-match': `"other", ${etag}` } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(etag);
    expect(await cached.text()).toBe('');
    const weak = await t.fetch(url, { headers: { 'if-none-match': `W/${etag}` } });
    expect(weak.status).toBe(304);
    const stale = await t.fetch(url, { headers: { 'if-none-match': '"stale"' } });
    expect(stale.status).toBe(200);
  });

  it('answers HEAD with the headers and no body', async () => {
    const response = await t.fetch(`${GRAPHIQL_ASSETS_PATH}graphiql.js`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(1_000_000);
    expect(await response.text()).toBe('');
  });

  it.each([
    ['an unknown name', `${GRAPHIQL_ASSETS_PATH}nope.js`],
    ['a name from the object prototype', `${GRAPHIQL_ASSETS_PATH}constructor`],
    ['a path out of the directory', `${GRAPHIQL_ASSETS_PATH}..%2F..%2Fpackage.json`],
    ['the directory itself', GRAPHIQL_ASSETS_PATH],
    ['another version', '/graphiql/0.0.1/graphiql.js'],
  ])('is 404 for %s', async (_name, url) => {
    const response = await t.fetch(url);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('at ');
  });

  it('refuses other methods with 405 and Allow', async () => {
    const response = await t.fetch(`${GRAPHIQL_ASSETS_PATH}graphiql.js`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('do not exist when GraphiQL is off', async () => {
    const off = await startTestApp({ env: { GRAPHIQL: 'false' } });
    try {
      const response = await off.fetch(`${GRAPHIQL_ASSETS_PATH}graphiql.js`);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain('renderYogaGraphiQL');
    } finally {
      await off.close();
    }
  });
});
