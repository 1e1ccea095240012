/**
 * The cost model as a pure function of schema, document and variables. Every expected number
 * is derived by hand in a comment from DESIGN.md's rules and the @listSize/@cost annotations
 * in schema.graphql: objects 1, scalars 0, mutations +10, connections sized by first/last
 * (default 20) on edges/nodes only, Order.items assumed 50, unions/interfaces the maximum.
 */
import { type DocumentNode, GraphQLError, isObjectType, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { actualCostOf } from '../../src/cost/actual-cost.ts';
import {
  MAX_EVALUATED_SELECTIONS,
  requestedCostOf,
  TooManySelectionsError,
} from '../../src/cost/static-cost.ts';
import { schema } from '../../src/schema/index.ts';

function cost(query: string, variables?: Record<string, unknown>): number {
  return requestedCostOf(schema, parse(query), { variables }).cost;
}

function breakdownSum(document: DocumentNode, variables?: Record<string, unknown>): number {
  const { breakdown = [] } = requestedCostOf(schema, document, { variables, explain: true });
  return breakdown.reduce((sum, line) => sum + line.cost, 0);
}

// orders: 1 (the connection). nodes: sized by first → 10 × (Order 1 + items).
// items: @listSize(assumedSize: 10) → 10 × (OrderItem 1 + product 1 + name 0) = 20.
// nodes = 10 × (1 + 20) = 210. Total 1 + 210 = 211.
const NESTED = /* GraphQL */ `
  query Nested {
    orders(first: 10) { nodes { items { product { name } } } }
  }
`;

// products 1 + pageInfo 1 (not multiplied) + edges 10 × (edge 1 + node 1 + price 1) = 32.
const PAGE_INFO = /* GraphQL */ `
  query PageInfo {
    products(first: 10) {
      pageInfo { hasNextPage endCursor }
      edges { cursor node { name price { amount } } }
    }
  }
`;

// No first/last: assumedSize 20 → 1 + 20 × 1 = 21.
const UNSLICED = /* GraphQL */ `
  query Unsliced {
    products { nodes { name } }
  }
`;

const BY_VARIABLE = /* GraphQL */ `
  query ByVariable($n: Int) {
    products(first: $n) { nodes { name } }
  }
`;

// a: 1 + 2 × 1 = 3; b: 1 + 3 × 1 = 4; c (same field and size as a, another alias): 3. = 10.
const ALIASES = /* GraphQL */ `
  query Aliases {
    a: products(first: 2) { nodes { id } }
    b: products(first: 3) { nodes { id } }
    c: products(first: 2) { nodes { id } }
  }
`;

// node 1 + the dearest member: Product: price 1 + costPrice 1 = 2; Order: customer 1 +
// tenant 1 + items 10 × 1 = 12; User: 0. Max 12 → 13 (a sum would be 1 + 2 + 12 = 15).
const NODE_MEMBERS = /* GraphQL */ `
  query NodeMembers {
    node(id: "prod_01h455vb4pex5vsknk084sn02q") {
      id
      ... on Product { price { amount } costPrice { amount } }
      ... on Order { customer { tenant { name } } items { quantity } }
      ... on User { username }
    }
  }
`;

// The same with named fragments, one of them on the interface itself (applies to all):
// Node fragment: 0 (id). Product: price 1 = 1; Order: customer 1 = 1; max 1 → node 1 + 1 = 2.
const NODE_FRAGMENTS = /* GraphQL */ `
  query NodeFragments {
    node(id: "prod_01h455vb4pex5vsknk084sn02q") { ...AnyNode ...ProductPart ...OrderPart }
  }
  fragment AnyNode on Node { id }
  fragment ProductPart on Product { price { amount } }
  fragment OrderPart on Order { customer { username } }
`;

// nodes(ids:) is sized by the length of ids: 3 × (Node 1 + max(Product: price 1, else 0)) = 6.
const NODES = /* GraphQL */ `
  query Nodes {
    nodes(ids: ["prod_01h455vb4pex5vsknk084sn02q", "ord_01h455vb4pex5vsknk084sn02q", "usr_01h455vb4pex5vsknk084sn02q"]) {
      id
      ... on Product { price { amount } }
    }
  }
`;

// A fragment spread under two connections of different sizes counts, in both, with the
// larger size (its fields are the same AST nodes): (1 + 5) + (1 + 5) = 12.
const SHARED_FRAGMENT = /* GraphQL */ `
  query SharedFragment {
    a: products(first: 2) { ...Names }
    b: products(first: 5) { ...Names }
  }
  fragment Names on ProductConnection { nodes { name } }
`;

// createOrder: payload 1 + @cost 10; order 1 + total 1; userErrors (unannotated list) 1 = 14.
const MUTATION = /* GraphQL */ `
  mutation Place {
    createOrder(input: { items: [{ productId: "prod_01h455vb4pex5vsknk084sn02q", quantity: 1 }] }) {
      order { id total { amount } }
      userErrors { message }
    }
  }
`;

// viewer 1 + orders 1 + nodes 4 × (1 + customer 1 + orders 1 + 3 × 1) = 4 × 6 = 24 → 26.
// (customer.orders is a nested connection: 1 + last 3 × 1.)
const NESTED_CONNECTIONS = /* GraphQL */ `
  query NestedConnections($first: Int!) {
    viewer {
      orders(first: $first) {
        nodes { customer { orders(last: 3) { nodes { id } } } }
      }
    }
  }
`;

describe('static cost', () => {
  it('multiplies nested lists: orders(first: 10) { nodes { items { product } } } costs 211', () => {
    expect(cost(NESTED)).toBe(211);
  });

  it('multiplies nested connections, each by its own first/last', () => {
    expect(cost(NESTED_CONNECTIONS, { first: 4 })).toBe(26);
  });

  it('multiplies only the sized fields (edges, nodes), not pageInfo', () => {
    expect(cost(PAGE_INFO)).toBe(32);
  });

  it('assumes the default page size of 20 when neither first nor last is given', () => {
    expect(cost(UNSLICED)).toBe(21);
  });

  it('charges the server default page size when it is larger than the assumed size', () => {
    const { cost: charged } = requestedCostOf(schema, parse(UNSLICED), { defaultPageSize: 50 });
    expect(charged).toBe(51);
  });

  it('sizes a connection by the value of a first variable', () => {
    expect(cost(BY_VARIABLE, { n: 5 })).toBe(6);
    expect(cost(BY_VARIABLE, { n: 100 })).toBe(101);
    expect(cost(BY_VARIABLE, {})).toBe(21);
  });

  it('uses last like first, and 0 for first: 0', () => {
    expect(cost('{ products(last: 7) { nodes { id } } }')).toBe(8);
    expect(cost('{ products(first: 0) { nodes { id } } }')).toBe(1);
  });

  it('counts every alias separately', () => {
    expect(cost(ALIASES)).toBe(10);
  });

  it('charges an interface the maximum of its members, not the sum', () => {
    expect(cost(NODE_MEMBERS)).toBe(13);
  });

  it('takes the maximum through named fragments too', () => {
    expect(cost(NODE_FRAGMENTS)).toBe(2);
  });

  it('sizes nodes(ids:) by the number of ids', () => {
    expect(cost(NODES)).toBe(6);
  });

  it('counts a fragment shared by differently sized connections at the larger size', () => {
    expect(cost(SHARED_FRAGMENT)).toBe(12);
  });

  it('adds 10 to a mutation', () => {
    expect(cost(MUTATION)).toBe(14);
  });

  it('charges a type with @cost its weight instead of the default object cost', () => {
    // RateLimit carries @cost(weight: "0"): reading the budget is free.
    expect(cost('{ rateLimit { currentlyAvailable } }')).toBe(0);
  });

  it('costs nothing for a field left out by @skip or @include', () => {
    expect(
      cost('query($no: Boolean!) { products(first: 50) @include(if: $no) { nodes { id } } }', {
        no: false,
      }),
    ).toBe(0);
  });

  it('refuses an operation whose fragments expand past the evaluation bound', () => {
    // Each fragment spreads the next one four times: 4^8 = 65,536 selections.
    const levels = Array.from({ length: 8 }, (_, i) =>
      i === 7
        ? `fragment F${i} on Query { __typename }`
        : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} ...F${i + 1} ...F${i + 1} }`,
    );
    const document = parse(`query Bomb { ...F0 } ${levels.join(' ')}`);
    expect(4 ** 8).toBeGreaterThan(MAX_EVALUATED_SELECTIONS);
    expect(() => requestedCostOf(schema, document)).toThrow(TooManySelectionsError);
  });

  it('names an unknown operation', () => {
    expect(() => requestedCostOf(schema, parse(NESTED), { operationName: 'Nope' })).toThrow(
      'Unknown operation named "Nope".',
    );
  });
});

describe('every mutation carries the mutation weight', () => {
  it('has @cost(weight: "10") on each Mutation field', () => {
    const mutation = schema.getMutationType();
    expect(mutation && isObjectType(mutation)).toBe(true);
    const missing = Object.values(mutation?.getFields() ?? {})
      .filter((field) => {
        const directives = field.extensions.directives as { cost?: { weight: string } };
        return directives?.cost?.weight !== '10';
      })
      .map((field) => field.name);
    expect(missing).toEqual([]);
  });
});

describe('breakdown', () => {
  it('gives each field its share, summing to the cost', () => {
    const { breakdown } = requestedCostOf(schema, parse(NESTED), { explain: true });
    expect(breakdown).toEqual([
      { path: 'orders', coordinate: 'Query.orders', cost: 1 },
      { path: 'orders.nodes', coordinate: 'OrderConnection.nodes', cost: 10 },
      { path: 'orders.nodes.items', coordinate: 'Order.items', cost: 100 },
      { path: 'orders.nodes.items.product', coordinate: 'OrderItem.product', cost: 100 },
    ]);
  });

  it('keeps only the dearest member of an interface', () => {
    const { breakdown } = requestedCostOf(schema, parse(NODE_MEMBERS), { explain: true });
    expect(breakdown).toEqual([
      { path: 'node', coordinate: 'Query.node', cost: 1 },
      { path: 'node.customer', coordinate: 'Order.customer', cost: 1 },
      { path: 'node.customer.tenant', coordinate: 'User.tenant', cost: 1 },
      { path: 'node.items', coordinate: 'Order.items', cost: 10 },
    ]);
  });

  it.each([
    ['nested lists', NESTED, undefined],
    ['nested connections', NESTED_CONNECTIONS, { first: 4 }],
    ['pageInfo', PAGE_INFO, undefined],
    ['aliases', ALIASES, undefined],
    ['interface members', NODE_MEMBERS, undefined],
    ['named fragments', NODE_FRAGMENTS, undefined],
    ['nodes', NODES, undefined],
    ['a shared fragment', SHARED_FRAGMENT, undefined],
    ['a mutation', MUTATION, undefined],
  ])('agrees with graphql-query-complexity for %s', (_name, query, variables) => {
    const document = parse(query);
    expect(breakdownSum(document, variables)).toBe(
      requestedCostOf(schema, document, { variables }).cost,
    );
  });
});

describe('actual cost', () => {
  it('counts the objects returned and the real length of lists', () => {
    // orders 1 + 2 nodes × (1 + items) where the first order has 3 items with a product each
    // (3 × 2 = 6) and the second 1 item whose product is null (1 × 1): 1 + (1 + 6) + (1 + 1) = 10.
    const data = {
      orders: {
        nodes: [
          {
            items: [
              { product: { name: 'a' } },
              { product: { name: 'b' } },
              { product: { name: 'c' } },
            ],
          },
          { items: [{ product: null }] },
        ],
      },
    };
    const actual = actualCostOf(schema, parse(NESTED), undefined, {}, { data }, { explain: true });
    expect(actual.cost).toBe(10);
    expect(actual.breakdown).toEqual([
      { path: 'orders', coordinate: 'Query.orders', cost: 1 },
      { path: 'orders.nodes', coordinate: 'OrderConnection.nodes', cost: 2 },
      { path: 'orders.nodes.items', coordinate: 'Order.items', cost: 4 },
      { path: 'orders.nodes.items.product', coordinate: 'OrderItem.product', cost: 3 },
    ]);
  });

  it('equals the static cost when every list is as long as assumed', () => {
    // products(first: 10): 10 edges, each with a node and a price; pageInfo once → 32.
    const edge = { cursor: 'c', node: { name: 'n', price: { amount: 1 } } };
    const data = {
      products: {
        pageInfo: { hasNextPage: true, endCursor: 'c' },
        edges: Array.from({ length: 10 }, () => edge),
      },
    };
    expect(actualCostOf(schema, parse(PAGE_INFO), null, null, { data }).cost).toBe(32);
  });

  it('counts the member of an interface that was returned', () => {
    // An Order came back: node 1 + customer 1 + tenant 1 + 2 items × 1 = 5.
    const data = {
      node: {
        id: 'ord_1',
        customer: { tenant: { name: 'Acme' } },
        items: [{ quantity: 1 }, { quantity: 2 }],
      },
    };
    expect(actualCostOf(schema, parse(NODE_MEMBERS), null, null, { data }).cost).toBe(5);
  });

  it('charges the mutation weight when the mutation ran', () => {
    // createOrder 1 + 10, order 1, total 1, no userErrors → 13.
    const data = { createOrder: { order: { id: 'ord_1', total: { amount: 5 } }, userErrors: [] } };
    expect(actualCostOf(schema, parse(MUTATION), null, null, { data }).cost).toBe(13);
  });

  it('is 0 when nothing was returned', () => {
    expect(actualCostOf(schema, parse(NESTED), null, null, { errors: [] }).cost).toBe(0);
    expect(actualCostOf(schema, parse(NESTED), null, null, { data: { orders: null } }).cost).toBe(
      0,
    );
  });
});

// products 1 + 3 × 1 = 4; orders (when included) 1 + 2 × 1 = 3.
const PAGED_AND_CONDITIONAL = /* GraphQL */ `
  query PagedAndConditional($after: String, $withOrders: Boolean!) {
    products(first: 3, after: $after) { nodes { id } }
    orders(first: 2) @include(if: $withOrders) { nodes { id } }
  }
`;

const SKIPPABLE = /* GraphQL */ `
  query Skippable($skip: Boolean!) {
    orders(first: 10) @skip(if: $skip) { nodes { items { product { name } } } }
  }
`;

describe('one document priced again and again (as a persisted operation is)', () => {
  it('prices each value of a list-size variable by that value', () => {
    const document = parse(BY_VARIABLE);
    const priced = (variables: Record<string, unknown>) =>
      requestedCostOf(schema, document, { variables }).cost;
    // 1 + n × 1; without n, the assumed 20.
    expect(priced({ n: 5 })).toBe(6);
    expect(priced({ n: 10 })).toBe(11);
    expect(priced({ n: 5 })).toBe(6);
    expect(priced({})).toBe(21);
    expect(priced({ n: null })).toBe(21);
  });

  it('follows @include variables, and a cursor changes nothing', () => {
    const document = parse(PAGED_AND_CONDITIONAL);
    const priced = (variables: Record<string, unknown>) =>
      requestedCostOf(schema, document, { variables }).cost;
    expect(priced({ withOrders: true })).toBe(7);
    expect(priced({ withOrders: false })).toBe(4);
    expect(priced({ withOrders: true, after: 'WyJhIl0' })).toBe(7);
    expect(priced({ withOrders: false, after: 'WyJiIl0' })).toBe(4);
  });

  it('still refuses variables that do not coerce once the document has a price', () => {
    const document = parse(BY_VARIABLE);
    expect(requestedCostOf(schema, document, { variables: { n: 5 } }).cost).toBe(6);
    expect(() => requestedCostOf(schema, document, { variables: { n: 'five' } })).toThrow(
      GraphQLError,
    );
  });

  it('counts each result by its own data and variables', () => {
    const document = parse(SKIPPABLE);
    const order = (items: number) => ({
      items: Array.from({ length: items }, () => ({ product: { name: 'p' } })),
    });
    const data = (...orders: number[]) => ({ orders: { nodes: orders.map(order) } });
    const actual = (variables: Record<string, unknown>, result: Record<string, unknown>) =>
      actualCostOf(schema, document, null, variables, { data: result }).cost;
    // orders 1 + each order 1 + 2 per item (the item and its product).
    expect(actual({ skip: false }, data(3))).toBe(8);
    expect(actual({ skip: false }, data(1, 2))).toBe(9);
    // Skipped: execution returns no `orders`; a result that had one would not be counted.
    expect(actual({ skip: true }, data(3))).toBe(0);
    expect(actual({ skip: false }, data())).toBe(1);
  });
});
