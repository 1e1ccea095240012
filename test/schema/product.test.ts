import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DemoUserName,
  type GraphQLResponse,
  startTestApp,
  type TestApp,
} from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const PRODUCT_FIELDS = /* GraphQL */ `
  fragment ProductFields on Product {
    id
    name
    description
    price { amount currency }
    stock
    version
    createdAt
    updatedAt
  }
`;

const LIST_PRODUCTS = /* GraphQL */ `
  query ListProducts($first: Int, $filter: ProductFilter, $orderBy: ProductOrder) {
    products(first: $first, filter: $filter, orderBy: $orderBy) {
      nodes { ...ProductFields }
      pageInfo { hasNextPage hasPreviousPage }
    }
  }
  ${PRODUCT_FIELDS}
`;

const DEFAULT_PAGE = /* GraphQL */ `
  query DefaultPage {
    products {
      nodes { id }
      pageInfo { hasNextPage hasPreviousPage }
    }
  }
`;

const GET_PRODUCT = /* GraphQL */ `
  query GetProduct($id: ID!) {
    product(id: $id) { ...ProductFields }
  }
  ${PRODUCT_FIELDS}
`;

const PRODUCT_COST = /* GraphQL */ `
  query ProductCost($id: ID!) {
    product(id: $id) {
      id
      name
      costPrice { amount currency }
    }
  }
`;

const LIST_COSTS = /* GraphQL */ `
  query ListCosts {
    products(first: 2) {
      nodes {
        id
        costPrice { amount }
      }
    }
  }
`;

const FIRST_ORDER = /* GraphQL */ `
  query FirstOrder {
    orders(first: 1) { nodes { id } }
  }
`;

const CREATE_PRODUCT = /* GraphQL */ `
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      clientMutationId
      product {
        ...ProductFields
        costPrice { amount currency }
      }
      userErrors { field code message }
    }
  }
  ${PRODUCT_FIELDS}
`;

const CREATE_PRODUCT_WITH_STRING_AMOUNT = /* GraphQL */ `
  mutation CreateProductWithStringAmount {
    createProduct(input: { name: "Typo Mug", price: { amount: "abc", currency: USD } }) {
      product { id }
    }
  }
`;

const CREATE_PRODUCT_WITH_FLOAT_AMOUNT = /* GraphQL */ `
  mutation CreateProductWithFloatAmount {
    createProduct(input: { name: "Typo Mug", price: { amount: 19.99, currency: USD } }) {
      product { id }
    }
  }
`;

const UPDATE_PRODUCT = /* GraphQL */ `
  mutation UpdateProduct($input: UpdateProductInput!) {
    updateProduct(input: $input) {
      clientMutationId
      product { ...ProductFields }
      userErrors { field code message }
    }
  }
  ${PRODUCT_FIELDS}
`;

interface ProductNode {
  id: string;
  name: string;
  description: string;
  price: { amount: number; currency: 'USD' | 'EUR' | 'INR' };
  stock: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

type SortField = 'NAME' | 'PRICE' | 'CREATED_AT';
type SortDirection = 'ASC' | 'DESC';

const SORT_VALUE: Record<SortField, (product: ProductNode) => string | number> = {
  NAME: (product) => product.name,
  PRICE: (product) => product.price.amount,
  CREATED_AT: (product) => Date.parse(product.createdAt),
};

/**
 * The order the API promises: by the sort key, ties by id, both in the requested direction.
 * Strings compare by UTF-16 code unit, which is the "C" collation the test databases use.
 */
function sortedBy(list: ProductNode[], field: SortField, direction: SortDirection) {
  const key = SORT_VALUE[field];
  const sign = direction === 'ASC' ? 1 : -1;
  return [...list].sort((a, b) => sign * (compare(key(a), key(b)) || compare(a.id, b.id)));
}

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Errors without the per-request id and source locations, for exact comparison. */
function errorsOf(response: GraphQLResponse) {
  return response.body.errors?.map(({ message, path, extensions }) => {
    const { requestId: _requestId, ...rest } = extensions ?? {};
    return { message, path, extensions: rest };
  });
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function listProducts(
  variables: Record<string, unknown> = {},
  as: DemoUserName = 'acme/alice',
): Promise<ProductNode[]> {
  const response = await t.graphql(LIST_PRODUCTS, { first: 100, ...variables }, { as });
  expect(response.body.errors).toBeUndefined();
  expect(response.body.data!.products.pageInfo.hasNextPage).toBe(false);
  return response.body.data!.products.nodes;
}

/** createProduct; a fresh clientMutationId unless the input has its own. */
async function createProduct(input: Record<string, unknown>, as: DemoUserName = 'acme/alice') {
  return t.graphql(
    CREATE_PRODUCT,
    { input: { clientMutationId: newClientMutationId('product'), ...input } },
    { as },
  );
}

/** Creates a product as alice and returns it; fails the test if that does not work. */
async function newProduct(input: Record<string, unknown> = {}) {
  const response = await createProduct({
    name: 'Fixture Kettle',
    price: { amount: 2500, currency: 'USD' },
    ...input,
  });
  expect(response.body.data!.createProduct.userErrors).toEqual([]);
  const { costPrice: _costPrice, ...product } = response.body.data!.createProduct.product;
  return product as ProductNode;
}

async function productIds(): Promise<string[]> {
  return (await listProducts()).map((product) => product.id);
}

describe('products list', () => {
  it('holds the 50 seeded acme products, newest first, ties broken by id', async () => {
    const products = await listProducts();
    expect(products).toHaveLength(50);
    expect(products).toEqual(sortedBy(products, 'CREATED_AT', 'DESC'));
  });

  it('returns the 20 newest products when no page size is given', async () => {
    const all = await listProducts();
    const response = await t.graphql(DEFAULT_PAGE, {}, { as: 'acme/alice' });
    expect(response.body).toEqual({
      data: {
        products: {
          nodes: all.slice(0, 20).map(({ id }) => ({ id })),
          pageInfo: { hasNextPage: true, hasPreviousPage: false },
        },
      },
    });
  });

  it('returns exactly `first` products', async () => {
    const all = await listProducts();
    const response = await t.graphql(LIST_PRODUCTS, { first: 3 }, { as: 'acme/alice' });
    expect(response.body).toEqual({
      data: {
        products: {
          nodes: all.slice(0, 3),
          pageInfo: { hasNextPage: true, hasPreviousPage: false },
        },
      },
    });
  });

  it('loads a page of any size with one SELECT (plus the transaction set-up)', async () => {
    const small = await t.graphql(LIST_PRODUCTS, { first: 1 }, { as: 'acme/alice' });
    const large = await t.graphql(LIST_PRODUCTS, { first: 100 }, { as: 'acme/alice' });
    expect(small.sqlStatements).toBe(2);
    expect(large.sqlStatements).toBe(2);
  });

  it('shows only the caller tenant’s products', async () => {
    const acme = new Set((await listProducts({}, 'acme/alice')).map((product) => product.id));
    const globex = await listProducts({}, 'globex/frank');
    expect(globex).toHaveLength(50);
    expect(globex.filter((product) => acme.has(product.id))).toEqual([]);
  });
});

describe('products filter', () => {
  it('searches names case-insensitively for a contained substring', async () => {
    const all = await listProducts();
    const found = await listProducts({ filter: { search: 'cOtToN' } });
    expect(found.map((product) => product.name)).toEqual([
      'Premium Cotton Duffel Bag',
      'Vintage Cotton Doormat',
      'Wireless Cotton Bookshelf',
    ]);
    expect(found).toEqual(all.filter((product) => product.name.toLowerCase().includes('cotton')));
  });

  it('treats % and _ in a search as literal characters, not wildcards', async () => {
    const percent = await newProduct({ name: 'Literal 100% Wool Hat' });
    const underscore = await newProduct({ name: 'snake_case Kettle' });
    const byName = async (search: string) =>
      (await listProducts({ filter: { search } })).map((product) => product.id);
    expect(await byName('%')).toEqual([percent.id]);
    expect(await byName('_')).toEqual([underscore.id]);
    expect(await byName('0% w')).toEqual([percent.id]);
    expect(await byName('E_C')).toEqual([underscore.id]);
    expect(await byName('%%')).toEqual([]);
    expect(await byName('\\')).toEqual([]);
  });

  it('filters by currency', async () => {
    const all = await listProducts();
    const euro = await listProducts({ filter: { currency: 'EUR' } });
    const dollar = await listProducts({ filter: { currency: 'USD' } });
    expect(euro.length).toBeGreaterThan(0);
    expect(dollar.length).toBeGreaterThan(0);
    expect(euro).toEqual(all.filter((product) => product.price.currency === 'EUR'));
    expect(dollar).toEqual(all.filter((product) => product.price.currency === 'USD'));
    expect(await listProducts({ filter: { currency: 'INR' } })).toEqual([]);
  });

  it('filters by an inclusive price range', async () => {
    const all = await listProducts();
    const inRange = await listProducts({ filter: { minPrice: 1000, maxPrice: 5000 } });
    expect(inRange.length).toBeGreaterThan(0);
    expect(inRange).toEqual(
      all.filter((product) => product.price.amount >= 1000 && product.price.amount <= 5000),
    );
    const exactly = await listProducts({ filter: { minPrice: 1500, maxPrice: 1500 } });
    expect(exactly.map((product) => [product.name, product.price.amount])).toEqual([
      ['Sturdy Oak Clock', 1500],
      ['Essential Recycled Towel Set', 1500],
    ]);
    expect(await listProducts({ filter: { minPrice: 43099 } })).toEqual(
      all.filter((product) => product.price.amount >= 43099),
    );
    expect(await listProducts({ filter: { maxPrice: 299 } })).toEqual(
      all.filter((product) => product.price.amount <= 299),
    );
    expect(await listProducts({ filter: { minPrice: 5000, maxPrice: 1000 } })).toEqual([]);
  });

  it('applies every given condition together', async () => {
    const all = await listProducts();
    const filter = { search: 'bag', currency: 'USD', minPrice: 500, maxPrice: 5000 } as const;
    const found = await listProducts({ filter });
    expect(found.map((product) => product.name)).toEqual([
      'Sleek Recycled Duffel Bag',
      'Premium Cotton Duffel Bag',
      'Everyday Walnut Duffel Bag',
    ]);
    expect(found).toEqual(
      all.filter(
        (product) =>
          product.name.toLowerCase().includes('bag') &&
          product.price.currency === 'USD' &&
          product.price.amount >= 500 &&
          product.price.amount <= 5000,
      ),
    );
  });

  it('refuses an empty search term', async () => {
    const response = await t.graphql(
      LIST_PRODUCTS,
      { filter: { search: '' } },
      { as: 'acme/alice' },
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ products: null });
    expect(errorsOf(response)).toEqual([
      {
        message: '`search` must be 1–100 characters.',
        path: ['products'],
        extensions: { code: 'BAD_USER_INPUT', field: ['filter', 'search'] },
      },
    ]);
  });

  it('ignores control characters in a search, as names never contain them', async () => {
    const plain = await listProducts({ filter: { search: 'Teapot' } });
    const withControls = await listProducts({ filter: { search: 'Tea\u0000\u200bpot' } });
    expect(plain.length).toBeGreaterThan(0);
    expect(withControls).toEqual(plain);
  });
});

describe('products orderBy', () => {
  const orderings = (['NAME', 'PRICE', 'CREATED_AT'] as const).flatMap((field) =>
    (['ASC', 'DESC'] as const).map((direction) => ({ field, direction })),
  );

  it.each(orderings)('sorts by $field $direction with ties broken by id', async (orderBy) => {
    const all = await listProducts();
    const sorted = await listProducts({ orderBy });
    expect(sorted).toEqual(sortedBy(all, orderBy.field, orderBy.direction));
  });

  it('has equal prices and equal names in the seed, so the tie-break is exercised', async () => {
    const all = await listProducts();
    const prices = all.map((product) => product.price.amount);
    const names = all.map((product) => product.name);
    expect(new Set(prices).size).toBeLessThan(prices.length);
    expect(new Set(names).size).toBeLessThan(names.length);
  });
});

describe('product(id)', () => {
  it('returns a product of the caller’s tenant', async () => {
    const [first] = await listProducts();
    const response = await t.graphql(GET_PRODUCT, { id: first!.id }, { as: 'acme/carol' });
    expect(response.body).toEqual({ data: { product: first } });
  });

  it('is null for a well-formed id that matches no product', async () => {
    const response = await t.graphql(
      GET_PRODUCT,
      { id: 'prod_01h455vb4pex5vsknk084sn02q' },
      { as: 'acme/alice' },
    );
    expect(response.body).toEqual({ data: { product: null } });
  });

  it('is null, not FORBIDDEN, for another tenant’s product', async () => {
    const [globexProduct] = await listProducts({}, 'globex/dave');
    const response = await t.graphql(GET_PRODUCT, { id: globexProduct!.id }, { as: 'acme/alice' });
    expect(response.body).toEqual({ data: { product: null } });
  });

  it('is null for the id of an object that is not a product', async () => {
    const orders = await t.graphql(FIRST_ORDER, {}, { as: 'acme/alice' });
    const orderId = orders.body.data!.orders.nodes[0].id as string;
    expect(orderId).toMatch(/^ord_/);
    const byOrderId = await t.graphql(GET_PRODUCT, { id: orderId }, { as: 'acme/alice' });
    expect(byOrderId.body).toEqual({ data: { product: null } });
    const byUserId = await t.graphql(
      GET_PRODUCT,
      { id: t.ids.users['acme/alice'] },
      { as: 'acme/alice' },
    );
    expect(byUserId.body).toEqual({ data: { product: null } });
  });

  it.each(['nope', '', 'prod_', 'prod_not-a-typeid', 'PROD_01H455VB4PEX5VSKNK084SN02Q'])(
    'refuses the malformed id %j with BAD_USER_INPUT',
    async (id) => {
      const response = await t.graphql(GET_PRODUCT, { id }, { as: 'acme/alice' });
      expect(response.status).toBe(200);
      expect(response.body.data).toEqual({ product: null });
      expect(errorsOf(response)).toEqual([
        {
          message: '`id` is not a valid ID.',
          path: ['product'],
          extensions: { code: 'BAD_USER_INPUT', field: ['id'] },
        },
      ]);
    },
  );
});

describe('costPrice', () => {
  it('is visible to admins', async () => {
    const product = await newProduct({ price: { amount: 1200, currency: 'EUR' }, costPrice: 700 });
    const response = await t.graphql(PRODUCT_COST, { id: product.id }, { as: 'acme/alice' });
    expect(response.body).toEqual({
      data: {
        product: {
          id: product.id,
          name: 'Fixture Kettle',
          costPrice: { amount: 700, currency: 'EUR' },
        },
      },
    });
  });

  it('is null with a FORBIDDEN error at its path for a member, the rest still returned', async () => {
    const product = await newProduct({ costPrice: 900 });
    const response = await t.graphql(PRODUCT_COST, { id: product.id }, { as: 'acme/bob' });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({
      product: { id: product.id, name: 'Fixture Kettle', costPrice: null },
    });
    expect(errorsOf(response)).toEqual([
      {
        message: 'Not authorized to resolve Product.costPrice',
        path: ['product', 'costPrice'],
        extensions: { code: 'FORBIDDEN' },
      },
    ]);
  });

  it('reports one FORBIDDEN error per list item for a viewer', async () => {
    const all = await listProducts();
    const response = await t.graphql(LIST_COSTS, {}, { as: 'acme/carol' });
    expect(response.body.data).toEqual({
      products: {
        nodes: all.slice(0, 2).map(({ id }) => ({ id, costPrice: null })),
      },
    });
    expect(errorsOf(response)).toEqual(
      [0, 1].map((index) => ({
        message: 'Not authorized to resolve Product.costPrice',
        path: ['products', 'nodes', index, 'costPrice'],
        extensions: { code: 'FORBIDDEN' },
      })),
    );
  });
});

describe('createProduct', () => {
  it('creates a product at version 1 and echoes the clientMutationId', async () => {
    const response = await createProduct({
      clientMutationId: 'create-1',
      name: 'Copper Teapot',
      description: 'Holds 1.2 litres.',
      price: { amount: 4999, currency: 'EUR' },
      costPrice: 2100,
      stock: 12,
    });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    const payload = response.body.data!.createProduct;
    expect(payload).toEqual({
      clientMutationId: 'create-1',
      product: {
        id: expect.stringMatching(/^prod_[0-9a-z]{26}$/),
        name: 'Copper Teapot',
        description: 'Holds 1.2 litres.',
        price: { amount: 4999, currency: 'EUR' },
        costPrice: { amount: 2100, currency: 'EUR' },
        stock: 12,
        version: 1,
        createdAt: expect.any(String),
        updatedAt: payload.product.createdAt,
      },
      userErrors: [],
    });
    const { costPrice: _costPrice, ...stored } = payload.product;
    const read = await t.graphql(GET_PRODUCT, { id: payload.product.id }, { as: 'acme/alice' });
    expect(read.body).toEqual({ data: { product: stored } });
  });

  it('defaults description to empty, costPrice and stock to 0', async () => {
    const clientMutationId = newClientMutationId('product');
    const response = await createProduct({
      clientMutationId,
      name: 'Bare Mug',
      price: { amount: 0, currency: 'USD' },
    });
    expect(response.body.data!.createProduct).toMatchObject({
      clientMutationId,
      product: {
        name: 'Bare Mug',
        description: '',
        price: { amount: 0, currency: 'USD' },
        costPrice: { amount: 0, currency: 'USD' },
        stock: 0,
        version: 1,
      },
      userErrors: [],
    });
  });

  it('accepts a name of exactly 200 and a description of exactly 2000 characters', async () => {
    const product = await newProduct({ name: 'n'.repeat(200), description: 'd'.repeat(2000) });
    expect(product.name).toBe('n'.repeat(200));
    expect(product.description).toBe('d'.repeat(2000));
  });

  it('strips control characters from the name and stores the cleaned value', async () => {
    const product = await newProduct({ name: 'Te\u0000a\u200bpot\u202e' });
    expect(product.name).toBe('Teapot');
    const read = await t.graphql(GET_PRODUCT, { id: product.id }, { as: 'acme/alice' });
    expect(read.body.data!.product.name).toBe('Teapot');
  });

  it('collapses runs of whitespace in the name and trims it', async () => {
    const product = await newProduct({ name: '  Blue \t\n  Enamel\r\nTeapot  ' });
    expect(product.name).toBe('Blue Enamel Teapot');
  });

  it('keeps line breaks in the description but drops other control characters', async () => {
    const product = await newProduct({ description: '  First line\r\nSecond\u0000 line\u200b  ' });
    expect(product.description).toBe('First line\nSecond line');
  });

  const invalidInputs = [
    {
      problem: 'an empty name',
      input: { name: '' },
      error: { field: ['input', 'name'], message: 'Name must be 1–200 characters.' },
    },
    {
      problem: 'a whitespace-only name',
      input: { name: ' \t\n\u00a0 ' },
      error: { field: ['input', 'name'], message: 'Name must be 1–200 characters.' },
    },
    {
      problem: 'a name of only control characters',
      input: { name: '\u0000\u200b' },
      error: { field: ['input', 'name'], message: 'Name must be 1–200 characters.' },
    },
    {
      problem: 'a name of 201 characters',
      input: { name: 'n'.repeat(201) },
      error: { field: ['input', 'name'], message: 'Name must be 1–200 characters.' },
    },
    {
      problem: 'a description of 2001 characters',
      input: { description: 'd'.repeat(2001) },
      error: {
        field: ['input', 'description'],
        message: 'Description must be at most 2000 characters.',
      },
    },
    {
      problem: 'a negative price',
      input: { price: { amount: -1, currency: 'USD' } },
      error: {
        field: ['input', 'price', 'amount'],
        message: 'Price must be 0–2147483647 minor units.',
      },
    },
    {
      problem: 'a negative stock',
      input: { stock: -1 },
      error: { field: ['input', 'stock'], message: 'Stock must be at least 0.' },
    },
    {
      problem: 'a negative cost price',
      input: { costPrice: -1 },
      error: { field: ['input', 'costPrice'], message: 'Cost price must be at least 0.' },
    },
  ];

  it.each(invalidInputs)(
    'refuses $problem with a userError and creates nothing',
    async ({ input, error }) => {
      const before = await productIds();
      // One key per case: the same key with another input would be IDEMPOTENCY_KEY_REUSED.
      const clientMutationId = newClientMutationId('invalid');
      const response = await createProduct({
        clientMutationId,
        name: 'Valid Name',
        price: { amount: 100, currency: 'USD' },
        ...input,
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        data: {
          createProduct: {
            clientMutationId,
            product: null,
            userErrors: [{ ...error, code: 'BAD_USER_INPUT' }],
          },
        },
      });
      expect(await productIds()).toEqual(before);
    },
  );

  it('reports every invalid field at once', async () => {
    const response = await createProduct({
      name: '   ',
      price: { amount: -5, currency: 'USD' },
      stock: -2,
    });
    expect(response.body.data!.createProduct.userErrors).toEqual([
      {
        field: ['input', 'name'],
        code: 'BAD_USER_INPUT',
        message: 'Name must be 1–200 characters.',
      },
      {
        field: ['input', 'price', 'amount'],
        code: 'BAD_USER_INPUT',
        message: 'Price must be 0–2147483647 minor units.',
      },
      { field: ['input', 'stock'], code: 'BAD_USER_INPUT', message: 'Stock must be at least 0.' },
    ]);
  });

  it('refuses a string amount in the document as a validation error, not a 500', async () => {
    const response = await t.graphql(CREATE_PRODUCT_WITH_STRING_AMOUNT, {}, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    expect(errorsOf(response)).toEqual([
      {
        message: 'Int cannot represent non-integer value: "abc"',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      },
    ]);
  });

  it('refuses a Float amount in the document as a validation error, not a 500', async () => {
    const response = await t.graphql(CREATE_PRODUCT_WITH_FLOAT_AMOUNT, {}, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    expect(errorsOf(response)).toEqual([
      {
        message: 'Int cannot represent non-integer value: 19.99',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      },
    ]);
  });

  it.each([
    { amount: 'abc', shown: '"abc"' },
    { amount: 19.99, shown: '19.99' },
  ])(
    'refuses the amount $shown in variables with BAD_USER_INPUT naming the path',
    async ({ amount, shown }) => {
      const before = await productIds();
      const response = await createProduct({
        name: 'Typo Mug',
        price: { amount, currency: 'USD' },
      });
      expect(response.status).toBe(400);
      expect(errorsOf(response)).toEqual([
        {
          message: `Variable "$input" got invalid value ${shown} at "input.price.amount"; Int cannot represent non-integer value: ${shown}`,
          extensions: { code: 'BAD_USER_INPUT' },
        },
      ]);
      expect(await productIds()).toEqual(before);
    },
  );

  it.each(['acme/bob', 'acme/carol'] as const)(
    'is FORBIDDEN for %s, who lacks write:products, and creates nothing',
    async (as) => {
      const before = await productIds();
      const response = await createProduct(
        { name: 'Sneaky Mug', price: { amount: 100, currency: 'USD' } },
        as,
      );
      expect(response.status).toBe(200);
      expect(response.body.data).toEqual({ createProduct: null });
      expect(errorsOf(response)).toEqual([
        {
          message: 'Not authorized to resolve Mutation.createProduct',
          path: ['createProduct'],
          extensions: { code: 'FORBIDDEN' },
        },
      ]);
      expect(await productIds()).toEqual(before);
    },
  );

  it('is UNAUTHENTICATED for an anonymous caller', async () => {
    const before = await productIds();
    const response = await t.graphql(CREATE_PRODUCT, {
      input: {
        clientMutationId: newClientMutationId('product'),
        name: 'Anonymous Mug',
        price: { amount: 100, currency: 'USD' },
      },
    });
    expect(response.body.data).toEqual({ createProduct: null });
    expect(errorsOf(response)).toEqual([
      {
        message: 'Authentication is required for this field.',
        path: ['createProduct'],
        extensions: { code: 'UNAUTHENTICATED' },
      },
    ]);
    expect(await productIds()).toEqual(before);
  });
});

describe('updateProduct', () => {
  it('changes the given fields, keeps the others and increments the version', async () => {
    const product = await newProduct({ description: 'Keeps its description.', stock: 3 });
    const response = await t.graphql(
      UPDATE_PRODUCT,
      {
        input: {
          clientMutationId: 'update-1',
          id: product.id,
          expectedVersion: 1,
          name: '  Renamed   Kettle ',
          price: { amount: 2700, currency: 'EUR' },
          stock: 9,
        },
      },
      { as: 'acme/alice' },
    );
    expect(response.body.errors).toBeUndefined();
    const payload = response.body.data!.updateProduct;
    expect(payload).toEqual({
      clientMutationId: 'update-1',
      product: {
        ...product,
        name: 'Renamed Kettle',
        price: { amount: 2700, currency: 'EUR' },
        stock: 9,
        version: 2,
        updatedAt: expect.any(String),
      },
      userErrors: [],
    });
    expect(Date.parse(payload.product.updatedAt)).toBeGreaterThanOrEqual(
      Date.parse(product.updatedAt),
    );
    const read = await t.graphql(GET_PRODUCT, { id: product.id }, { as: 'acme/alice' });
    expect(read.body).toEqual({ data: { product: payload.product } });
  });

  it('updates without expectedVersion too', async () => {
    const product = await newProduct();
    const response = await t.graphql(
      UPDATE_PRODUCT,
      { input: { id: product.id, stock: 40 } },
      { as: 'acme/alice' },
    );
    expect(response.body.data!.updateProduct).toMatchObject({
      product: { id: product.id, stock: 40, version: 2 },
      userErrors: [],
    });
  });

  it('refuses a stale expectedVersion with CONFLICT and returns the current state', async () => {
    const product = await newProduct({ stock: 5 });
    const first = await t.graphql(
      UPDATE_PRODUCT,
      { input: { id: product.id, expectedVersion: 1, stock: 6 } },
      { as: 'acme/alice' },
    );
    const current = first.body.data!.updateProduct.product as ProductNode;
    expect(current.version).toBe(2);

    const stale = await t.graphql(
      UPDATE_PRODUCT,
      { input: { clientMutationId: 'stale', id: product.id, expectedVersion: 1, stock: 99 } },
      { as: 'acme/alice' },
    );
    expect(stale.body).toEqual({
      data: {
        updateProduct: {
          clientMutationId: 'stale',
          product: current,
          userErrors: [
            {
              field: ['input', 'expectedVersion'],
              code: 'CONFLICT',
              message: 'The product changed: expected version 1, current version is 2.',
            },
          ],
        },
      },
    });
    const read = await t.graphql(GET_PRODUCT, { id: product.id }, { as: 'acme/alice' });
    expect(read.body).toEqual({ data: { product: current } });
  });

  it('reports NOT_FOUND for a product id that does not exist', async () => {
    const response = await t.graphql(
      UPDATE_PRODUCT,
      { input: { id: 'prod_01h455vb4pex5vsknk084sn02q', expectedVersion: 1, stock: 1 } },
      { as: 'acme/alice' },
    );
    expect(response.body).toEqual({
      data: {
        updateProduct: {
          clientMutationId: null,
          product: null,
          userErrors: [{ field: ['input', 'id'], code: 'NOT_FOUND', message: 'No such product.' }],
        },
      },
    });
  });

  it('reports NOT_FOUND, not FORBIDDEN, for another tenant’s product and leaves it unchanged', async () => {
    const [target] = await listProducts({}, 'globex/dave');
    for (const expectedVersion of [null, target!.version]) {
      const response = await t.graphql(
        UPDATE_PRODUCT,
        { input: { id: target!.id, expectedVersion, name: 'Hijacked', stock: 0 } },
        { as: 'acme/alice' },
      );
      expect(response.body).toEqual({
        data: {
          updateProduct: {
            clientMutationId: null,
            product: null,
            userErrors: [
              { field: ['input', 'id'], code: 'NOT_FOUND', message: 'No such product.' },
            ],
          },
        },
      });
    }
    const read = await t.graphql(GET_PRODUCT, { id: target!.id }, { as: 'globex/dave' });
    expect(read.body).toEqual({ data: { product: target } });
  });

  it('refuses an id that is not a product id', async () => {
    const response = await t.graphql(
      UPDATE_PRODUCT,
      { input: { id: t.ids.users['acme/alice'], stock: 1 } },
      { as: 'acme/alice' },
    );
    expect(response.body).toEqual({
      data: {
        updateProduct: {
          clientMutationId: null,
          product: null,
          userErrors: [
            { field: ['input', 'id'], code: 'BAD_USER_INPUT', message: 'Not a product id.' },
          ],
        },
      },
    });
  });

  it('validates like createProduct and changes nothing', async () => {
    const product = await newProduct();
    const response = await t.graphql(
      UPDATE_PRODUCT,
      { input: { id: product.id, name: ' \u200b ', stock: -1 } },
      { as: 'acme/alice' },
    );
    expect(response.body.data!.updateProduct).toEqual({
      clientMutationId: null,
      product: null,
      userErrors: [
        {
          field: ['input', 'name'],
          code: 'BAD_USER_INPUT',
          message: 'Name must be 1–200 characters.',
        },
        { field: ['input', 'stock'], code: 'BAD_USER_INPUT', message: 'Stock must be at least 0.' },
      ],
    });
    const read = await t.graphql(GET_PRODUCT, { id: product.id }, { as: 'acme/alice' });
    expect(read.body).toEqual({ data: { product } });
  });

  it.each(['acme/bob', 'acme/carol'] as const)(
    'is FORBIDDEN for %s and changes nothing',
    async (as) => {
      const product = await newProduct();
      const response = await t.graphql(
        UPDATE_PRODUCT,
        { input: { id: product.id, stock: 77 } },
        { as },
      );
      expect(response.body.data).toEqual({ updateProduct: null });
      expect(errorsOf(response)).toEqual([
        {
          message: 'Not authorized to resolve Mutation.updateProduct',
          path: ['updateProduct'],
          extensions: { code: 'FORBIDDEN' },
        },
      ]);
      const read = await t.graphql(GET_PRODUCT, { id: product.id }, { as: 'acme/alice' });
      expect(read.body).toEqual({ data: { product } });
    },
  );
});
