/**
 * The request log (src/plugins/request-log.ts): one JSON line per request, through the real
 * pipeline, captured from the logger's destination stream.
 */
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { useRequestLog } from '../../src/plugins/request-log.ts';
import { FIRST_PRODUCT } from '../fixtures/operations.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const PRODUCTS = /* GraphQL */ `
  query Products($search: String) {
    products(first: 2, filter: { search: $search }) { nodes { id name } }
  }
`;

const CREATE_ORDER = /* GraphQL */ `
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) {
      order { id note }
      userErrors { code }
    }
  }
`;

/** A logger writing JSON lines into `lines` (and the raw text into `text`). */
function captureLogs(logLevel: string) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = createLogger(
    { logLevel, env: 'test' },
    {
      write(chunk: string) {
        raw.push(chunk);
        lines.push(JSON.parse(chunk));
      },
    },
  );
  return {
    logger,
    lines,
    text: () => raw.join(''),
    requests: () => lines.filter((line) => line.msg === 'request'),
    clear() {
      lines.length = 0;
      raw.length = 0;
    },
  };
}

const logs = captureLogs('info');
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { BATCHING: 'true' }, deps: { logger: logs.logger } });
});
afterAll(() => t.close());
beforeEach(() => logs.clear());

describe('one line per request', () => {
  it('names the request, viewer, operation, cost, status, duration and error codes', async () => {
    const before = Date.now();
    const response = await t.graphql(PRODUCTS, {}, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    const [line, ...others] = logs.requests();
    expect(others).toEqual([]);
    const { time, durationMs, ...rest } = line!;
    expect(rest).toEqual({
      level: 30,
      pid: process.pid,
      hostname: expect.any(String),
      requestId: response.headers.get('x-request-id'),
      method: 'POST',
      path: '/graphql',
      tenant: t.ids.tenants.acme,
      userId: t.ids.users['acme/alice'],
      operationName: 'Products',
      operationType: 'query',
      persistedId: null,
      requestedCost: response.cost?.requestedQueryCost,
      actualCost: response.cost?.actualQueryCost,
      status: 200,
      errorCodes: [],
      msg: 'request',
    });
    expect([response.cost?.requestedQueryCost, response.cost?.actualQueryCost]).toEqual([3, 3]);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(durationMs).toBeTypeOf('number');
    expect(durationMs).toBeGreaterThanOrEqual(0);
  });

  it('logs an anonymous request with no tenant or user', async () => {
    await t.graphql(FIRST_PRODUCT);
    expect(logs.requests()).toMatchObject([
      {
        tenant: null,
        userId: null,
        operationName: 'FirstProduct',
        status: 200,
        errorCodes: ['UNAUTHENTICATED'],
      },
    ]);
  });

  it('logs the error codes of a refused request', async () => {
    const response = await t.graphql(FIRST_PRODUCT, {}, { authorization: 'Bearer not-a-jwt' });
    expect(response.status).toBe(401);
    expect(logs.requests()).toMatchObject([
      {
        tenant: null,
        userId: null,
        operationName: 'FirstProduct',
        requestedCost: null,
        actualCost: null,
        status: 401,
        errorCodes: ['UNAUTHENTICATED'],
      },
    ]);
  });

  it('logs each distinct error code once, in order', async () => {
    const response = await t.graphql('query Broken { products(first: 1) { nodes { nope } } nope }');
    expect(response.status).toBe(400);
    expect(response.body.errors).toHaveLength(2);
    expect(logs.requests()).toMatchObject([
      { operationName: 'Broken', status: 400, errorCodes: ['GRAPHQL_VALIDATION_FAILED'] },
    ]);
  });

  it('logs a request that never reached GraphQL, with no operation', async () => {
    const response = await t.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(response.status).toBe(400);
    expect(logs.requests()).toMatchObject([
      { operationName: null, operationType: null, status: 400, errorCodes: ['BAD_REQUEST'] },
    ]);
  });

  it('lists the operations of a batch and sums their costs', async () => {
    const response = await t.fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await t.token('acme/bob')}`,
      },
      body: JSON.stringify([{ query: FIRST_PRODUCT }, { query: PRODUCTS }]),
    });
    expect(response.status).toBe(200);
    expect(logs.requests()).toMatchObject([
      {
        tenant: t.ids.tenants.acme,
        userId: t.ids.users['acme/bob'],
        operationName: ['FirstProduct', 'Products'],
        operationType: ['query', 'query'],
        requestedCost: 5,
        actualCost: 5,
      },
    ]);
  });
});

describe('probes', () => {
  it('does not log health, readiness or metrics requests at info', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) await t.fetch(path);
    expect(logs.lines).toEqual([]);
  });

  it('logs them at debug', async () => {
    logs.logger.level = 'debug';
    try {
      await t.fetch('/healthz');
    } finally {
      logs.logger.level = 'info';
    }
    expect(logs.requests()).toMatchObject([{ level: 20, path: '/healthz', status: 200 }]);
  });
});

describe('what is never logged', () => {
  it('writes no token, no variable, no email and no note', async () => {
    const email = 'bob.private@example.com';
    const note = 'Leave it with the neighbour at flat 4B';
    const token = await t.token('acme/bob');
    const product = await t.graphql(FIRST_PRODUCT, {}, { as: 'acme/bob' });
    const productId = product.body.data!.products.nodes[0].id;
    await t.graphql(PRODUCTS, { search: email }, { authorization: `Bearer ${token}` });
    const order = await t.graphql(
      CREATE_ORDER,
      {
        input: {
          clientMutationId: newClientMutationId(),
          items: [{ productId, quantity: 1 }],
          note,
        },
      },
      { authorization: `Bearer ${token}` },
    );
    expect(order.body.data?.createOrder.order.note).toBe(note);
    expect(logs.requests()).toHaveLength(3);
    const text = logs.text();
    for (const secret of [token, token.split('.')[2]!, email, note, 'example.com', 'neighbour']) {
      expect(text).not.toContain(secret);
    }
  });

  it('redacts credentials and personal data in anything else that is logged', () => {
    const capture = captureLogs('info');
    capture.logger.info(
      {
        req: { headers: { authorization: 'Bearer abc.def.ghi', cookie: 'session=s3cr3t' } },
        headers: { authorization: 'Bearer abc.def.ghi', 'set-cookie': 'session=s3cr3t' },
        token: 'abc.def.ghi',
        user: { email: 'carol@example.com', password: 'hunter2', apiKey: 'k-123' },
        params: { query: '{ viewer { user { id } } }', variables: { note: 'private note' } },
        err: { message: 'duplicate key', detail: 'Key (email)=(carol@example.com) exists.' },
      },
      'something',
    );
    const [line] = capture.lines;
    expect(line).toMatchObject({
      req: { headers: { authorization: '[redacted]', cookie: '[redacted]' } },
      headers: { authorization: '[redacted]', 'set-cookie': '[redacted]' },
      token: '[redacted]',
      user: { email: '[redacted]', password: '[redacted]', apiKey: '[redacted]' },
      params: { query: '{ viewer { user { id } } }', variables: '[redacted]' },
      err: { message: 'duplicate key', detail: '[redacted]' },
    });
    for (const secret of ['abc.def.ghi', 's3cr3t', 'carol@', 'hunter2', 'k-123', 'private note']) {
      expect(capture.text()).not.toContain(secret);
    }
  });
});

describe('persisted operations', () => {
  it('logs the persisted id the option finds for the request', async () => {
    const capture = captureLogs('info');
    const yoga = createYoga({
      schema: createSchema({ typeDefs: 'type Query { hello: String }', resolvers: {} }),
      logging: false,
      plugins: [
        useRequestLog({
          logger: capture.logger,
          persistedIdOf: (request) =>
            new URL(request.url).searchParams.get('documentId') ?? undefined,
        }),
      ],
    });
    await yoga.fetch('http://localhost/graphql?documentId=sha256:abc123&query={hello}');
    await yoga.fetch('http://localhost/graphql?query={hello}');
    expect(capture.requests().map((line) => [line.persistedId, line.path])).toEqual([
      ['sha256:abc123', '/graphql'],
      [null, '/graphql'],
    ]);
  });
});
