/**
 * CSRF prevention: a GET (the request a page on another site can make a browser send without
 * a CORS preflight) runs only with one of the headers that force a preflight; without one it is
 * refused with 403 CSRF_HEADER_REQUIRED and the request id. JSON POSTs, GraphiQL's page and
 * the health endpoints need no such header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitCostReport, startTestApp, type TestApp } from '../helpers/app.ts';

const QUERY_STRING = `?query=${encodeURIComponent('{ __typename }')}`;

const REFUSAL =
  'A GET request needs one of the headers GraphQL-Require-Preflight, Apollo-Require-Preflight, X-Apollo-Operation-Name (any value), so that browsers send a CORS preflight first.';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

async function get(pathname: string, headers: Record<string, string> = {}) {
  const response = await t.fetch(pathname, { headers });
  return {
    status: response.status,
    requestId: response.headers.get('x-request-id'),
    body: splitCostReport(await response.json()).body,
  };
}

describe('a GET of an operation', () => {
  it('is refused with 403 CSRF_HEADER_REQUIRED without a preflight header', async () => {
    const response = await get(`/graphql${QUERY_STRING}`);
    expect(response).toEqual({
      status: 403,
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      body: {
        errors: [
          {
            message: REFUSAL,
            extensions: { code: 'CSRF_HEADER_REQUIRED', requestId: response.requestId },
          },
        ],
      },
    });
  });

  it('is refused when its Content-Type is a simple one, which forces no preflight', async () => {
    const response = await get(`/graphql${QUERY_STRING}`, { 'content-type': 'text/plain' });
    expect(response.status).toBe(403);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('CSRF_HEADER_REQUIRED');
  });

  it.each([
    'GraphQL-Require-Preflight',
    'Apollo-Require-Preflight',
    'X-Apollo-Operation-Name',
    'graphql-require-preflight',
  ])('runs with %s', async (header) => {
    const response = await get(`/graphql${QUERY_STRING}`, { [header]: 'true' });
    expect(response).toEqual({
      status: 200,
      requestId: expect.any(String),
      body: { data: { __typename: 'Query' } },
    });
  });

  it('runs with a header of any value, even empty', async () => {
    const response = await get(`/graphql${QUERY_STRING}`, { 'graphql-require-preflight': '' });
    expect(response.status).toBe(200);
  });
});

describe('what needs no preflight header', () => {
  it('another method, which browsers always preflight: Yoga refuses it with 405', async () => {
    const response = await t.fetch('/graphql', { method: 'PUT', body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
  });

  it('a JSON POST, which browsers always preflight', async () => {
    const response = await t.graphql('{ __typename }');
    expect([response.status, response.body]).toEqual([200, { data: { __typename: 'Query' } }]);
  });

  it('the GraphiQL page', async () => {
    const response = await t.fetch('/graphql', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<title>Orders API</title>');
  });

  it.each(['/healthz', '/readyz'])('GET %s', async (pathname) => {
    expect((await t.fetch(pathname)).status).toBe(200);
  });
});
