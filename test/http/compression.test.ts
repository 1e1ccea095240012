/**
 * Response compression (issue 13, item 3), through HTTP: the orders page is sent as brotli or
 * gzip as Accept-Encoding asks (q-values honoured, br preferred at equal q), and decodes to
 * exactly the bytes an uncompressed answer has; small bodies, 304s and refused codings are
 * left alone; `Vary: Accept-Encoding` is on every response, once, beside the other Vary
 * values; COMPRESSION=false and COMPRESSION_MIN_BYTES change it. One test goes over a real
 * socket, so the compressed bytes are shown to reach a client intact.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCompression } from '../../src/http/compression.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const ORDER_LIST = readFileSync('persisted-queries/OrderList.graphql', 'utf8');
const TYPENAME = 'query Typename { __typename }';

/** The orders page's JSON as sent (the cost report's bucket reading differs per request). */
function withoutCost(json: string): unknown {
  const { extensions: _cost, ...rest } = JSON.parse(json);
  return rest;
}

function decode(encoding: string | null, bytes: Buffer): string {
  if (encoding === 'br') return brotliDecompressSync(bytes).toString('utf8');
  if (encoding === 'gzip') return gunzipSync(bytes).toString('utf8');
  return bytes.toString('utf8');
}

/** Vary's names, lowercased, in order. */
function varyOf(response: Response): string[] {
  return (response.headers.get('vary') ?? '').split(',').map((name) => name.trim().toLowerCase());
}

describe('compression on (the default: over 1 KB)', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    token = await t.token('acme/alice');
  });
  afterAll(() => t.close());

  function postOrders(headers: Record<string, string>): Promise<Response> {
    return t.fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${token}`,
        ...headers,
      },
      body: JSON.stringify({ query: ORDER_LIST }),
    });
  }

  async function uncompressedOrders(): Promise<string> {
    const response = await postOrders({});
    expect(response.headers.get('content-encoding')).toBeNull();
    return response.text();
  }

  it.each([
    ['br', 'br'],
    ['gzip', 'gzip'],
    ['gzip, deflate, br', 'br'],
    ['gzip, br;q=0.5', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['*', 'br'],
    ['deflate, *;q=0.1', 'br'],
  ])('Accept-Encoding: %s → %s, decoding to the uncompressed page', async (accept, coding) => {
    const plain = await uncompressedOrders();
    const response = await postOrders({ 'accept-encoding': accept });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-encoding')).toBe(coding);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(Number(response.headers.get('content-length'))).toBe(bytes.byteLength);
    expect(bytes.byteLength).toBeLessThan(Buffer.byteLength(plain) / 4);
    const decoded = decode(coding, bytes);
    expect(withoutCost(decoded)).toEqual(withoutCost(plain));
    expect(JSON.parse(decoded).data.orders.nodes).toHaveLength(20);
    expect(varyOf(response).filter((name) => name === 'accept-encoding')).toHaveLength(1);
  });

  it.each(['identity', '*;q=0', 'br;q=0, gzip;q=0', 'deflate', 'gzip;q=0.5, identity'])(
    'Accept-Encoding: %s → the page as it is',
    async (accept) => {
      const response = await postOrders({ 'accept-encoding': accept });
      expect(response.headers.get('content-encoding')).toBeNull();
      expect(JSON.parse(await response.text()).data.orders.nodes).toHaveLength(20);
      expect(varyOf(response)).toContain('accept-encoding');
    },
  );

  it('leaves a body under 1 KB alone, with Vary: Accept-Encoding all the same', async () => {
    const response = await t.graphql(TYPENAME, undefined, {
      as: 'acme/alice',
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.body.data).toEqual({ __typename: 'Query' });
    expect(response.headers.get('vary')).toMatch(/accept-encoding/i);
  });

  it('sends Vary: Accept-Encoding without being asked to compress', async () => {
    const response = await postOrders({});
    expect(varyOf(response)).toContain('accept-encoding');
  });

  it('merges Vary with CORS, never twice', async () => {
    const response = await postOrders({
      'accept-encoding': 'gzip',
      origin: 'https://app.example.com',
    });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(varyOf(response).sort()).toEqual(['accept-encoding', 'origin']);
  });

  it('compresses a GET query with its weak ETag, and leaves its 304 bodiless', async () => {
    const search = new URLSearchParams({ query: ORDER_LIST });
    const headers = {
      'graphql-require-preflight': '1',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${token}`,
      'accept-encoding': 'br',
    };
    const first = await t.fetch(`/graphql?${search}`, { headers });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-encoding')).toBe('br');
    const vary = ['accept', 'accept-encoding', 'authorization', 'origin'];
    expect(varyOf(first).sort()).toEqual(vary);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/"/);
    const decoded = JSON.parse(decode('br', Buffer.from(await first.arrayBuffer())));
    expect(decoded.data.orders.nodes).toHaveLength(20);

    const second = await t.fetch(`/graphql?${search}`, {
      headers: { ...headers, 'if-none-match': etag },
    });
    expect(second.status).toBe(304);
    expect(second.headers.get('content-encoding')).toBeNull();
    expect((await second.arrayBuffer()).byteLength).toBe(0);
    expect(varyOf(second).sort()).toEqual(vary);
  });

  it('compresses the GraphiQL page', async () => {
    const plain = await t.fetch('/graphql', { headers: { accept: 'text/html' } });
    const page = await plain.text();
    expect(Buffer.byteLength(page)).toBeGreaterThan(1024);
    const response = await t.fetch('/graphql', {
      headers: { accept: 'text/html', 'accept-encoding': 'gzip' },
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(decode('gzip', Buffer.from(await response.arrayBuffer()))).toBe(page);
  });

  it('reaches a client over a real socket intact', async () => {
    const server = createHttpServer(t.app, t.config);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = JSON.stringify({ query: ORDER_LIST });
      const { headers, bytes } = await new Promise<{
        headers: Record<string, string | string[] | undefined>;
        bytes: Buffer;
      }>((resolve, reject) => {
        const outgoing = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/graphql',
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${token}`,
              'accept-encoding': 'gzip',
            },
          },
          (incoming) => {
            const chunks: Buffer[] = [];
            incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
            incoming.on('end', () =>
              resolve({ headers: incoming.headers, bytes: Buffer.concat(chunks) }),
            );
            incoming.on('error', reject);
          },
        );
        outgoing.on('error', reject);
        outgoing.end(body);
      });
      expect(headers['content-encoding']).toBe('gzip');
      expect(Number(headers['content-length'])).toBe(bytes.byteLength);
      expect(JSON.parse(decode('gzip', bytes)).data.orders.nodes).toHaveLength(20);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('COMPRESSION=false', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { COMPRESSION: 'false' } });
  });
  afterAll(() => t.close());

  it('sends the page as it is, whatever the client accepts', async () => {
    const response = await t.graphql(ORDER_LIST, undefined, {
      as: 'acme/alice',
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.body.data?.orders.nodes).toHaveLength(20);
  });
});

describe('COMPRESSION_MIN_BYTES=1mb', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { COMPRESSION_MIN_BYTES: '1mb' } });
  });
  afterAll(() => t.close());

  it('leaves a page under the threshold alone, with Vary: Accept-Encoding', async () => {
    const response = await t.graphql(ORDER_LIST, undefined, {
      as: 'acme/alice',
      headers: { 'accept-encoding': 'br' },
    });
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/accept-encoding/i);
    expect(response.body.data?.orders.nodes).toHaveLength(20);
  });
});

describe('bodies of other kinds (a bare Yoga with the plugin)', () => {
  /** A 4 KB text body served at /asset with the headers the query string names. */
  const BODY = 'const answer = 42;\n'.repeat(220);
  const yoga = createYoga({
    plugins: [
      {
        onRequest({ url, endResponse, fetchAPI }) {
          if (url.pathname !== '/asset') return;
          const headers = Object.fromEntries(url.searchParams);
          endResponse(new fetchAPI.Response(BODY, { headers }));
        },
      },
      useCompression({ minBytes: 1024 }),
    ],
  });

  async function asset(headers: Record<string, string>, method = 'GET') {
    const search = new URLSearchParams({ 'content-type': 'text/javascript', ...headers });
    return yoga.fetch(`http://localhost/asset?${search}`, {
      method,
      headers: { 'accept-encoding': 'br' },
    });
  }

  it('weakens a strong ETag when it compresses', async () => {
    const response = await asset({ etag: '"v1"' });
    expect(response.headers.get('content-encoding')).toBe('br');
    expect(response.headers.get('etag')).toBe('W/"v1"');
    expect(decode('br', Buffer.from(await response.arrayBuffer()))).toBe(BODY);
  });

  it.each([
    ['an encoded body', { 'content-encoding': 'gzip' }],
    ['Cache-Control: no-transform', { 'cache-control': 'public, no-transform' }],
    ['an image', { 'content-type': 'image/png' }],
    ['an event stream', { 'content-type': 'text/event-stream' }],
  ] as [string, Record<string, string>][])('leaves %s alone', async (_what, headers) => {
    const response = await asset(headers);
    expect(response.headers.get('content-encoding')).toBe(headers['content-encoding'] ?? null);
    expect(await response.text()).toBe(BODY);
    expect(varyOf(response)).toEqual(['accept-encoding']);
  });

  it('leaves HEAD alone', async () => {
    const response = await asset({}, 'HEAD');
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(varyOf(response)).toEqual(['accept-encoding']);
  });
});
