/**
 * The cost budget through HTTP, with the in-memory store: a leaky bucket per caller charged
 * the requested cost up front and refunded the difference to the actual cost, 429 THROTTLED
 * with Retry-After when short, buckets sized by the tenant's plan, anonymous callers keyed by
 * client address, and the bucket reported on every response (extensions.cost, headers).
 *
 * Small buckets make the numbers readable: pro 100 points at 10/s, free 50 at 5/s, anonymous
 * 30 at 1/s. The clock (`Date`) is frozen and moved by hand, so refill is exact, not timed.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryBudgetStore } from '../../src/plugins/cost-budget/memory-store.ts';
import { SQL_STATEMENTS_HEADER } from '../../src/plugins/tenant-transaction.ts';
import { PRODUCTS } from '../fixtures/operations.ts';
import { type DemoUserName, startTestApp, type TestApp } from '../helpers/app.ts';

const RATE_LIMIT = /* GraphQL */ `
  query RateLimit {
    rateLimit { maximumAvailable currentlyAvailable restoreRate resetAt }
  }
`;

const CREATE_PRODUCT = /* GraphQL */ `
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) { product { id } userErrors { code } }
  }
`;

const ENV = {
  BUDGET_PRO: '100/10',
  BUDGET_FREE: '50/5',
  BUDGET_ANONYMOUS: '30/1',
  TRUSTED_PROXIES: '10.0.0.1',
};

/** Each tenant has 50 products: `products(first: 60)` asks for 61 points and costs 51. */
const PRODUCT_COUNT = 50;

const anonymousStore = createMemoryBudgetStore();
let t: TestApp;
let clock: number;

function advance(seconds: number) {
  clock += seconds * 1000;
  vi.setSystemTime(clock);
}

/** A request from a TCP peer (what node:http hands Yoga as server context). */
async function fromPeer(
  peer: string,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const response = await t.app.fetch(
    'http://localhost/graphql',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    },
    // createApp declares no server context; node:http's (`req`) is what the plugin reads.
    { req: { socket: { remoteAddress: peer } } } as unknown as Record<string, never>,
  );
  return { status: response.status, headers: response.headers, body: await response.json() };
}

function rateLimitHeaders(headers: Headers) {
  return {
    policy: headers.get('ratelimit-policy'),
    rateLimit: headers.get('ratelimit'),
    limit: headers.get('x-ratelimit-limit'),
    remaining: headers.get('x-ratelimit-remaining'),
    reset: headers.get('x-ratelimit-reset'),
  };
}

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  clock = Date.now();
  vi.setSystemTime(clock);
  t = await startTestApp({ env: ENV, deps: { budgetStore: anonymousStore } });
});

afterAll(async () => {
  vi.useRealTimers();
  await t?.close();
});

describe('cost budget', () => {
  it('charges the requested cost up front and refunds the difference to the actual cost', async () => {
    const response = await t.graphql(PRODUCTS, { first: 60 }, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(response.body.data?.products.nodes).toHaveLength(PRODUCT_COUNT);
    // Requested 61 (the connection + 60 products); actual 51 (it held 50): 10 refunded.
    expect(response.cost).toEqual({
      requestedQueryCost: 61,
      actualQueryCost: 51,
      throttleStatus: { maximumAvailable: 100, currentlyAvailable: 49, restoreRate: 10 },
    });
    expect(rateLimitHeaders(response.headers)).toEqual({
      policy: '"cost";q=100;w=10',
      rateLimit: '"cost";r=49;t=6',
      limit: '100',
      remaining: '49',
      reset: '6',
    });
  });

  it('refuses an operation the bucket cannot cover with 429 THROTTLED and an exact Retry-After, executing nothing', async () => {
    await t.graphql(PRODUCTS, { first: 60 }, { as: 'acme/bob' });
    // 49 left; 71 requested: 22 short at 10 points per second → 2.2 s → Retry-After: 3.
    const refused = await t.graphql(PRODUCTS, { first: 70 }, { as: 'acme/bob' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('3');
    expect(refused.body.data).toBeUndefined();
    expect(refused.headers.get(SQL_STATEMENTS_HEADER)).toBeNull();
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('THROTTLED');
    expect(refused.body.errors?.[0]?.extensions?.retryAfterSeconds).toBe(3);
    expect(refused.cost).toEqual({
      requestedQueryCost: 71,
      actualQueryCost: 0,
      throttleStatus: { maximumAvailable: 100, currentlyAvailable: 49, restoreRate: 10 },
    });
    expect(rateLimitHeaders(refused.headers)).toMatchObject({ remaining: '49', reset: '6' });

    advance(2);
    const stillShort = await t.graphql(PRODUCTS, { first: 70 }, { as: 'acme/bob' });
    expect(stillShort.status).toBe(429);
    expect(stillShort.headers.get('retry-after')).toBe('1');

    advance(1);
    const accepted = await t.graphql(PRODUCTS, { first: 70 }, { as: 'acme/bob' });
    expect(accepted.status).toBe(200);
    // 49 + 30 refilled − 71 requested + 20 refunded = 28.
    expect(accepted.cost).toMatchObject({
      requestedQueryCost: 71,
      actualQueryCost: 51,
      throttleStatus: { currentlyAvailable: 28 },
    });
  });

  it('refuses a throttled mutation without opening its transaction', async () => {
    // Free plan, 50 points: 46 requested and spent leaves 4, less than any mutation.
    const spent = await t.graphql(PRODUCTS, { first: 45 }, { as: 'globex/dave' });
    expect(spent.cost).toMatchObject({
      throttleStatus: { currentlyAvailable: 4 },
    });
    const refused = await t.graphql(
      CREATE_PRODUCT,
      { input: { name: 'Throttled lamp', price: { amount: 100, currency: 'USD' } } },
      { as: 'globex/dave' },
    );
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('THROTTLED');
    expect(refused.body.data).toBeUndefined();
    expect(refused.headers.get(SQL_STATEMENTS_HEADER)).toBeNull();
  });

  it('sizes buckets by the tenant plan: pro for acme, free for globex', async () => {
    const pro = await t.graphql(PRODUCTS, { first: 1 }, { as: 'acme/carol' });
    const free = await t.graphql(PRODUCTS, { first: 1 }, { as: 'globex/erin' });
    expect(pro.cost).toMatchObject({
      throttleStatus: { maximumAvailable: 100, currentlyAvailable: 98, restoreRate: 10 },
    });
    expect(free.cost).toMatchObject({
      throttleStatus: { maximumAvailable: 50, currentlyAvailable: 48, restoreRate: 5 },
    });
    expect(rateLimitHeaders(free.headers)).toEqual({
      policy: '"cost";q=50;w=10',
      rateLimit: '"cost";r=48;t=1',
      limit: '50',
      remaining: '48',
      reset: '1',
    });
  });

  it('refuses an operation dearer than the whole bucket as QUERY_TOO_COMPLEX, not 429', async () => {
    const response = await t.graphql(PRODUCTS, { first: 99 }, { as: 'globex/frank' });
    expect(response.status).toBe(400);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      cost: 100,
      limit: 50,
    });
  });

  it('reports the bucket on responses rejected before execution too', async () => {
    const invalid = await t.graphql('{ products { nope } }', {}, { as: 'acme/carol' });
    expect(invalid.status).toBe(400);
    expect(rateLimitHeaders(invalid.headers).policy).toBe('"cost";q=100;w=10');
    expect(invalid.cost).toMatchObject({
      requestedQueryCost: null,
      actualQueryCost: 0,
      throttleStatus: { maximumAvailable: 100, restoreRate: 10 },
    });
    const anonymous = await t.graphql('{ ', {});
    expect(anonymous.status).toBe(400);
    expect(rateLimitHeaders(anonymous.headers).policy).toBe('"cost";q=30;w=30');
  });

  it('adds the per-field breakdown with X-Cost-Explain: true', async () => {
    const response = await t.graphql(
      PRODUCTS,
      { first: 2 },
      { as: 'acme/carol', headers: { 'X-Cost-Explain': 'true' } },
    );
    expect(response.cost).toMatchObject({
      requestedQueryCost: 3,
      actualQueryCost: 3,
      requestedBreakdown: [
        { path: 'products', coordinate: 'Query.products', cost: 1 },
        { path: 'products.nodes', coordinate: 'ProductConnection.nodes', cost: 2 },
      ],
    });
    expect(response.cost).toMatchObject({
      actualBreakdown: [
        { path: 'products', coordinate: 'Query.products', cost: 1 },
        { path: 'products.nodes', coordinate: 'ProductConnection.nodes', cost: 2 },
      ],
    });
    const plain = await t.graphql(PRODUCTS, { first: 2 }, { as: 'acme/carol' });
    expect(plain.cost).not.toHaveProperty('requestedBreakdown');
  });

  it('reads Query.rateLimit free of charge', async () => {
    const user: DemoUserName = 'globex/frank';
    await t.graphql(PRODUCTS, { first: 9 }, { as: user });
    const first = await t.graphql(RATE_LIMIT, {}, { as: user });
    const second = await t.graphql(RATE_LIMIT, {}, { as: user });
    expect(first.body.data?.rateLimit).toEqual({
      maximumAvailable: 50,
      currentlyAvailable: 40,
      restoreRate: 5,
      resetAt: new Date(clock + 2_000).toISOString(),
    });
    expect(second.body.data?.rateLimit).toEqual(first.body.data?.rateLimit);
    expect(second.cost).toEqual({
      requestedQueryCost: 0,
      actualQueryCost: 0,
      throttleStatus: { maximumAvailable: 50, currentlyAvailable: 40, restoreRate: 5 },
    });
  });
});

describe('anonymous callers', () => {
  const ANONYMOUS = { size: 30, restoreRate: 1 };

  beforeAll(async () => {
    // 10.0.0.9 has spent 25 of its 30 points (through the app's own store).
    await anonymousStore.take('anon:10.0.0.9', ANONYMOUS, 25, clock);
  });

  it('are keyed by client address', async () => {
    // products(first: 9) asks for 10 points: 5 short at 1 per second.
    const spent = await fromPeer('10.0.0.9', PRODUCTS, { first: 9 });
    expect(spent.status).toBe(429);
    expect(spent.headers.get('retry-after')).toBe('5');
    expect(rateLimitHeaders(spent.headers)).toEqual({
      policy: '"cost";q=30;w=30',
      rateLimit: '"cost";r=5;t=25',
      limit: '30',
      remaining: '5',
      reset: '25',
    });
    const other = await fromPeer('10.0.0.8', PRODUCTS, { first: 9 });
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-remaining')).toBe('30');
  });

  it('believe X-Forwarded-For only from a trusted proxy', async () => {
    const spoofed = await fromPeer(
      '10.0.0.8',
      PRODUCTS,
      { first: 9 },
      {
        'X-Forwarded-For': '10.0.0.9',
      },
    );
    expect(spoofed.status).toBe(200);
    const proxied = await fromPeer(
      '10.0.0.1',
      PRODUCTS,
      { first: 9 },
      {
        'X-Forwarded-For': '10.0.0.9',
      },
    );
    expect(proxied.status).toBe(429);
    expect(proxied.headers.get('retry-after')).toBe('5');
  });
});
