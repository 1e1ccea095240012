/**
 * Field rate limits kept in Redis: two app instances (each with its own Redis connection, as
 * two processes would have) over one database enforce one limit per caller. Needs a real
 * Redis: set REDIS_URL (CI starts a throwaway redis-server on loopback); skipped otherwise.
 * createOrder is declared `@rateLimit(max: 30, window: "1m")`.
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { loadConfig } from '../../src/config.ts';
import { openRedis } from '../../src/redis.ts';
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

const LIMIT = 30;
/** The store's key prefix: the demo users' ids are fixed, so earlier runs' counts must go. */
const KEY_PATTERN = 'orders:field-rate-limit:*';

// biome-ignore lint/suspicious/noExplicitAny: response JSON, shaped by each query
type Json = any;

describe.skipIf(!process.env.REDIS_URL)('field rate limits in Redis', () => {
  let t: TestApp;
  const instances: { app: App; redis: Redis }[] = [];
  let productId: string;

  async function call(
    app: App,
    query: string,
    variables: Record<string, unknown>,
    as: DemoUserName,
  ) {
    const response = await app.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${await t.token(as)}`,
      },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Json,
    };
  }

  function createOrder(app: App, as: DemoUserName) {
    return call(
      app,
      CREATE_ORDER,
      {
        input: {
          clientMutationId: newClientMutationId('order'),
          items: [{ productId, quantity: 1 }],
        },
      },
      as,
    );
  }

  async function stock(): Promise<number> {
    const response = await call(instances[0]!.app, PRODUCT_STOCK, { id: productId }, 'acme/alice');
    return response.body.data.product.stock;
  }

  beforeAll(async () => {
    t = await startTestApp();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: t.config.dataDir,
      REDIS_URL: process.env.REDIS_URL,
    });
    const logger = pino({ level: 'silent' });
    const verifier = await createTokenVerifier(config.auth);
    for (let index = 0; index < 2; index++) {
      const redis = openRedis(config.redis!, logger);
      await new Promise((resolve) => redis.once('ready', resolve));
      instances.push({
        app: createApp({
          config,
          database: t.database,
          persistedOperations: t.persistedOperations,
          verifier,
          logger,
          redis,
        }),
        redis,
      });
    }
    const stale = await instances[0]!.redis.keys(KEY_PATTERN);
    if (stale.length > 0) await instances[0]!.redis.del(...stale);
    const created = await call(
      instances[0]!.app,
      CREATE_PRODUCT,
      {
        input: {
          clientMutationId: newClientMutationId('product'),
          name: 'Shared limit stock',
          price: { amount: 100, currency: 'USD' },
          stock: 500,
        },
      },
      'acme/alice',
    );
    expect(created.body.data.createProduct.userErrors).toEqual([]);
    productId = created.body.data.createProduct.product.id;
  });

  afterAll(async () => {
    for (const { redis } of instances) redis.disconnect();
    await t?.close();
  });

  it('counts calls on both instances against one limit', async () => {
    const [a, b] = [instances[0]!.app, instances[1]!.app];
    const stockBefore = await stock();
    const statuses: number[] = [];
    for (let index = 0; index < LIMIT; index++) {
      statuses.push((await createOrder(index % 2 === 0 ? a : b, 'acme/alice')).status);
    }
    expect(statuses).toEqual(Array(LIMIT).fill(200));

    for (const app of [a, b]) {
      const refused = await createOrder(app, 'acme/alice');
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
      expect(refused.body.errors[0].extensions).toMatchObject({
        code: 'RATE_LIMITED',
        limit: LIMIT,
        window: '1m',
        retryAfter,
      });
    }
    expect(await stock()).toBe(stockBefore - LIMIT);
  });

  it('allows exactly the limit when both instances are called at the same time', async () => {
    const stockBefore = await stock();
    const calls = Array.from({ length: LIMIT + 10 }, (_, index) =>
      createOrder(instances[index % 2]!.app, 'acme/bob'),
    );
    const statuses = (await Promise.all(calls)).map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(LIMIT);
    expect(statuses.filter((status) => status === 429)).toHaveLength(10);
    expect(await stock()).toBe(stockBefore - LIMIT);
  });
});
