/**
 * DataLoader batching, pinned by the number of SQL statements a request sends (the
 * X-SQL-Statements header). Every request runs in one transaction whose first statement is
 * always the same:
 *   1. `select set_config('app.tenant_id', …), set_config('role', …),
 *      set_config('transaction_read_only', …)` (tenant, RLS role, read-only for queries)
 * BEGIN and COMMIT are sent by the driver itself and are not counted. What follows is one
 * statement per level of the query, however many rows each level has: a statement count that
 * grows with `first` would mean one query per row (N+1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_ORDER } from '../fixtures/operations.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const ORDERS_WITH_RELATIONS = /* GraphQL */ `
  query OrdersWithRelations($first: Int!) {
    orders(first: $first) {
      nodes {
        id
        customer { username }
        items { product { name } }
      }
    }
  }
`;

const USERS_WITH_ORDERS = /* GraphQL */ `
  query UsersWithOrders($first: Int!) {
    users(first: $first) {
      nodes {
        id
        orders(first: 3) {
          nodes {
            id
            items { product { name } }
          }
        }
      }
    }
  }
`;

const ORDERS_OF_CUSTOMER = /* GraphQL */ `
  query OrdersOfCustomer($customerId: ID!, $first: Int!) {
    orders(first: $first, filter: { customerId: $customerId }) {
      nodes {
        id
        items { product { name } }
      }
    }
  }
`;

const VIEWER_ORDERS = /* GraphQL */ `
  query ViewerOrders {
    viewer {
      orders { nodes { id } }
    }
  }
`;

const NODE_ORDER = /* GraphQL */ `
  query NodeOrder($id: ID!) {
    node(id: $id) {
      id
      ... on Order {
        customer { username }
        items { product { name } }
      }
    }
  }
`;

const NODES_ORDERS = /* GraphQL */ `
  query NodesOrders($ids: [ID!]!) {
    nodes(ids: $ids) {
      id
      ... on Order {
        customer { username }
        items { product { name } }
      }
    }
  }
`;

const NODE_ORDER_WITH_CUSTOMER_ORDERS = /* GraphQL */ `
  query NodeOrderWithCustomerOrders($id: ID!) {
    node(id: $id) {
      id
      ... on Order {
        customer {
          username
          orders(first: 3) {
            nodes {
              id
              items { product { name } }
            }
          }
        }
      }
    }
  }
`;

const PRODUCTS = /* GraphQL */ `
  query Products {
    products(first: 100) {
      nodes { id stock price { currency } }
    }
  }
`;

interface OrderNode {
  id: string;
  customer: { username: string };
  items: { product: { name: string } }[];
}

/** Orders the demo seed gives each tenant; the tests add more so that a page of 50 is full. */
const SEEDED_ORDERS = 40;
const EXTRA_ORDERS = 15;

let t: TestApp;
beforeAll(async () => {
  // These pages are large on purpose (up to 100 orders with their items: a static cost far
  // over the default MAX_COST and budgets); what is measured here is SQL statements, not cost.
  t = await startTestApp({
    env: { MAX_COST: '1000000', BUDGET_PRO: '1000000/1000000', BUDGET_FREE: '1000000/1000000' },
  });
  // Bob places 15 two-line orders, so acme has 55 orders and `first: 50` returns 50 of them.
  const products = await t.graphql(PRODUCTS, {}, { as: 'acme/alice' });
  const usd = (
    products.body.data!.products.nodes as {
      id: string;
      stock: number;
      price: { currency: string };
    }[]
  ).filter((product) => product.price.currency === 'USD' && product.stock >= EXTRA_ORDERS);
  for (let i = 0; i < EXTRA_ORDERS; i++) {
    const created = await t.graphql(
      CREATE_ORDER,
      {
        input: {
          clientMutationId: newClientMutationId('order'),
          items: [
            { productId: usd[i % usd.length]!.id, quantity: 1 },
            { productId: usd[(i + 1) % usd.length]!.id, quantity: 1 },
          ],
        },
      },
      { as: 'acme/bob' },
    );
    expect(created.body.data!.createOrder.userErrors).toEqual([]);
  }
});
afterAll(() => t.close());

describe('orders with customers, items and products', () => {
  it('costs 5 statements for a page of 50 orders', async () => {
    const response = await t.graphql(ORDERS_WITH_RELATIONS, { first: 50 }, { as: 'acme/alice' });
    expect(response.body.errors).toBeUndefined();
    const nodes = response.body.data!.orders.nodes as OrderNode[];
    expect(nodes).toHaveLength(50);
    // 50 orders of several customers with well over 50 items between them: one query per
    // row at any level would show up as dozens of statements.
    expect(new Set(nodes.map((order) => order.customer.username)).size).toBeGreaterThan(1);
    expect(nodes.flatMap((order) => order.items).length).toBeGreaterThan(50);
    // 1 set_config, 2 orders page, 3 customers (users by id),
    // 4 items of the 50 orders, 5 products of those items.
    expect(response.sqlStatements).toBe(5);
  });

  it('costs the same 5 statements for a page of 5', async () => {
    const fifty = await t.graphql(ORDERS_WITH_RELATIONS, { first: 50 }, { as: 'acme/alice' });
    const five = await t.graphql(ORDERS_WITH_RELATIONS, { first: 5 }, { as: 'acme/alice' });
    expect(five.body.data!.orders.nodes).toEqual(fifty.body.data!.orders.nodes.slice(0, 5));
    expect(five.sqlStatements).toBe(5);
    expect(fifty.sqlStatements).toBe(five.sqlStatements);
  });

  it('costs 5 statements for every page size up to the maximum of 100', async () => {
    const all = await t.graphql(ORDERS_WITH_RELATIONS, { first: 100 }, { as: 'acme/alice' });
    expect(all.body.data!.orders.nodes).toHaveLength(SEEDED_ORDERS + EXTRA_ORDERS);
    expect(all.sqlStatements).toBe(5);
  });

  it('does not share loaders between requests: a repeated request costs the same', async () => {
    const first = await t.graphql(ORDERS_WITH_RELATIONS, { first: 20 }, { as: 'acme/alice' });
    const second = await t.graphql(ORDERS_WITH_RELATIONS, { first: 20 }, { as: 'acme/alice' });
    expect(second.body).toEqual(first.body);
    expect(first.sqlStatements).toBe(5);
    expect(second.sqlStatements).toBe(5);
  });
});

describe('users with their orders (User.orders, loaded by path)', () => {
  it("loads every user's first 3 orders in one statement: 5 in all", async () => {
    const response = await t.graphql(USERS_WITH_ORDERS, { first: 10 }, { as: 'acme/alice' });
    expect(response.body.errors).toBeUndefined();
    const users = response.body.data!.users.nodes as {
      id: string;
      orders: { nodes: OrderNode[] };
    }[];
    expect(users.map((user) => user.id)).toEqual([
      t.ids.users['acme/alice'],
      t.ids.users['acme/bob'],
      t.ids.users['acme/carol'],
    ]);
    // 1 set_config, 2 users page, 3 the orders of all 3 users (one
    // window-function query), 4 items of those orders, 5 products of those items.
    expect(response.sqlStatements).toBe(5);

    // Each user's batched page is exactly that user's own first page of orders.
    for (const user of users) {
      expect(user.orders.nodes).toHaveLength(3);
      const own = await t.graphql(
        ORDERS_OF_CUSTOMER,
        { customerId: user.id, first: 3 },
        { as: 'acme/alice' },
      );
      expect(user.orders.nodes).toEqual(own.body.data!.orders.nodes);
    }
  });

  it('costs the same 5 statements for one user', async () => {
    const response = await t.graphql(USERS_WITH_ORDERS, { first: 1 }, { as: 'acme/alice' });
    expect(response.body.data!.users.nodes).toHaveLength(1);
    expect(response.sqlStatements).toBe(5);
  });
});

describe('viewer orders', () => {
  it("costs 2 statements and lists the caller's own orders", async () => {
    const response = await t.graphql(VIEWER_ORDERS, {}, { as: 'acme/alice' });
    const own = await t.graphql(
      ORDERS_OF_CUSTOMER,
      { customerId: t.ids.users['acme/alice'], first: 20 },
      { as: 'acme/alice' },
    );
    const ownIds = (own.body.data!.orders.nodes as OrderNode[]).map((order) => ({ id: order.id }));
    expect(ownIds.length).toBeGreaterThan(0);
    expect(response.body).toEqual({ data: { viewer: { orders: { nodes: ownIds } } } });
    // 1 set_config, 2 the viewer's orders page.
    expect(response.sqlStatements).toBe(2);
  });
});

describe('node and nodes', () => {
  let orderIds: string[];
  beforeAll(async () => {
    const response = await t.graphql(ORDERS_WITH_RELATIONS, { first: 20 }, { as: 'acme/alice' });
    orderIds = (response.body.data!.orders.nodes as OrderNode[]).map((order) => order.id);
  });

  it('costs 5 statements for one order with its customer, items and products', async () => {
    const response = await t.graphql(NODE_ORDER, { id: orderIds[0] }, { as: 'acme/alice' });
    expect(response.body.data!.node.id).toBe(orderIds[0]);
    // 1 set_config, 2 the order by id, 3 its customer, 4 its items,
    // 5 their products.
    expect(response.sqlStatements).toBe(5);
  });

  it('costs the same 5 statements for 20 orders as for 2', async () => {
    const many = await t.graphql(NODES_ORDERS, { ids: orderIds }, { as: 'acme/alice' });
    const two = await t.graphql(NODES_ORDERS, { ids: orderIds.slice(0, 2) }, { as: 'acme/alice' });
    expect((many.body.data!.nodes as OrderNode[]).map((node) => node.id)).toEqual(orderIds);
    expect(two.body.data!.nodes).toEqual(many.body.data!.nodes.slice(0, 2));
    // 1 set_config, 2 the orders by id, 3 customers, 4 items, 5 products.
    expect(many.sqlStatements).toBe(5);
    expect(two.sqlStatements).toBe(5);
  });

  it("costs 6 statements for an order, its customer, and the customer's orders", async () => {
    const response = await t.graphql(
      NODE_ORDER_WITH_CUSTOMER_ORDERS,
      { id: orderIds[0] },
      { as: 'acme/alice' },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data!.node.customer.orders.nodes).toHaveLength(3);
    // 1 set_config, 2 the order by id, 3 its customer, 4 the customer's
    // orders page, 5 items of those orders, 6 their products.
    expect(response.sqlStatements).toBe(6);
  });
});
