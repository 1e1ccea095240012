/**
 * Static cost analysis through HTTP: the cost is computed with each request's real variables
 * before execution, and an operation over MAX_COST is refused with QUERY_TOO_COMPLEX, HTTP
 * 400, nothing executed (no transaction, so no X-SQL-Statements header and no data).
 *
 * MAX_COST is 50 here so small, exact documents sit on either side of it; the budgets are
 * large so that the cost budget never answers instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQL_STATEMENTS_HEADER } from '../../src/plugins/tenant-transaction.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const MAX_COST = 50;

// products 1 + first × (Product 1): first 49 → 50, first 50 → 51.
const PRODUCTS_PAGE = /* GraphQL */ `
  query ProductsPage($first: Int!) {
    products(first: $first) { nodes { name } }
  }
`;

// No first: the assumed page size 20 → 21; pageInfo is not multiplied: + 1 = 22.
const PRODUCTS_DEFAULT = /* GraphQL */ `
  query ProductsDefault {
    products { nodes { name } pageInfo { hasNextPage } }
  }
`;

// createOrder 1 + 10, order 1, customer 1, orders 1 + n × 1, userErrors 1 = 15 + n:
// n 35 → 50, n 36 → 51 (without the mutation's weight it would be 41).
const PLACE_ORDER = /* GraphQL */ `
  mutation PlaceOrder($n: Int!, $key: ID!) {
    createOrder(input: { clientMutationId: $key, items: [] }) {
      order { customer { orders(first: $n) { nodes { id } } } }
      userErrors { message }
    }
  }
`;

// Each fragment spreads the next four times: 4^8 selections, past what is evaluated.
const FRAGMENT_BOMB = `query Bomb { ...F0 } ${Array.from({ length: 8 }, (_, i) =>
  i === 7
    ? `fragment F${i} on Query { __typename }`
    : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} ...F${i + 1} ...F${i + 1} }`,
).join(' ')}`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    env: {
      MAX_COST: String(MAX_COST),
      BUDGET_PRO: '1000000/100000',
      BUDGET_FREE: '1000000/100000',
      BUDGET_ANONYMOUS: '1000000/100000',
    },
  });
});
afterAll(() => t.close());

describe('the cost limit', () => {
  it('runs an operation that costs exactly the maximum', async () => {
    const response = await t.graphql(PRODUCTS_PAGE, { first: 49 }, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.products.nodes.length).toBeGreaterThan(0);
    expect(response.cost).toMatchObject({ requestedQueryCost: 50 });
  });

  it('refuses an operation one point over the maximum, before executing anything', async () => {
    const response = await t.graphql(PRODUCTS_PAGE, { first: 50 }, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(response.headers.get(SQL_STATEMENTS_HEADER)).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    const [error] = response.body.errors ?? [];
    expect(error?.message).toBe(
      'The operation costs 51 points; the maximum is 50. Ask for fewer items (first/last) or fewer fields.',
    );
    expect(error?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: 51, limit: 50 });
    expect(error?.extensions?.http).toBeUndefined();
  });

  it('charges an unsliced connection its assumed page size', async () => {
    const response = await t.graphql(PRODUCTS_DEFAULT, {}, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(response.cost).toMatchObject({ requestedQueryCost: 22 });
  });

  it('refuses anonymous callers the same way', async () => {
    const response = await t.graphql(PRODUCTS_PAGE, { first: 60 });
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      cost: 61,
      limit: 50,
    });
  });
});

describe('real variables on every request', () => {
  it('refuses a large first in a document whose small first was accepted (and cached) before', async () => {
    // Yoga caches parsing and validation per document: a cost check there would have run once,
    // for first: 5, and let every later first through.
    const small = await t.graphql(PRODUCTS_PAGE, { first: 5 }, { as: 'acme/bob' });
    expect(small.status).toBe(200);
    expect(small.body.data?.products.nodes).toHaveLength(5);

    const large = await t.graphql(PRODUCTS_PAGE, { first: 100 }, { as: 'acme/bob' });
    expect(large.status).toBe(400);
    expect(large.body.data).toBeUndefined();
    expect(large.headers.get(SQL_STATEMENTS_HEADER)).toBeNull();
    expect(large.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      cost: 101,
      limit: 50,
    });

    const smallAgain = await t.graphql(PRODUCTS_PAGE, { first: 5 }, { as: 'acme/bob' });
    expect(smallAgain.status).toBe(200);
  });

  it('leaves variables that do not coerce to execution, which reports them', async () => {
    const response = await t.graphql(PRODUCTS_PAGE, { first: 'ten' }, { as: 'acme/bob' });
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.message).toContain('$first');
  });
});

describe('mutations', () => {
  it('adds the mutation weight: 15 + n points, allowed at 50', async () => {
    const response = await t.graphql(
      PLACE_ORDER,
      { n: 35, key: newClientMutationId('order') },
      { as: 'acme/alice' },
    );
    expect(response.status).toBe(200);
    expect(response.body.data?.createOrder.userErrors.length).toBe(1);
    expect(response.cost).toMatchObject({ requestedQueryCost: 50 });
  });

  it('refuses the mutation at 51 points without running it', async () => {
    const response = await t.graphql(
      PLACE_ORDER,
      { n: 36, key: newClientMutationId('order') },
      { as: 'acme/alice' },
    );
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(response.headers.get(SQL_STATEMENTS_HEADER)).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      cost: 51,
      limit: 50,
    });
  });
});

describe('fragments', () => {
  it('refuses fragments that expand past what the cost model evaluates', async () => {
    const response = await t.graphql(FRAGMENT_BOMB, {}, { as: 'acme/bob' });
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      cost: null,
      limit: 50,
    });
  });
});

describe('X-Cost-Explain', () => {
  it('adds the per-field breakdown of the requested and the actual cost', async () => {
    const response = await t.graphql(
      PRODUCTS_PAGE,
      { first: 3 },
      { as: 'acme/bob', headers: { 'X-Cost-Explain': 'true' } },
    );
    expect(response.status).toBe(200);
    expect(response.cost).toMatchObject({
      requestedQueryCost: 4,
      actualQueryCost: 4,
      requestedBreakdown: [
        { path: 'products', coordinate: 'Query.products', cost: 1 },
        { path: 'products.nodes', coordinate: 'ProductConnection.nodes', cost: 3 },
      ],
      actualBreakdown: [
        { path: 'products', coordinate: 'Query.products', cost: 1 },
        { path: 'products.nodes', coordinate: 'ProductConnection.nodes', cost: 3 },
      ],
    });
  });

  it('leaves the breakdown out without the header', async () => {
    const response = await t.graphql(PRODUCTS_PAGE, { first: 3 }, { as: 'acme/bob' });
    const cost = response.cost as Record<string, unknown>;
    expect(cost.requestedQueryCost).toBe(4);
    expect(cost).not.toHaveProperty('requestedBreakdown');
  });
});
