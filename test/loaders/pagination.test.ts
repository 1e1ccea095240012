import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphQLResponse, startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const PAGE = /* GraphQL */ `
  query ProductPage(
    $first: Int
    $after: String
    $last: Int
    $before: String
    $orderBy: ProductOrder
    $filter: ProductFilter
  ) {
    products(
      first: $first
      after: $after
      last: $last
      before: $before
      orderBy: $orderBy
      filter: $filter
    ) {
      edges {
        cursor
        node { id name }
      }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

const CREATE_PRODUCT = /* GraphQL */ `
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      product { id name }
      userErrors { field code message }
    }
  }
`;

interface Edge {
  cursor: string;
  node: { id: string; name: string };
}

interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

interface Page {
  edges: Edge[];
  pageInfo: PageInfo;
}

type OrderBy = { field: 'NAME' | 'PRICE' | 'CREATED_AT'; direction: 'ASC' | 'DESC' } | undefined;

/** Errors without the per-request id and source locations, for exact comparison. */
function errorsOf(response: GraphQLResponse) {
  return response.body.errors?.map(({ message, path, extensions }) => {
    const { requestId: _requestId, ...rest } = extensions ?? {};
    return { message, path, extensions: rest };
  });
}

function decodeCursor(cursor: string): unknown {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
}

function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function page(variables: Record<string, unknown>): Promise<Page> {
  const response = await t.graphql(PAGE, variables, { as: 'acme/alice' });
  expect(response.body.errors).toBeUndefined();
  return response.body.data!.products;
}

/** Every product in one page of 100, the reference the walks are compared with. */
async function everything(orderBy?: OrderBy): Promise<string[]> {
  const all = await page({ first: 100, orderBy });
  expect(all.pageInfo.hasNextPage).toBe(false);
  return all.edges.map((edge) => edge.node.id);
}

/** Walks forward with `first`/`after`, checking pageInfo on every page. */
async function walkForward(size: number, orderBy?: OrderBy) {
  const ids: string[] = [];
  const pages: Page[] = [];
  let after: string | null = null;
  for (;;) {
    const current = await page({ first: size, after, orderBy });
    pages.push(current);
    ids.push(...current.edges.map((edge) => edge.node.id));
    expect(current.pageInfo.hasPreviousPage).toBe(after !== null);
    expect(current.pageInfo.startCursor).toBe(current.edges[0]?.cursor ?? after);
    expect(current.pageInfo.endCursor).toBe(current.edges.at(-1)?.cursor ?? after);
    if (!current.pageInfo.hasNextPage) break;
    expect(current.edges).toHaveLength(size);
    after = current.pageInfo.endCursor;
  }
  return { ids, pages };
}

/** Walks backward with `last`/`before` from the end, checking pageInfo on every page. */
async function walkBackward(size: number, orderBy?: OrderBy) {
  const ids: string[] = [];
  const pages: Page[] = [];
  let before: string | null = null;
  for (;;) {
    const current = await page({ last: size, before, orderBy });
    pages.push(current);
    ids.unshift(...current.edges.map((edge) => edge.node.id));
    expect(current.pageInfo.hasNextPage).toBe(before !== null);
    expect(current.pageInfo.startCursor).toBe(current.edges[0]?.cursor ?? before);
    expect(current.pageInfo.endCursor).toBe(current.edges.at(-1)?.cursor ?? before);
    if (!current.pageInfo.hasPreviousPage) break;
    expect(current.edges).toHaveLength(size);
    before = current.pageInfo.startCursor;
  }
  return { ids, pages };
}

const ORDERINGS: OrderBy[] = [
  undefined,
  { field: 'NAME', direction: 'ASC' },
  { field: 'NAME', direction: 'DESC' },
  { field: 'PRICE', direction: 'ASC' },
  { field: 'PRICE', direction: 'DESC' },
  { field: 'CREATED_AT', direction: 'ASC' },
];

describe('walking a connection', () => {
  it('starts from the 50 seeded acme products', async () => {
    expect(await everything()).toHaveLength(50);
  });

  it.each(ORDERINGS)(
    'visits every product exactly once, in order, forward by %o',
    async (orderBy) => {
      const all = await everything(orderBy);
      const { ids, pages } = await walkForward(7, orderBy);
      expect(ids).toEqual(all);
      expect(pages).toHaveLength(8);
      expect(pages.at(-1)!.edges).toHaveLength(1);
    },
  );

  it.each(ORDERINGS)(
    'visits every product exactly once, in order, backward by %o',
    async (orderBy) => {
      const all = await everything(orderBy);
      const { ids, pages } = await walkBackward(7, orderBy);
      expect(ids).toEqual(all);
      expect(pages).toHaveLength(8);
      expect(pages.at(-1)!.edges).toHaveLength(1);
    },
  );

  it('ends on a full last page without an empty page after it', async () => {
    const all = await everything();
    const forward = await walkForward(10);
    expect(forward.ids).toEqual(all);
    expect(forward.pages.map((p) => p.edges.length)).toEqual([10, 10, 10, 10, 10]);
    expect(forward.pages.at(-1)!.pageInfo).toMatchObject({
      hasNextPage: false,
      hasPreviousPage: true,
    });
    const backward = await walkBackward(10);
    expect(backward.ids).toEqual(all);
    expect(backward.pages.map((p) => p.edges.length)).toEqual([10, 10, 10, 10, 10]);
    expect(backward.pages.at(-1)!.pageInfo).toMatchObject({
      hasNextPage: true,
      hasPreviousPage: false,
    });
  });

  it('reports no neighbours when one page holds everything', async () => {
    const all = await page({ first: 100 });
    expect(all.pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: false,
      startCursor: all.edges[0]!.cursor,
      endCursor: all.edges.at(-1)!.cursor,
    });
    const last = await page({ last: 100 });
    expect(last).toEqual(all);
  });

  it('returns the last n items for `last` without a cursor', async () => {
    const all = await everything();
    const last = await page({ last: 3 });
    expect(last.edges.map((edge) => edge.node.id)).toEqual(all.slice(-3));
    expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
  });

  it('reads forward from a cursor taken from a backward page and vice versa', async () => {
    const all = await everything();
    const middle = await page({ first: 10, after: (await page({ first: 20 })).pageInfo.endCursor });
    expect(middle.edges.map((edge) => edge.node.id)).toEqual(all.slice(20, 30));
    const before = await page({ last: 5, before: middle.pageInfo.startCursor });
    expect(before.edges.map((edge) => edge.node.id)).toEqual(all.slice(15, 20));
    expect(before.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
  });

  it('returns the items strictly between `after` and `before`', async () => {
    const all = await page({ first: 100 });
    const between = await page({
      after: all.edges[4]!.cursor,
      before: all.edges[9]!.cursor,
    });
    expect(between.edges).toEqual(all.edges.slice(5, 9));
  });

  it('pages a filtered list with the filter applied on every page', async () => {
    const filter = { currency: 'EUR' };
    const all = await page({ first: 100, filter });
    const first = await page({ first: 4, filter });
    const second = await page({ first: 4, filter, after: first.pageInfo.endCursor });
    expect([...first.edges, ...second.edges]).toEqual(all.edges.slice(0, 8));
  });
});

describe('page size limits', () => {
  it.each([
    ['first', 101, '`first` must be at most 100; got 101.'],
    ['last', 101, '`last` must be at most 100; got 101.'],
    ['first', -1, '`first` must be at least 0; got -1.'],
    ['last', -1, '`last` must be at least 0; got -1.'],
  ] as const)(
    'refuses %s: %i with BAD_USER_INPUT naming the argument',
    async (name, size, message) => {
      const response = await t.graphql(PAGE, { [name]: size }, { as: 'acme/alice' });
      expect(response.status).toBe(200);
      expect(response.body.data).toEqual({ products: null });
      expect(errorsOf(response)).toEqual([
        { message, path: ['products'], extensions: { code: 'BAD_USER_INPUT', field: [name] } },
      ]);
    },
  );

  it('refuses `first` and `last` together', async () => {
    const response = await t.graphql(PAGE, { first: 5, last: 5 }, { as: 'acme/alice' });
    expect(response.body.data).toEqual({ products: null });
    expect(errorsOf(response)).toEqual([
      {
        message: 'Pass either `first` or `last`, not both.',
        path: ['products'],
        extensions: { code: 'BAD_USER_INPUT', field: ['first'] },
      },
    ]);
  });

  it('accepts exactly the maximum of 100', async () => {
    const all = await page({ first: 100 });
    expect(all.edges).toHaveLength(50);
  });

  it('returns an empty page for `first: 0` that still says whether items follow', async () => {
    expect(await page({ first: 0 })).toEqual({
      edges: [],
      pageInfo: { hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it('keeps the position for `first: 0` after a cursor', async () => {
    const first = await page({ first: 3 });
    const cursor = first.pageInfo.endCursor;
    expect(await page({ first: 0, after: cursor })).toEqual({
      edges: [],
      pageInfo: {
        hasNextPage: true,
        hasPreviousPage: true,
        startCursor: cursor,
        endCursor: cursor,
      },
    });
  });

  it('returns an empty page for `last: 0` that still says whether items precede', async () => {
    expect(await page({ last: 0 })).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null },
    });
  });

  it('reports an empty result with no neighbours and null cursors', async () => {
    expect(await page({ filter: { search: 'no product is called this' } })).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });
});

describe('invalid cursors', () => {
  const seedCursor = async (orderBy?: OrderBy) =>
    (await page({ first: 1, orderBy })).edges[0]!.cursor;

  const tampered: [string, () => Promise<string>][] = [
    ['is not base64url', async () => 'not a cursor!'],
    ['is empty', async () => ''],
    ['is base64url of something that is not JSON', async () => 'abc'],
    ['is JSON of the wrong shape', async () => encodeCursor({ createdAt: 1 })],
    ['is longer than any real cursor', async () => 'A'.repeat(600)],
    ['names another sort key', async () => seedCursor({ field: 'NAME', direction: 'ASC' })],
    [
      'holds an id that is not a TypeID',
      async () => {
        const [name, value] = decodeCursor(await seedCursor()) as unknown[];
        return encodeCursor([name, value, "x' or 1=1 --"]);
      },
    ],
    [
      'holds a non-canonical timestamp',
      async () => {
        const [name, , id] = decodeCursor(await seedCursor()) as unknown[];
        return encodeCursor([name, '2024-03-01', id]);
      },
    ],
    [
      'holds a timestamp outside what Postgres stores',
      async () => {
        const [name, , id] = decodeCursor(await seedCursor()) as unknown[];
        return encodeCursor([name, '+275760-09-13T00:00:00.000Z', id]);
      },
    ],
    [
      'holds a number where a timestamp belongs',
      async () => {
        const [name, , id] = decodeCursor(await seedCursor()) as unknown[];
        return encodeCursor([name, 1_700_000_000_000, id]);
      },
    ],
  ];

  it.each(tampered)(
    'refuses an `after` cursor that %s with BAD_USER_INPUT',
    async (_case, make) => {
      const response = await t.graphql(
        PAGE,
        { first: 5, after: await make() },
        { as: 'acme/alice' },
      );
      expect(response.status).toBe(200);
      expect(response.body.data).toEqual({ products: null });
      expect(errorsOf(response)).toEqual([
        {
          message: '`after` is not a valid cursor for this list and ordering.',
          path: ['products'],
          extensions: { code: 'BAD_USER_INPUT', field: ['after'] },
        },
      ]);
    },
  );

  const byPrice: OrderBy = { field: 'PRICE', direction: 'ASC' };
  const byName: OrderBy = { field: 'NAME', direction: 'ASC' };
  const tamperedValues: [string, OrderBy, unknown][] = [
    ['a price beyond int4', byPrice, 2 ** 31],
    ['a fractional price', byPrice, 19.99],
    ['a price given as a string', byPrice, '1999'],
    ['a name with a NUL character', byName, 'Tea\u0000pot'],
    ['a name given as a number', byName, 42],
  ];

  it.each(tamperedValues)('refuses a `before` cursor holding %s', async (_case, orderBy, value) => {
    const [name, , id] = decodeCursor(await seedCursor(orderBy)) as unknown[];
    const response = await t.graphql(
      PAGE,
      { last: 5, before: encodeCursor([name, value, id]), orderBy },
      { as: 'acme/alice' },
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ products: null });
    expect(errorsOf(response)).toEqual([
      {
        message: '`before` is not a valid cursor for this list and ordering.',
        path: ['products'],
        extensions: { code: 'BAD_USER_INPUT', field: ['before'] },
      },
    ]);
  });

  it('accepts a cursor with the same sort key in the other direction', async () => {
    const ascending = await page({ first: 100, orderBy: { field: 'PRICE', direction: 'ASC' } });
    const pivot = ascending.edges[10]!;
    const descending = await page({
      first: 100,
      after: pivot.cursor,
      orderBy: { field: 'PRICE', direction: 'DESC' },
    });
    expect(descending.edges.map((edge) => edge.node.id)).toEqual(
      ascending.edges
        .slice(0, 10)
        .reverse()
        .map((edge) => edge.node.id),
    );
  });
});

describe('stability under inserts', () => {
  async function create(name: string): Promise<string> {
    const response = await t.graphql(
      CREATE_PRODUCT,
      {
        input: {
          clientMutationId: newClientMutationId('product'),
          name,
          price: { amount: 1000, currency: 'USD' },
        },
      },
      { as: 'acme/alice' },
    );
    expect(response.body.data!.createProduct.userErrors).toEqual([]);
    return response.body.data!.createProduct.product.id;
  }

  it('neither repeats nor skips rows when a product is inserted ahead of the cursor', async () => {
    // Newest first: a new product lands at the very start, shifting every offset by one.
    const before = await everything();
    const first = await page({ first: 10 });
    const inserted = await create('Inserted While Paging Newest');
    const rest = await walkFrom(first.pageInfo.endCursor!, 10, undefined);
    const seen = [...first.edges.map((edge) => edge.node.id), ...rest];
    expect(seen).toEqual(before);
    expect(seen).not.toContain(inserted);
    expect((await everything())[0]).toBe(inserted);
  });

  it('keeps pre-existing rows exactly once around products inserted on both sides and at the cursor', async () => {
    const byName: OrderBy = { field: 'NAME', direction: 'ASC' };
    const beforeIds = await everything(byName);
    const first = await page({ first: 10, orderBy: byName });
    const second = await page({ first: 10, after: first.pageInfo.endCursor, orderBy: byName });
    const cursorName = second.edges.at(-1)!.node.name;

    const behind = await create('AAA Inserted Behind The Cursor');
    const ahead = await create('zzz Inserted Ahead Of The Cursor');
    // Same name as the row at the cursor, and a newer (greater) id: it sorts right after it.
    const atCursor = await create(cursorName);

    const rest = await walkFrom(second.pageInfo.endCursor!, 10, byName);
    const seen = [
      ...first.edges.map((edge) => edge.node.id),
      ...second.edges.map((edge) => edge.node.id),
      ...rest,
    ];
    expect(seen.filter((id) => beforeIds.includes(id))).toEqual(beforeIds);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).not.toContain(behind);
    expect(rest[0]).toBe(atCursor);
    expect(rest.at(-1)).toBe(ahead);
    expect(seen).toHaveLength(beforeIds.length + 2);
  });

  async function walkFrom(after: string, size: number, orderBy: OrderBy): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = after;
    while (cursor) {
      const current = await page({ first: size, after: cursor, orderBy });
      ids.push(...current.edges.map((edge) => edge.node.id));
      cursor = current.pageInfo.hasNextPage ? current.pageInfo.endCursor : null;
    }
    return ids;
  }
});
