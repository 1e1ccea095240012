/**
 * Time limits (issue 3, item 7). The execution timeout is exercised for real: a 1 ms limit
 * against a large but legal query, which takes far longer than that on any machine, so the
 * operation is stopped part-way. What must hold afterwards is checked, not how long anything
 * took: the answer is TIMEOUT (HTTP 504), the request's transaction is gone (the next request
 * works; on PGlite, whose one connection a leaked transaction would hold, it would hang), and
 * a stopped mutation wrote nothing. The statement timeout needs PostgreSQL (PGlite ignores
 * it: see db/client.ts) and runs in CI's PostgreSQL pass.
 */
import { eq, type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';
import { products } from '../../src/db/schema.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const LARGE_QUERY = /* GraphQL */ `
  query Large {
    orders(first: 100) {
      nodes {
        id
        status
        customer { username orders(first: 20) { nodes { id note } } }
        items { quantity product { name description price { amount currency } } }
      }
    }
  }
`;

const SMALL_QUERY = /* GraphQL */ `
  query Small {
    viewer { user { username } }
  }
`;

const CREATE_ORDER = /* GraphQL */ `
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) {
      order { id items { product { name } } customer { username } }
      userErrors { code }
    }
  }
`;

const ORDER_COUNT = sql`select count(*)::int as count from orders`;

/** Only the timeout may stop these operations: cost and budgets are out of the way. */
const ROOMY_COST = { MAX_COST: '1000000', BUDGET_PRO: '1000000/1000000' };

describe('execution timeout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...ROOMY_COST, EXECUTION_TIMEOUT_MS: '1' } });
  });
  afterAll(() => t.close());

  it('stops an operation that runs past the limit with TIMEOUT and HTTP 504', async () => {
    const response = await t.graphql(LARGE_QUERY, {}, { as: 'acme/alice' });
    expect(response.status).toBe(504);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.message).toBe(
      'The operation did not finish within 1 ms and was stopped.',
    );
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'TIMEOUT', limit: 1 });
  });

  it('leaves no transaction open: the database answers right after', async () => {
    for (let i = 0; i < 3; i++) {
      const stopped = await t.graphql(LARGE_QUERY, {}, { as: 'acme/alice' });
      expect(stopped.body.errors?.[0]?.extensions?.code).toBe('TIMEOUT');
    }
    // PGlite has one connection: a transaction left open would make this wait forever.
    expect(await countOrders(t)).toBeGreaterThan(0);
    if (t.database.kind === 'postgres') {
      const open = await rowsOf<{ count: number }>(
        t,
        sql`select count(*)::int as count from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`,
      );
      expect(open[0]?.count).toBe(0);
    }
  });

  it('rolls back a mutation stopped by the timeout', async () => {
    const before = await countOrders(t);
    const [product] = await t.database.db
      .select({ id: products.id })
      .from(products)
      .where(eq(products.tenantId, t.ids.tenants.acme!))
      .limit(1);
    const response = await t.graphql(
      CREATE_ORDER,
      { input: { items: [{ productId: product!.id, quantity: 1 }] } },
      { as: 'acme/alice' },
    );
    expect(response.status).toBe(504);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('TIMEOUT');
    expect(await countOrders(t)).toBe(before);
  });
});

describe('execution timeout at its default', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: ROOMY_COST });
  });
  afterAll(() => t.close());

  it('is 10 seconds, which the large query finishes well within', async () => {
    expect(t.config.timeouts.executionMs).toBe(10_000);
    const response = await t.graphql(LARGE_QUERY, {}, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.orders.nodes.length).toBeGreaterThan(0);
    const small = await t.graphql(SMALL_QUERY, {}, { as: 'acme/alice' });
    expect(small.body.data).toEqual({ viewer: { user: { username: 'alice' } } });
  });
});

async function rowsOf<Row>(t: TestApp, query: SQL): Promise<Row[]> {
  const result = await t.database.db.execute(query);
  // postgres.js returns the rows; PGlite returns `{ rows }`.
  return (Array.isArray(result) ? result : (result as unknown as { rows: Row[] }).rows) as Row[];
}

async function countOrders(t: TestApp): Promise<number> {
  return (await rowsOf<{ count: number }>(t, ORDER_COUNT))[0]!.count;
}

describe.runIf(process.env.DATABASE_URL)('PostgreSQL statement_timeout', () => {
  it("is set on every connection of the app's pool from STATEMENT_TIMEOUT_MS", async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: process.env.DATABASE_URL,
      STATEMENT_TIMEOUT_MS: '50',
    });
    const database = await openDatabase(config.database);
    try {
      const shown = (await database.db.execute(sql`show statement_timeout`)) as unknown as {
        statement_timeout: string;
      }[];
      expect(shown[0]?.statement_timeout).toBe('50ms');
      const error = await database.db.execute(sql`select pg_sleep(1)`).then(
        () => undefined,
        (failure: Error) => failure,
      );
      expect((error?.cause as { code?: string } | undefined)?.code).toBe('57014');
      // The cancelled statement did not cost the connection: the pool keeps answering.
      const after = (await database.db.execute(sql`select 1 as one`)) as unknown as {
        one: number;
      }[];
      expect(after[0]?.one).toBe(1);
    } finally {
      await database.close();
    }
  });

  it('is off with STATEMENT_TIMEOUT_MS=0', async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: process.env.DATABASE_URL,
      STATEMENT_TIMEOUT_MS: '0',
    });
    const database = await openDatabase(config.database);
    try {
      const shown = (await database.db.execute(sql`show statement_timeout`)) as unknown as {
        statement_timeout: string;
      }[];
      expect(shown[0]?.statement_timeout).toBe('0');
    } finally {
      await database.close();
    }
  });
});
