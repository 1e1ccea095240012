/**
 * A POST body must be JSON: url-encoded forms, multipart, text/plain, `application/graphql` and
 * anything else are refused with 415 UNSUPPORTED_MEDIA_TYPE (with the request id) before the
 * body is read, so no form on another site can post an operation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitCostReport, startTestApp, type TestApp } from '../helpers/app.ts';

const QUERY = '{ __typename }';
const JSON_BODY = JSON.stringify({ query: QUERY });

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

async function post(body: BodyInit, headers: Record<string, string> = {}) {
  const response = await t.fetch('/graphql', { method: 'POST', headers, body });
  return {
    status: response.status,
    requestId: response.headers.get('x-request-id'),
    body: splitCostReport(await response.json()).body,
  };
}

function multipart(): FormData {
  const form = new FormData();
  form.set('operations', JSON_BODY);
  form.set('map', '{}');
  return form;
}

describe('a POST body that is not JSON', () => {
  it.each([
    [
      'a url-encoded form',
      `query=${encodeURIComponent(QUERY)}`,
      'application/x-www-form-urlencoded',
    ],
    ['text/plain', JSON_BODY, 'text/plain'],
    ['text/plain with a charset', JSON_BODY, 'text/plain;charset=UTF-8'],
    ['application/graphql', QUERY, 'application/graphql'],
    ['application/xml', '<query/>', 'application/xml'],
    ['JSON under a look-alike type', JSON_BODY, 'application/jsonp'],
  ])('is refused with 415 UNSUPPORTED_MEDIA_TYPE: %s', async (_kind, body, contentType) => {
    const response = await post(body, { 'content-type': contentType });
    expect(response).toEqual({
      status: 415,
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      body: {
        errors: [
          {
            message: 'The request body must be JSON: send Content-Type: application/json.',
            extensions: { code: 'UNSUPPORTED_MEDIA_TYPE', requestId: response.requestId },
          },
        ],
      },
    });
  });

  it('is refused with 415 when it is multipart/form-data', async () => {
    const response = await post(multipart());
    expect(response.status).toBe(415);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('is refused with 415 when it has no Content-Type', async () => {
    const response = await post(new TextEncoder().encode(JSON_BODY));
    expect(response.status).toBe(415);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('is refused before any operation in it runs', async () => {
    const response = await post(
      `query=${encodeURIComponent('mutation { createProduct(input: { name: "Form" }) { product { id } } }')}`,
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    expect(response.status).toBe(415);
    expect(response.body.data).toBeUndefined();
  });
});

describe('a JSON POST body', () => {
  it.each(['application/json', 'application/json; charset=utf-8', 'application/graphql+json'])(
    'is executed under Content-Type: %s',
    async (contentType) => {
      const response = await post(JSON_BODY, { 'content-type': contentType });
      expect(response).toEqual({
        status: 200,
        requestId: expect.any(String),
        body: { data: { __typename: 'Query' } },
      });
    },
  );
});
