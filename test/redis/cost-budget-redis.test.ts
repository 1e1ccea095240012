/**
 * Cost budgets in Redis: the Lua script's atomicity (concurrent takes never overdraw), the
 * refund, expiry of idle buckets, two app instances enforcing one budget, and what an
 * unreachable Redis does under REDIS_FAILURE_MODE=closed and =open.
 *
 * The tests that need a server skip without REDIS_URL (plain `npm test`); `.ci/run` starts a
 * throwaway one and sets REQUIRE_REDIS=1, which turns that skip into a failure.
 */
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createRedisBudgetStore } from '../../src/plugins/cost-budget/redis-store.ts';
import { BudgetStoreUnavailableError } from '../../src/plugins/cost-budget/store.ts';
import { openRedis } from '../../src/redis.ts';
import { PRODUCTS } from '../fixtures/operations.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const REDIS_URL = process.env.REDIS_URL;
if (process.env.REQUIRE_REDIS === '1' && !REDIS_URL) {
  throw new Error('REQUIRE_REDIS=1 but REDIS_URL is not set: the Redis tests would be skipped.');
}

/** Nothing refills during a test: the numbers are exact without a clock. */
const SLOW = { size: 100, restoreRate: 0.001 };
/** Nothing listens on port 1 of loopback: an unreachable Redis. */
const UNREACHABLE = 'redis://127.0.0.1:1';
const silent = pino({ level: 'silent' });

function connect(url: string): Redis {
  return openRedis({ url, failureMode: 'closed' }, silent);
}

/** Commands fail fast while disconnected (no offline queue), so wait for the connection. */
async function connected(url: string): Promise<Redis> {
  const redis = connect(url);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: { msg: string; level: number }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe.skipIf(!REDIS_URL)('redis budget store', () => {
  let redis: Redis;
  const prefix = `test:budget:${process.pid}:${Date.now()}:`;

  beforeAll(async () => {
    redis = await connected(REDIS_URL!);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('never overdraws a bucket under many concurrent takes', async () => {
    const store = createRedisBudgetStore({ redis, keyPrefix: prefix });
    const results = await Promise.all(
      Array.from({ length: 200 }, () => store.take('concurrent', SLOW, 7, 0)),
    );
    const accepted = results.filter((result) => result.allowed);
    // 100 points hold 14 operations of 7 (98 points); the other 186 are refused.
    expect(accepted).toHaveLength(14);
    expect(Math.floor(await store.peek('concurrent', SLOW, 0))).toBe(2);
    const refused = results.find((result) => !result.allowed);
    // 5 points short at 0.001 per second.
    expect(refused?.retryAfterSeconds).toBe(5_000);
  });

  it('refunds the difference, never above the size', async () => {
    const store = createRedisBudgetStore({ redis, keyPrefix: prefix });
    expect((await store.take('refund', SLOW, 60, 0)).allowed).toBe(true);
    expect(Math.floor(await store.refund('refund', SLOW, 25, 0))).toBe(65);
    expect(await store.refund('refund', SLOW, 500, 0)).toBe(100);
  });

  it('expires a bucket when it would be full again, and forgets a full one at once', async () => {
    const store = createRedisBudgetStore({ redis, keyPrefix: prefix });
    const spec = { size: 100, restoreRate: 10 };
    await store.take('expiry', spec, 20, 0);
    // 20 points at 10 per second: full (and gone) within 2 s.
    const ttl = await redis.pttl(`${prefix}expiry`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2_000);
    await store.refund('expiry', spec, 20, 0);
    expect(await redis.exists(`${prefix}expiry`)).toBe(0);
    expect(await store.peek('never-seen', spec, 0)).toBe(100);
  });
});

describe.skipIf(!REDIS_URL)('two app instances with one Redis', () => {
  const apps: TestApp[] = [];
  const clients: Redis[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const redis = await connected(REDIS_URL!);
      clients.push(redis);
      apps.push(
        await startTestApp({
          env: { REDIS_URL: REDIS_URL!, BUDGET_PRO: '100/0.001' },
          deps: { redis },
        }),
      );
    }
    // A previous run's bucket would still be nearly empty (it refills over a day).
    await clients[0]!.del(
      `orders:budget:${apps[0]!.ids.tenants.acme}:${apps[0]!.ids.users['acme/alice']}`,
    );
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const client of clients) client.disconnect();
  });

  it('share one budget: the accepted cost stays within the bucket', async () => {
    // 12 operations of 10 points each (9 products + the connection; all 9 are returned, so
    // nothing is refunded), sent at once, alternating between the two instances.
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        apps[i % 2]!.graphql(PRODUCTS, { first: 9 }, { as: 'acme/alice' }),
      ),
    );
    const accepted = responses.filter((response) => response.status === 200);
    const throttled = responses.filter((response) => response.status === 429);
    expect(accepted).toHaveLength(10);
    expect(throttled).toHaveLength(2);
    expect(accepted.map((r) => (r.cost as { actualQueryCost?: number })?.actualQueryCost)).toEqual(
      Array(10).fill(10),
    );
    for (const response of throttled) {
      expect(response.body.errors?.[0]?.extensions?.code).toBe('THROTTLED');
    }
    // Both instances see the same, empty bucket.
    for (const app of apps) {
      const after = await app.graphql(PRODUCTS, { first: 1 }, { as: 'acme/alice' });
      expect(after.status).toBe(429);
      expect(after.headers.get('x-ratelimit-remaining')).toBe('0');
    }
  });
});

describe('an unreachable Redis', () => {
  const opened: { app: TestApp; redis: Redis }[] = [];

  async function appWith(failureMode: 'open' | 'closed') {
    const { logger, lines } = capturingLogger();
    const redis = connect(UNREACHABLE);
    const app = await startTestApp({
      env: { REDIS_URL: UNREACHABLE, REDIS_FAILURE_MODE: failureMode, BUDGET_PRO: '2000/100' },
      deps: { redis, logger },
    });
    opened.push({ app, redis });
    return { app, lines };
  }

  afterAll(async () => {
    for (const { app, redis } of opened) {
      await app.close();
      redis.disconnect();
    }
  });

  it('fails closed by default: 503 SERVICE_UNAVAILABLE with Retry-After, nothing executed', async () => {
    const { app, lines } = await appWith('closed');
    for (let i = 0; i < 2; i++) {
      const response = await app.graphql(PRODUCTS, { first: 1 }, { as: 'acme/alice' });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(response.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(response.body.data).toBeUndefined();
      expect(response.headers.get('x-sql-statements')).toBeNull();
    }
    // Logged once for the outage, not once per request.
    expect(
      lines.filter((line) => line.msg.startsWith('cost budget store unreachable')),
    ).toHaveLength(1);
  });

  it('fails open when configured: the request runs unmetered and the outage is logged once', async () => {
    const { app, lines } = await appWith('open');
    for (let i = 0; i < 2; i++) {
      const response = await app.graphql(PRODUCTS, { first: 1 }, { as: 'acme/alice' });
      expect(response.status).toBe(200);
      expect(response.body.data?.products.nodes).toHaveLength(1);
      expect(response.cost).toEqual({ requestedQueryCost: 2, actualQueryCost: 2 });
      expect(response.headers.get('ratelimit-policy')).toBe('"cost";q=2000;w=20');
      expect(response.headers.get('x-ratelimit-remaining')).toBeNull();
    }
    const logged = lines.filter((line) => line.msg.startsWith('cost budget store unreachable'));
    expect(logged).toHaveLength(1);
    expect(logged[0]?.msg).toContain('REDIS_FAILURE_MODE=open');
  });

  it('reports the store as unavailable rather than hanging', async () => {
    const redis = connect(UNREACHABLE);
    try {
      const store = createRedisBudgetStore({ redis, keyPrefix: 'unreachable:' });
      await expect(store.take('x', SLOW, 1, 0)).rejects.toBeInstanceOf(BudgetStoreUnavailableError);
    } finally {
      redis.disconnect();
    }
  });

  it('reads REDIS_FAILURE_MODE=closed as the default', () => {
    expect(loadConfig({ REDIS_URL: UNREACHABLE }).redis?.failureMode).toBe('closed');
  });
});
