/**
 * Field rate limits (@rateLimit) with the default in-memory counters: createOrder is declared
 * `@rateLimit(max: 30, window: "1m")` in the schema. Requests carry the TCP peer address a
 * node:http server would give Yoga (`{ req: { socket: { remoteAddress } } }`), so anonymous
 * callers can be told apart; 10.0.0.1 is configured as a trusted proxy.
 */
import { createYoga } from 'graphql-yoga';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import { useAuthentication } from '../../src/plugins/authentication.ts';
import { useFieldRateLimits } from '../../src/plugins/field-rate-limits/index.ts';
import { openRedis } from '../../src/redis.ts';
import { schema } from '../../src/schema/index.ts';
import { CREATE_ORDER, PRODUCT_STOCK } from '../fixtures/operations.ts';
import { type DemoUserName, startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const CREATE_PRODUCT = /* GraphQL */ `
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      product { id }
      userErrors { code }
    }
  }
`;

const CREATE_ORDER_AND_PRODUCT = /* GraphQL */ `
  mutation CreateOrderAndProduct(
    $orderKey: ID!
    $items: [OrderItemInput!]!
    $product: CreateProductInput!
  ) {
    createOrder(input: { clientMutationId: $orderKey, items: $items }) { order { id } }
    createProduct(input: $product) { product { id } }
  }
`;

// The limited field under an alias, inside a fragment: still createOrder, still counted.
const CREATE_ORDER_IN_FRAGMENT = /* GraphQL */ `
  mutation CreateOrderInFragment($input: CreateOrderInput!) {
    ...PlaceOrder
  }
  fragment PlaceOrder on Mutation {
    placed: createOrder(input: $input) { order { id } }
  }
`;

const LIMIT = 30;
const PRICE = { amount: 100, currency: 'USD' };
const TRUSTED_PROXY = '10.0.0.1';
const REFUSAL_MESSAGE = 'Too many calls of createOrder: at most 30 per 1 minute.';

let t: TestApp;
let productId: string;

interface CallOptions {
  as?: DemoUserName;
  /** The TCP peer of the request. */
  address?: string;
  headers?: Record<string, string>;
}

// biome-ignore lint/suspicious/noExplicitAny: response JSON, shaped by each query
type Json = any;

async function call(
  query: string,
  variables: Record<string, unknown>,
  options: CallOptions,
  app: App = t.app,
) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
    ...options.headers,
  };
  if (options.as) headers.authorization = `Bearer ${await t.token(options.as)}`;
  const request = new Request('http://localhost/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  // What node:http hands Yoga as server context; the app's type for it declares nothing.
  const serverContext = { req: { socket: { remoteAddress: options.address ?? '10.0.0.200' } } };
  const response = await app.fetch(request, serverContext as unknown as Record<string, never>);
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Json,
  };
}

function createOrder(options: CallOptions, app: App = t.app) {
  return call(
    CREATE_ORDER,
    {
      input: {
        clientMutationId: newClientMutationId('order'),
        items: [{ productId, quantity: 1 }],
      },
    },
    options,
    app,
  );
}

/** Calls createOrder `count` times in a row; resolves to the HTTP statuses. */
async function createOrders(count: number, options: CallOptions): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < count; index++) statuses.push((await createOrder(options)).status);
  return statuses;
}

async function stock(): Promise<number> {
  const response = await call(PRODUCT_STOCK, { id: productId }, { as: 'acme/alice' });
  return response.body.data.product.stock;
}

function expectRateLimited(response: Awaited<ReturnType<typeof call>>) {
  expect(response.status).toBe(429);
  const retryAfter = response.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors).toEqual([
    {
      message: REFUSAL_MESSAGE,
      locations: [expect.any(Object)],
      path: ['createOrder'],
      extensions: {
        code: 'RATE_LIMITED',
        limit: LIMIT,
        window: '1m',
        retryAfter: Number(retryAfter),
        requestId: expect.any(String),
      },
    },
  ]);
}

beforeAll(async () => {
  t = await startTestApp({ env: { TRUSTED_PROXIES: TRUSTED_PROXY } });
  const created = await call(
    CREATE_PRODUCT,
    {
      input: {
        clientMutationId: newClientMutationId('product'),
        name: 'Rate-limit stock',
        price: { amount: 100, currency: 'USD' },
        stock: 500,
      },
    },
    { as: 'acme/alice' },
  );
  expect(created.body.data.createProduct.userErrors).toEqual([]);
  productId = created.body.data.createProduct.product.id;
});

afterAll(async () => {
  await t?.close();
});

describe('a signed-in user', () => {
  let stockBefore: number;
  let allowed: number[];
  let refused: Awaited<ReturnType<typeof call>>;

  beforeAll(async () => {
    stockBefore = await stock();
    allowed = await createOrders(LIMIT, { as: 'acme/alice' });
    refused = await createOrder({ as: 'acme/alice' });
  });

  it('may call createOrder 30 times within a minute', () => {
    expect(allowed).toEqual(Array(LIMIT).fill(200));
  });

  it('gets 429 RATE_LIMITED with a numeric Retry-After on the 31st call', () => {
    expectRateLimited(refused);
  });

  it('creates nothing with a refused call', async () => {
    expect(await stock()).toBe(stockBefore - LIMIT);
  });

  it('stays refused from any address, since the user is the key', async () => {
    expectRateLimited(await createOrder({ as: 'acme/alice', address: '10.0.0.77' }));
  });

  it('refuses the whole operation when one of its fields is over the limit', async () => {
    const response = await call(
      CREATE_ORDER_AND_PRODUCT,
      {
        orderKey: newClientMutationId('order'),
        items: [{ productId, quantity: 1 }],
        product: {
          clientMutationId: newClientMutationId('product'),
          name: 'Never created',
          price: PRICE,
        },
      },
      { as: 'acme/alice' },
    );
    expect(response.status).toBe(429);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors.map((error: Json) => error.extensions.code)).toEqual([
      'RATE_LIMITED',
    ]);
    expect(await stock()).toBe(stockBefore - LIMIT);
  });

  it('refuses the field under an alias in a fragment too', async () => {
    const response = await call(
      CREATE_ORDER_IN_FRAGMENT,
      {
        input: {
          clientMutationId: newClientMutationId('order'),
          items: [{ productId, quantity: 1 }],
        },
      },
      { as: 'acme/alice' },
    );
    expect(response.status).toBe(429);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors.map((error: Json) => [error.extensions.code, error.path])).toEqual([
      ['RATE_LIMITED', ['placed']],
    ]);
    expect(await stock()).toBe(stockBefore - LIMIT);
  });

  it('does not limit another user of the same tenant', async () => {
    const response = await createOrder({ as: 'acme/bob' });
    expect(response.status).toBe(200);
    expect(response.body.data.createOrder.userErrors).toEqual([]);
  });

  it('does not limit other fields', async () => {
    const response = await call(
      CREATE_PRODUCT,
      {
        input: {
          clientMutationId: newClientMutationId('product'),
          name: 'Not limited',
          price: { amount: 1, currency: 'USD' },
        },
      },
      { as: 'acme/alice' },
    );
    expect(response.status).toBe(200);
    expect(response.body.data.createProduct.userErrors).toEqual([]);
  });
});

describe('anonymous callers', () => {
  it('are keyed by client address: the 31st call from one address is refused', async () => {
    const statuses = await createOrders(LIMIT, { address: '10.0.0.9' });
    // Anonymous callers may not create orders at all (200 UNAUTHENTICATED), but every call
    // counts.
    expect(statuses).toEqual(Array(LIMIT).fill(200));
    expectRateLimited(await createOrder({ address: '10.0.0.9' }));
  });

  it('are not limited by the calls of another address', async () => {
    expect((await createOrder({ address: '10.0.0.10' })).status).toBe(200);
  });

  it('cannot pick their key with X-Forwarded-For from an untrusted peer', async () => {
    const response = await createOrder({
      address: '10.0.0.9',
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    expectRateLimited(response);
  });

  it('are keyed by X-Forwarded-For when the peer is a trusted proxy', async () => {
    const limited = await createOrder({
      address: TRUSTED_PROXY,
      headers: { 'x-forwarded-for': '10.0.0.9' },
    });
    expectRateLimited(limited);
    const other = await createOrder({
      address: TRUSTED_PROXY,
      headers: { 'x-forwarded-for': '203.0.113.8' },
    });
    expect(other.status).toBe(200);
  });
});

describe('FIELD_RATE_LIMITS=false', () => {
  it('enforces no @rateLimit', async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: t.config.dataDir,
      FIELD_RATE_LIMITS: 'false',
    });
    const verifier = await createTokenVerifier(config.auth);
    const logger = pino({ level: 'silent' });
    const app = createApp({
      config,
      database: t.database,
      persistedOperations: t.persistedOperations,
      verifier,
      logger,
    });
    const statuses: number[] = [];
    for (let index = 0; index <= LIMIT; index++) {
      statuses.push((await createOrder({ as: 'acme/carol' }, app)).status);
    }
    expect(statuses).toEqual(Array(LIMIT + 1).fill(200));
  });
});

describe('an unreachable Redis', () => {
  /** Port 1 on loopback: nothing listens there, so every connection is refused at once. */
  const DEAD_REDIS_URL = 'redis://127.0.0.1:1';

  function capturingLogger() {
    const lines: { msg: string }[] = [];
    const logger = pino(
      { level: 'error' },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    );
    const outages = () =>
      lines.filter((line) => line.msg.startsWith('field rate limits: redis unreachable'));
    return { logger, outages };
  }

  it('refuses limited fields with 503 SERVICE_UNAVAILABLE when failing closed', async () => {
    // Only authentication and this plugin: in the whole app, the cost budget (also in Redis,
    // also failing closed) would refuse the request first.
    const { logger, outages } = capturingLogger();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: t.config.dataDir,
      REDIS_URL: DEAD_REDIS_URL,
      REDIS_FAILURE_MODE: 'closed',
    });
    const redis = openRedis(config.redis!, logger);
    const yoga = createYoga<Record<string, never>, AppContext>({
      schema,
      logging: false,
      context: () => ({ config, requestId: 'test', viewer: null }),
      plugins: [
        useAuthentication({ verifier: await createTokenVerifier(config.auth), logger }),
        useFieldRateLimits({
          trustedProxies: [],
          redis: { client: redis, failureMode: 'closed' },
          logger,
        }),
      ],
    });
    try {
      const first = await createOrder({ as: 'acme/bob' }, yoga as unknown as App);
      const second = await createOrder({ as: 'acme/bob' }, yoga as unknown as App);
      for (const response of [first, second]) {
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('5');
        expect(response.body.errors.map((error: Json) => error.extensions.code)).toEqual([
          'SERVICE_UNAVAILABLE',
        ]);
      }
      expect(outages()).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });

  it('lets limited fields through when failing open, and logs the outage once', async () => {
    const { logger, outages } = capturingLogger();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: t.config.dataDir,
      REDIS_URL: DEAD_REDIS_URL,
      REDIS_FAILURE_MODE: 'open',
    });
    const redis = openRedis(config.redis!, logger);
    const verifier = await createTokenVerifier(config.auth);
    const app = createApp({
      config,
      database: t.database,
      persistedOperations: t.persistedOperations,
      verifier,
      logger,
      redis,
    });
    try {
      const stockBefore = await stock();
      const first = await createOrder({ as: 'acme/bob' }, app);
      const second = await createOrder({ as: 'acme/bob' }, app);
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(first.body.data.createOrder.userErrors).toEqual([]);
      expect(await stock()).toBe(stockBefore - 2);
      expect(outages()).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });
});
