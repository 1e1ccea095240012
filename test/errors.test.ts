/**
 * What a client gets when something goes wrong: request ids on every error, masked internal
 * failures, GraphQL-over-HTTP status codes for malformed requests, and the health endpoints.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { createTokenVerifier } from '../src/auth/jwt.ts';
import { createLogger } from '../src/logger.ts';
import { WHO_AM_I } from './fixtures/operations.ts';
import { splitCostReport, startTestApp, type TestApp } from './helpers/app.ts';
import { createTestDatabase } from './helpers/database.ts';

const PRODUCTS = /* GraphQL */ `
  query Products {
    products(first: 1) { pageInfo { hasNextPage } }
  }
`;

const UNKNOWN_FIELD = /* GraphQL */ `
  query UnknownField {
    zzzNoSuchField
  }
`;

const SYNTAX_ERROR = '{ viewer { user { username } }';

const PRODUCTS_PAGE = /* GraphQL */ `
  query ProductsPage($first: Int!) {
    products(first: $first) { pageInfo { hasNextPage } }
  }
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

interface Answer {
  status: number;
  headers: Headers;
  body: { errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function postRaw(body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await t.fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...headers,
    },
    body,
  });
  const answer = splitCostReport(await response.json()).body;
  return { status: response.status, headers: response.headers, body: answer };
}

/** One request per kind of failure, each answered at a different stage of the pipeline. */
const FAILURES: [string, (headers?: Record<string, string>) => Promise<Answer>][] = [
  ['a field error during execution', (headers) => t.graphql(PRODUCTS, {}, { headers })],
  ['a rejected token', (headers) => t.graphql(WHO_AM_I, {}, { authorization: 'Basic x', headers })],
  ['a validation error', (headers) => t.graphql(UNKNOWN_FIELD, {}, { as: 'acme/bob', headers })],
  ['a syntax error', (headers) => t.graphql(SYNTAX_ERROR, {}, { as: 'acme/bob', headers })],
  [
    'a variable of the wrong type',
    (headers) => t.graphql(PRODUCTS_PAGE, { first: 'ten' }, { as: 'acme/bob', headers }),
  ],
  ['a body that is not JSON', (headers) => postRaw('{"query": ', headers)],
];

describe('request ids', () => {
  it.each(FAILURES)(
    'are on every error of %s, equal to the X-Request-Id header',
    async (_kind, send) => {
      const { headers, body } = await send();
      const requestId = headers.get('x-request-id');
      expect(requestId).toMatch(UUID);
      expect(body.errors?.length).toBeGreaterThan(0);
      expect(body.errors?.map((error) => error.extensions?.requestId)).toEqual(
        body.errors?.map(() => requestId),
      );
    },
  );

  it.each(FAILURES)('echo a well-formed incoming X-Request-Id on %s', async (_kind, send) => {
    const incoming = 'edge-proxy:3f9a.77_b-1';
    const { headers, body } = await send({ 'x-request-id': incoming });
    expect(headers.get('x-request-id')).toBe(incoming);
    expect(body.errors?.map((error) => error.extensions?.requestId)).toEqual(
      body.errors?.map(() => incoming),
    );
  });

  it('are set on successful responses too, and differ between requests', async () => {
    const first = await t.graphql(WHO_AM_I, {}, { as: 'acme/bob' });
    const second = await t.graphql(WHO_AM_I, {}, { as: 'acme/bob' });
    expect(first.body).toEqual({ data: { viewer: { user: { username: 'bob' } } } });
    expect(first.headers.get('x-request-id')).toMatch(UUID);
    expect(second.headers.get('x-request-id')).toMatch(UUID);
    expect(second.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
  });

  it.each([
    ['spaces', 'my request id'],
    ['500 characters', 'a'.repeat(500)],
    ['fewer than 8 characters', 'abc'],
    ['a slash and quotes', 'abc/def"ghi'],
    ['a non-ASCII letter', 'trace-ïd-12345'],
  ])('replace an incoming X-Request-Id with %s by a fresh one', async (_kind, incoming) => {
    const response = await t.graphql(PRODUCTS, {}, { headers: { 'x-request-id': incoming } });
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(UUID);
    expect(response.body.errors?.map((error) => error.extensions?.requestId)).toEqual([requestId]);
  });
});

describe('an unexpected failure', () => {
  const logged: string[] = [];
  let loggingApp: ReturnType<typeof createApp>;

  beforeAll(async () => {
    loggingApp = createApp({
      config: t.config,
      database: t.database,
      persistedOperations: t.persistedOperations,
      verifier: await createTokenVerifier(t.config.auth),
      logger: createLogger(
        { logLevel: 'error', env: 'test' },
        { write: (line: string) => void logged.push(line) },
      ),
    });
    // A table the resolvers need goes missing: the database error must not reach the client.
    await t.database.db.execute(sql`alter table products rename to products_x`);
  });
  afterAll(async () => {
    await t.database.db.execute(sql`alter table products_x rename to products`);
  });

  it('is masked as INTERNAL_SERVER_ERROR at its path, with no message, SQL, table name or stack', async () => {
    const response = await t.graphql(PRODUCTS, {}, { as: 'acme/bob' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: { products: null },
      errors: [
        {
          message: 'Unexpected error.',
          locations: [{ line: 3, column: 5 }],
          path: ['products'],
          extensions: {
            code: 'INTERNAL_SERVER_ERROR',
            requestId: response.headers.get('x-request-id'),
          },
        },
      ],
    });
    const text = JSON.stringify(response.body);
    expect(text).not.toMatch(/products_x|relation|does not exist|select|stack|at /i);
  });

  it('is logged in full for operators, with the database error the client never sees', async () => {
    logged.length = 0;
    const token = await t.token('acme/bob');
    const response = await loggingApp.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: PRODUCTS }),
    });
    expect(await response.json()).toMatchObject({
      errors: [{ message: 'Unexpected error.', path: ['products'] }],
    });
    expect(logged.join('\n')).toContain('relation \\"products\\" does not exist');
    // The log line names the request, so the client's requestId leads to it.
    const requestId = response.headers.get('x-request-id');
    expect(logged.some((line) => JSON.parse(line).requestId === requestId)).toBe(true);
  });
});

describe('malformed requests', () => {
  it('answer an unknown field with a validation error and HTTP 400', async () => {
    const response = await t.graphql(UNKNOWN_FIELD, {}, { as: 'acme/bob' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      errors: [
        {
          message: 'Cannot query field "zzzNoSuchField" on type "Query".',
          locations: [{ line: 3, column: 5 }],
          extensions: {
            code: 'GRAPHQL_VALIDATION_FAILED',
            requestId: response.headers.get('x-request-id'),
          },
        },
      ],
    });
  });

  it('answer a syntax error with HTTP 400 and where it is', async () => {
    const response = await t.graphql(SYNTAX_ERROR, {}, { as: 'acme/bob' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      errors: [
        {
          message: 'Syntax Error: Expected Name, found <EOF>.',
          locations: [{ line: 1, column: 31 }],
          extensions: {
            code: 'GRAPHQL_PARSE_FAILED',
            requestId: response.headers.get('x-request-id'),
          },
        },
      ],
    });
  });

  it('answer a variable of the wrong type with BAD_USER_INPUT, HTTP 400 and a clear message', async () => {
    const response = await t.graphql(PRODUCTS_PAGE, { first: 'ten' }, { as: 'acme/bob' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      errors: [
        {
          message:
            'Variable "$first" got invalid value "ten"; Int cannot represent non-integer value: "ten"',
          locations: [{ line: 2, column: 22 }],
          extensions: {
            code: 'BAD_USER_INPUT',
            requestId: response.headers.get('x-request-id'),
          },
        },
      ],
    });
  });

  it('answer a missing required variable with BAD_USER_INPUT and HTTP 400', async () => {
    const response = await t.graphql(PRODUCTS_PAGE, {}, { as: 'acme/bob' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      errors: [
        {
          message: 'Variable "$first" of required type "Int!" was not provided.',
          locations: [{ line: 2, column: 22 }],
          extensions: {
            code: 'BAD_USER_INPUT',
            requestId: response.headers.get('x-request-id'),
          },
        },
      ],
    });
  });

  it.each([
    ['not JSON', 'query { viewer { scopes } }'],
    ['truncated JSON', '{"query": '],
    ['empty', ''],
  ])('answer a body that is %s with HTTP 400, not 500', async (_kind, body) => {
    const response = await postRaw(body);
    expect(response.status).toBe(400);
    expect(
      response.body.errors?.map(({ message, extensions }) => [message, extensions?.code]),
    ).toEqual([['POST body sent invalid JSON.', 'BAD_REQUEST']]);
  });

  it('answer a JSON body without a query or a persisted operation id with HTTP 400', async () => {
    const response = await postRaw('{}');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      errors: [
        {
          message: 'Send the document as `query`, or a persisted operation id as `documentId`.',
          extensions: { code: 'BAD_USER_INPUT', requestId: response.headers.get('x-request-id') },
        },
      ],
    });
  });
});

describe('health endpoints', () => {
  it('GET /healthz answers 200', async () => {
    const response = await t.fetch('/healthz');
    expect(response.status).toBe(200);
  });

  it('GET /readyz answers 200 while the database answers', async () => {
    const response = await t.fetch('/readyz');
    expect(response.status).toBe(200);
  });

  it('GET /readyz answers 503 when the database is gone, while /healthz still answers 200', async () => {
    const database = await createTestDatabase();
    await database.destroy();
    const app = createApp({
      config: t.config,
      database,
      persistedOperations: t.persistedOperations,
      verifier: await createTokenVerifier(t.config.auth),
      logger: createLogger({ logLevel: 'silent', env: 'test' }),
    });
    expect((await app.fetch('http://localhost/readyz')).status).toBe(503);
    expect((await app.fetch('http://localhost/healthz')).status).toBe(200);
  });
});
