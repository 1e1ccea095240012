/**
 * The worst-case cost of an operation as a pure function. Every expected number is derived by
 * hand in a comment from DESIGN.md's cost rules and the annotations in schema.graphql: objects
 * 1, scalars and enums 0, mutations +10, connections sized by first/last on edges/nodes only
 * (unsliced: the larger of assumedSize 20 and the default page size), `nodes(ids:)` sized by
 * the number of ids, Order.items assumed 10, interfaces the maximum of their members. Worst
 * case: every variable slicing argument at the maximum page size, every condition the way
 * that includes more.
 */
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { buildSchema, GraphQLError, GraphQLScalarType, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { requestedCostOf } from '../../src/cost/static-cost.ts';
import { type WorstCaseOptions, worstCaseCostOf } from '../../src/cost/worst-case.ts';
import { schema } from '../../src/schema/index.ts';

/** The server's defaults: PAGE_SIZE_MAX 100, PAGE_SIZE_DEFAULT 20. */
const PAGES = { maxPageSize: 100, defaultPageSize: 20 };

function worstCase(query: string, options: Partial<WorstCaseOptions> = {}): number {
  return worstCaseCostOf(schema, parse(query), { ...PAGES, ...options });
}

// products 1 + nodes 100 × (Product 1 + name 0) = 101.
const BY_REQUIRED_INT = /* GraphQL */ `
  query Page($n: Int!) {
    products(first: $n) { nodes { name } }
  }
`;

// The same 101: given null or nothing, $first would be charged max(assumedSize 20, default 20)
// = 21, less than a client sending first: 100.
const BY_NULLABLE_INT = /* GraphQL */ `
  query Page($first: Int) {
    products(first: $first) { nodes { name } }
  }
`;

// The operation's own default (5) is only what a client gets by leaving $first out: 101.
const BY_DEFAULTED_INT = /* GraphQL */ `
  query Page($first: Int = 5) {
    products(first: $first) { nodes { name } }
  }
`;

// nodes is a list sized by the number of ids: n × (Node 1 + the dearest member: Product's
// price 1, Order's and User's 0) = 2n.
const BY_IDS = /* GraphQL */ `
  query Lookup($ids: [ID!]!) {
    nodes(ids: $ids) { id ... on Product { price { amount } } }
  }
`;

// createOrder 1 + @cost 10; order 1 + total 1 (id 0, amount 0); userErrors 1 = 14.
const CREATE_ORDER = /* GraphQL */ `
  mutation Place($input: CreateOrderInput!) {
    createOrder(input: $input) {
      order { id total { amount } }
      userErrors { message }
    }
  }
`;

// createProduct 1 + 10; product 1 + price 1; userErrors 1 = 14. Its input requires a nested
// input object (price: MoneyInput!, itself requiring an Int and an enum).
const CREATE_PRODUCT = /* GraphQL */ `
  mutation Add($input: CreateProductInput!) {
    createProduct(input: $input) {
      product { name price { amount currency } }
      userErrors { field }
    }
  }
`;

// products 1 + 10 = 11, orders 1 + 5 = 6: 17 with the orders, 11 without.
const INCLUDED = /* GraphQL */ `
  query Conditional($withOrders: Boolean!) {
    products(first: 10) { nodes { id } }
    orders(first: 5) @include(if: $withOrders) { nodes { id } }
  }
`;

// The same with @skip, a nullable flag defaulting to true: 17 when $lean is false.
const SKIPPED = /* GraphQL */ `
  query Conditional($lean: Boolean = true) {
    products(first: 10) { nodes { id } }
    orders(first: 5) @skip(if: $lean) { nodes { id } }
  }
`;

// One flag of each kind: both parts are included at withProducts = true, skipOrders = false:
// 11 + 6 = 17. All true would give 11, all false 6.
const TWO_FLAGS = /* GraphQL */ `
  query Conditional($withProducts: Boolean!, $skipOrders: Boolean!) {
    products(first: 10) @include(if: $withProducts) { nodes { id } }
    orders(first: 5) @skip(if: $skipOrders) { nodes { id } }
  }
`;

// One flag both ways: either products (1 + 10 = 11) or orders (1 + 30 = 31), never both: 31.
const EITHER = /* GraphQL */ `
  query Either($products: Boolean!) {
    products(first: 10) @include(if: $products) { nodes { id } }
    orders(first: 30) @skip(if: $products) { nodes { id } }
  }
`;

// A condition inside a fragment: products 1 + 10 × (Product 1 + price 1) = 21.
const IN_FRAGMENT = /* GraphQL */ `
  query Priced($withPrice: Boolean!) {
    products(first: 10) { nodes { ...Price } }
  }
  fragment Price on Product { id price @include(if: $withPrice) { amount } }
`;

// a: 1 + 3 = 4 (the literal stays 3); b: 1 + 100 = 101. Total 105.
const LITERAL_AND_VARIABLE = /* GraphQL */ `
  query Mixed($n: Int) {
    a: products(first: 3) { nodes { id } }
    b: products(first: $n) { nodes { id } }
  }
`;

// Variables that only have to coerce: a DateTime (graphql-scalars), an enum list, an input
// object with no required field and one with a required enum. Neither list is a slicing
// argument, so each connection is 1 + 2 = 3: 6.
const FILTERED = /* GraphQL */ `
  query Filtered(
    $after: DateTime!
    $statuses: [OrderStatus!]!
    $filter: OrderFilter
    $orderBy: OrderOrder!
  ) {
    a: orders(first: 2, filter: { createdAfter: $after, status: $statuses }) { nodes { id } }
    b: orders(first: 2, filter: $filter, orderBy: $orderBy) { nodes { id } }
  }
`;

// orders(first: 10) 1 + 10 × (Order 1 + items 10 × (OrderItem 1 + product 1)) = 211.
const NO_VARIABLES = /* GraphQL */ `
  query Nested {
    orders(first: 10) { nodes { items { product { name } } } }
  }
`;

// No first/last: max(assumedSize 20, default page size).
const UNSLICED = /* GraphQL */ `
  query Unsliced {
    products { nodes { id } }
  }
`;

describe('worst-case variables', () => {
  it('prices a required Int slicing argument at the maximum page size', () => {
    expect(worstCase(BY_REQUIRED_INT)).toBe(101);
  });

  it('prices a nullable or defaulted first at the maximum, not at null or the default', () => {
    expect(worstCase(BY_NULLABLE_INT)).toBe(101);
    expect(worstCase(BY_DEFAULTED_INT)).toBe(101);
  });

  it('follows the configured maximum page size', () => {
    // 1 + 40 × 1 = 41.
    expect(worstCase(BY_REQUIRED_INT, { maxPageSize: 40 })).toBe(41);
  });

  it('sizes a list-valued slicing argument (nodes(ids:)) to the maximum page size', () => {
    expect(worstCase(BY_IDS)).toBe(200);
    expect(worstCase(BY_IDS, { maxPageSize: 50 })).toBe(100);
  });

  it('sizes list variables by maxListSize when given, whatever the page size', () => {
    // nodes(ids:) takes up to 100 ids even when PAGE_SIZE_MAX is 50: 100 × 2 = 200.
    expect(worstCase(BY_IDS, { maxPageSize: 50, maxListSize: 100 })).toBe(200);
  });

  it.each([
    ['createOrder', CREATE_ORDER],
    ['createProduct', CREATE_PRODUCT],
  ])('fills the required input object of %s', (_name, mutation) => {
    expect(worstCase(mutation)).toBe(14);
  });

  it('gives custom scalars, enums, enum lists and input objects values that coerce', () => {
    expect(worstCase(FILTERED)).toBe(6);
  });

  it('keeps literal arguments as written', () => {
    expect(worstCase(LITERAL_AND_VARIABLE)).toBe(105);
  });
});

describe('conditions', () => {
  it('counts a branch under @include(if: $flag)', () => {
    expect(worstCase(INCLUDED)).toBe(17);
  });

  it('counts a branch under @skip(if: $flag), even when the flag defaults to true', () => {
    expect(worstCase(SKIPPED)).toBe(17);
  });

  it('includes both branches when one flag is an @include and another a @skip', () => {
    expect(worstCase(TWO_FLAGS)).toBe(17);
  });

  it('takes the dearer branch, not both, when one flag both includes and skips', () => {
    expect(worstCase(EITHER)).toBe(31);
  });

  it('counts a condition inside a fragment', () => {
    expect(worstCase(IN_FRAGMENT)).toBe(21);
  });
});

describe('operations without variables', () => {
  it('equals the cost with the given variables', () => {
    const document = parse(NO_VARIABLES);
    expect(worstCaseCostOf(schema, document, PAGES)).toBe(211);
    expect(requestedCostOf(schema, document, { defaultPageSize: 20 }).cost).toBe(211);
  });

  it('charges an unsliced connection the default page size when it exceeds the assumed size', () => {
    // 1 + max(20, 50) × 1 = 51; with the default 20: 1 + 20 = 21.
    expect(worstCase(UNSLICED, { defaultPageSize: 50 })).toBe(51);
    expect(worstCase(UNSLICED)).toBe(21);
  });
});

describe('operation names', () => {
  const TWO = `${BY_REQUIRED_INT} ${NO_VARIABLES}`;

  it('prices the named operation of several', () => {
    expect(worstCase(TWO, { operationName: 'Page' })).toBe(101);
    expect(worstCase(TWO, { operationName: 'Nested' })).toBe(211);
  });

  it('throws a GraphQLError for an unknown operation name', () => {
    expect(() => worstCase(BY_REQUIRED_INT, { operationName: 'Nope' })).toThrow(GraphQLError);
    expect(() => worstCase(BY_REQUIRED_INT, { operationName: 'Nope' })).toThrow(
      'Unknown operation named "Nope".',
    );
  });

  it('throws when the document has several operations and no name is given', () => {
    expect(() => worstCase(TWO)).toThrow(
      'Must provide operation name if query contains multiple operations.',
    );
  });

  it('throws a GraphQLError for a variable of an unknown type', () => {
    expect(() => worstCase('query Q($n: Nope) { products(first: 1) { nodes { id } } }')).toThrow(
      'Variable "$n" has the unknown or non-input type "Nope".',
    );
  });
});

/**
 * Kinds of input the real schema has none of: a @oneOf input that refers to itself, an integer
 * custom scalar used as a slicing argument, and a scalar that accepts nothing.
 */
describe('other schemas', () => {
  const sdl = /* GraphQL */ `
    directive @listSize(assumedSize: Int, slicingArguments: [String!]) on FIELD_DEFINITION
    scalar Count
    scalar Never
    input Page @oneOf { next: Page, size: Int }
    type Item { id: ID! }
    type Query {
      items(first: Count, page: Page, never: Never): [Item!]!
        @listSize(assumedSize: 5, slicingArguments: ["first"])
    }
  `;
  const strict = (name: string, accept: (value: unknown) => boolean) =>
    new GraphQLScalarType({
      name,
      parseValue(value) {
        if (accept(value)) return value;
        throw new TypeError(`${name} refuses ${JSON.stringify(value)}.`);
      },
    });
  const other = mapSchema(buildSchema(sdl), {
    [MapperKind.SCALAR_TYPE]: (type) => {
      if (type.name === 'Count') {
        return strict('Count', (value) => Number.isInteger(value) && (value as number) > 0);
      }
      if (type.name === 'Never') return strict('Never', () => false);
      return type;
    },
  });
  const price = (query: string) => worstCaseCostOf(other, parse(query), PAGES);

  it('gives an integer custom scalar the maximum page size and a @oneOf input one field', () => {
    // items sized by first: 100 × (Item 1 + id 0) = 100. Page.next would recurse, so size.
    expect(price('query Q($n: Count, $p: Page!) { items(first: $n, page: $p) { id } }')).toBe(100);
  });

  it('refuses a required variable whose scalar accepts no candidate, naming it', () => {
    const query = 'query Q($x: Never!) { items(never: $x) { id } }';
    expect(() => price(query)).toThrow(GraphQLError);
    expect(() => price(query)).toThrow('Cannot price variable "$x" of type "Never!"');
  });

  it('gives a nullable variable whose scalar accepts no candidate null', () => {
    // No first: the larger of assumedSize 5 and the default page size 20 → 20 × 1 = 20.
    expect(price('query Q($x: Never) { items(never: $x) { id } }')).toBe(20);
  });
});
