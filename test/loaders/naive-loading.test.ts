/**
 * The naive reference that benchmarks compare against: `createApp({ batching: false })` loads
 * every relation one key per SQL statement (src/loaders/batching.ts), the N+1 pattern of a
 * server without DataLoader. It must answer exactly what the real server answers; only the
 * number of statements (the X-SQL-Statements header) differs. Both apps share one database.
 *
 * Every request's first statement is the transaction's set_config (tenant, RLS role, read-only);
 * see test/loaders/batching.test.ts for the batched counts.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { SQL_STATEMENTS_HEADER } from '../../src/plugins/tenant-transaction.ts';
import {
  type DemoUserName,
  type GraphQLResponse,
  splitCostReport,
  startTestApp,
  type TestApp,
} from '../helpers/app.ts';

const ORDERS_WITH_RELATIONS = /* GraphQL */ `
  query OrdersWithRelations($first: Int!) {
    orders(first: $first) {
      nodes {
        id
        customer { username }
        items { id quantity product { id name } }
      }
    }
  }
`;

const NODES = /* GraphQL */ `
  query Nodes($ids: [ID!]!) {
    nodes(ids: $ids) {
      id
      ... on Order { customer { username } }
      ... on OrderItem { quantity }
    }
  }
`;

const USERS_WITH_ORDERS = /* GraphQL */ `
  query UsersWithOrders {
    users(first: 3) {
      nodes { username tenant { slug } orders(first: 2) { nodes { id } } }
    }
  }
`;

const VIEWER = /* GraphQL */ `
  query Viewer {
    viewer {
      tenant { slug }
      user { username }
      orders(first: 2) { nodes { id } }
    }
  }
`;

interface OrderNode {
  id: string;
  customer: { username: string };
  items: { id: string; quantity: number; product: { id: string; name: string } }[];
}

type Answer = Pick<GraphQLResponse, 'body' | 'sqlStatements'>;

let t: TestApp;
let naive: App;

beforeAll(async () => {
  t = await startTestApp();
  naive = createApp({
    config: t.config,
    database: t.database,
    persistedOperations: t.persistedOperations,
    verifier: await createTokenVerifier(t.config.auth),
    logger: pino({ level: 'silent' }),
    batching: false,
  });
});
afterAll(() => t.close());

/** The same request to the real server (`t.app`) or the naive reference. */
async function ask(
  app: App,
  query: string,
  variables: Record<string, unknown>,
  as: DemoUserName = 'acme/alice',
): Promise<Answer> {
  const response = await app.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await t.token(as)}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  const { body } = splitCostReport(await response.json());
  return { body, sqlStatements: Number(response.headers.get(SQL_STATEMENTS_HEADER)) };
}

function ordersOf(answer: Answer): OrderNode[] {
  return answer.body.data!.orders.nodes as OrderNode[];
}

/** The statements a naive page should cost, counted from its data (see the test below). */
function perKeyStatements(orders: OrderNode[]) {
  return {
    customers: new Set(orders.map((order) => order.customer.username)).size,
    orders: orders.length,
    products: new Set(orders.flatMap((order) => order.items.map((item) => item.product.id))).size,
  };
}

describe('the nested orders page', () => {
  it('is the same with batching on and off', async () => {
    for (const first of [5, 20]) {
      const batched = await ask(t.app, ORDERS_WITH_RELATIONS, { first });
      const unbatched = await ask(naive, ORDERS_WITH_RELATIONS, { first });
      expect(batched.body.errors).toBeUndefined();
      expect(ordersOf(batched)).toHaveLength(first);
      expect(unbatched.body).toEqual(batched.body);
    }
  });

  it('costs 5 statements batched, for 5 orders as for 20', async () => {
    // 1 set_config, 2 orders page, 3 customers, 4 items of the orders, 5 their products.
    expect((await ask(t.app, ORDERS_WITH_RELATIONS, { first: 5 })).sqlStatements).toBe(5);
    expect((await ask(t.app, ORDERS_WITH_RELATIONS, { first: 20 })).sqlStatements).toBe(5);
  });

  it('costs a statement per order, customer and product unbatched: 23 for 5, 60 for 20', async () => {
    const five = await ask(naive, ORDERS_WITH_RELATIONS, { first: 5 });
    const twenty = await ask(naive, ORDERS_WITH_RELATIONS, { first: 20 });
    // 1 set_config and 1 orders page, as batched; then one statement per key: each distinct
    // customer (DataLoader still loads a repeated key once), the items of each order, each
    // distinct product. The demo seed is deterministic: the first 5 orders have 2 customers
    // and 14 products (2 + 2 + 5 + 14 = 23); the first 20 have all 3 customers of acme and
    // 35 products (2 + 3 + 20 + 35 = 60).
    expect(perKeyStatements(ordersOf(five))).toEqual({ customers: 2, orders: 5, products: 14 });
    expect(perKeyStatements(ordersOf(twenty))).toEqual({ customers: 3, orders: 20, products: 35 });
    expect(five.sqlStatements).toBe(23);
    expect(twenty.sqlStatements).toBe(60);
  });
});

describe('the other loaders', () => {
  let orders: OrderNode[];
  let items: (OrderNode['items'][number] & { customer: string })[];
  beforeAll(async () => {
    orders = ordersOf(await ask(t.app, ORDERS_WITH_RELATIONS, { first: 4 }));
    items = orders.flatMap((order) =>
      order.items.map((item) => ({ ...item, customer: order.customer.username })),
    );
  });

  it('load orders and items by id one per statement, with the same answer', async () => {
    const ids = [...orders.map((order) => order.id), ...items.map((item) => item.id)];
    const batched = await ask(t.app, NODES, { ids });
    const unbatched = await ask(naive, NODES, { ids });
    expect(batched.body).toEqual({
      data: {
        nodes: [
          ...orders.map((order) => ({ id: order.id, customer: order.customer })),
          ...items.map((item) => ({ id: item.id, quantity: item.quantity })),
        ],
      },
    });
    expect(unbatched.body).toEqual(batched.body);
    // Batched: 1 set_config, 2 orders by id, 3 items by id, 4 customers. Unbatched: 1
    // set_config, then one statement per order, per item and per distinct customer.
    expect(items).toHaveLength(11);
    expect(batched.sqlStatements).toBe(4);
    expect(unbatched.sqlStatements).toBe(1 + 4 + 11 + perKeyStatements(orders).customers);
  });

  it("hide other customers' orders and items from a viewer in both modes", async () => {
    const ids = [...orders.map((order) => order.id), ...items.map((item) => item.id)];
    const batched = await ask(t.app, NODES, { ids }, 'acme/carol');
    const unbatched = await ask(naive, NODES, { ids }, 'acme/carol');
    // Carol (a viewer) sees her own orders and their items; everyone else's are null.
    const own = (customer: string) => customer === 'carol';
    expect(orders.some((order) => own(order.customer.username))).toBe(true);
    expect(orders.every((order) => own(order.customer.username))).toBe(false);
    expect(batched.body).toEqual({
      data: {
        nodes: [
          ...orders.map((order) =>
            own(order.customer.username) ? { id: order.id, customer: order.customer } : null,
          ),
          ...items.map((item) =>
            own(item.customer) ? { id: item.id, quantity: item.quantity } : null,
          ),
        ],
      },
    });
    expect(unbatched.body).toEqual(batched.body);
  });

  it("answer null for another tenant's ids in both modes", async () => {
    const ids = orders.map((order) => order.id);
    const batched = await ask(t.app, NODES, { ids }, 'globex/dave');
    const unbatched = await ask(naive, NODES, { ids }, 'globex/dave');
    expect(batched.body).toEqual({ data: { nodes: [null, null, null, null] } });
    expect(unbatched.body).toEqual(batched.body);
  });

  it("load users' order pages one user per statement, with the same answer", async () => {
    const batched = await ask(t.app, USERS_WITH_ORDERS, {});
    const unbatched = await ask(naive, USERS_WITH_ORDERS, {});
    expect(batched.body.errors).toBeUndefined();
    const users = batched.body.data!.users.nodes as { orders: { nodes: unknown[] } }[];
    expect(users.map((user) => user.orders.nodes.length)).toEqual([2, 2, 2]);
    expect(unbatched.body).toEqual(batched.body);
    // Batched: 1 set_config, 2 users page, 3 their tenant, 4 the orders of all 3 users (one
    // window-function query). Unbatched: the same, but one orders statement per user (the
    // tenant is one key either way).
    expect(batched.sqlStatements).toBe(4);
    expect(unbatched.sqlStatements).toBe(3 + 3);
  });

  it("load the viewer's user, tenant and orders the same way: one key each", async () => {
    const batched = await ask(t.app, VIEWER, {});
    const unbatched = await ask(naive, VIEWER, {});
    expect(batched.body.data!.viewer.user).toEqual({ username: 'alice' });
    expect(batched.body.data!.viewer.tenant).toEqual({ slug: 'acme' });
    expect(batched.body.data!.viewer.orders.nodes).toHaveLength(2);
    expect(unbatched.body).toEqual(batched.body);
    // 1 set_config, 2 tenant, 3 user, 4 the viewer's orders: batching has nothing to merge.
    expect(batched.sqlStatements).toBe(4);
    expect(unbatched.sqlStatements).toBe(4);
  });
});
