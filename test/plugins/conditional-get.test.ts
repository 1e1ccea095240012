/**
 * GraphQL over GET through HTTP: full-text queries in the URL get `Cache-Control: private,
 * no-cache`, `Vary: Authorization, Accept` and, when successful, a weak ETag over their data;
 * a matching If-None-Match gets 304 with no body. Mutations over GET are 405 with
 * `Allow: POST` and never run. POST responses are left alone.
 *
 * The pro plan's bucket refills at 0.001 points per second, so every query visibly lowers
 * `extensions.cost.throttleStatus.currentlyAvailable`: consecutive responses differ in their
 * extensions while their data, and so their ETag, stays the same.
 */
import { createHash } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { products } from '../../src/db/schema.ts';
import { MUTATION_OVER_GET_MESSAGE } from '../../src/plugins/conditional-get.ts';
import { WHO_AM_I } from '../fixtures/operations.ts';
import { type DemoUserName, startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const PRODUCT_STOCK = /* GraphQL */ `
  query ProductStock($id: ID!) {
    product(id: $id) { id stock }
  }
`;

const CREATE_PRODUCT = /* GraphQL */ `
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) { product { id } userErrors { code } }
  }
`;

const CREATE_ORDER = /* GraphQL */ `
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) { order { id } userErrors { code } }
  }
`;

/** One document, two operations: which one runs is chosen by `operationName`. */
const READ_OR_WRITE = /* GraphQL */ `
  query Read { viewer { user { username } } }
  mutation Write($input: CreateProductInput!) {
    createProduct(input: $input) { product { id } }
  }
`;

const UNKNOWN_FIELD = /* GraphQL */ `
  query Unknown { nope }
`;

const BAD_ID = /* GraphQL */ `
  query BadId { viewer { user { username } } product(id: "not-an-id") { id } }
`;

const WEAK_ETAG = /^W\/"[A-Za-z0-9_-]{43}"$/;

let t: TestApp;
const tokens = new Map<DemoUserName, string>();

beforeAll(async () => {
  t = await startTestApp({ env: { BUDGET_PRO: '1000000/0.001' } });
  for (const user of ['acme/alice', 'acme/bob'] as const) tokens.set(user, await t.token(user));
}, 60_000);

afterAll(async () => {
  await t?.close();
});

interface GetOptions {
  as?: DemoUserName;
  operationName?: string;
  headers?: Record<string, string>;
}

function productInput(name: string, stock = 1) {
  return {
    input: {
      clientMutationId: newClientMutationId('product'),
      name,
      price: { amount: 100, currency: 'USD' },
      stock,
    },
  };
}

/**
 * `GET /graphql?query=…&variables=…` as a demo user, the way a browser's fetch sends it (with
 * the header that forces a CORS preflight, which GETs need: src/http/csrf-prevention.ts).
 */
async function get(query: string, variables?: Record<string, unknown>, options: GetOptions = {}) {
  const search = new URLSearchParams({ query });
  if (variables) search.set('variables', JSON.stringify(variables));
  if (options.operationName) search.set('operationName', options.operationName);
  const response = await t.fetch(`/graphql?${search}`, {
    headers: {
      authorization: `Bearer ${tokens.get(options.as ?? 'acme/alice')}`,
      accept: 'application/graphql-response+json',
      'graphql-require-preflight': '1',
      ...options.headers,
    },
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text ? JSON.parse(text) : undefined,
  };
}

/** The expected tag, computed independently of the plugin: sha256 of the data's JSON. */
function expectedEtag(data: unknown): string {
  return `W/"${createHash('sha256').update(JSON.stringify(data)).digest('base64url')}"`;
}

/** The headers a 304 must keep from the 200 it stands for. */
function cacheHeaders(headers: Headers) {
  return {
    etag: headers.get('etag'),
    cacheControl: headers.get('cache-control'),
    vary: headers.get('vary'),
  };
}

describe('a successful query over GET', () => {
  it('has a weak ETag over its data, Cache-Control: private, no-cache and Vary', async () => {
    const response = await get(WHO_AM_I);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ viewer: { user: { username: 'alice' } } });
    expect(cacheHeaders(response.headers)).toEqual({
      etag: expectedEtag({ viewer: { user: { username: 'alice' } } }),
      cacheControl: 'private, no-cache',
      vary: 'Authorization, Accept, Accept-Encoding',
    });
    expect(response.headers.get('etag')).toMatch(WEAK_ETAG);
  });

  it('keeps the same ETag across identical requests although extensions.cost differs', async () => {
    const first = await get(WHO_AM_I);
    const second = await get(WHO_AM_I);
    expect(second.body.data).toEqual(first.body.data);
    expect(second.body.extensions.cost).not.toEqual(first.body.extensions.cost);
    expect(second.body.extensions.cost.throttleStatus.currentlyAvailable).toBeLessThan(
      first.body.extensions.cost.throttleStatus.currentlyAvailable,
    );
    expect(first.headers.get('etag')).toMatch(WEAK_ETAG);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
  });

  it('has the same ETag whichever media type was negotiated', async () => {
    const graphqlResponse = await get(WHO_AM_I);
    const json = await get(WHO_AM_I, undefined, { headers: { accept: 'application/json' } });
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(graphqlResponse.headers.get('etag')).toMatch(WEAK_ETAG);
    expect(json.headers.get('etag')).toBe(graphqlResponse.headers.get('etag'));
  });

  it('appends to a Vary header that an earlier layer set (CORS: Origin)', async () => {
    // An app with CORS for one origin, whose layer sets `Vary: Origin` before this plugin.
    const withCors = await startTestApp({ env: { CORS_ORIGINS: 'https://app.example' } });
    try {
      const response = await withCors.send(
        { query: WHO_AM_I },
        { as: 'acme/alice', method: 'GET', headers: { origin: 'https://app.example' } },
      );
      expect(response.status).toBe(200);
      const vary = response.headers
        .get('vary')
        ?.split(',')
        .map((name) => name.trim());
      expect(vary).toEqual(
        expect.arrayContaining(['Origin', 'Authorization', 'Accept', 'Accept-Encoding']),
      );
      expect(vary).toHaveLength(4);
    } finally {
      await withCors.close();
    }
  });
});

describe('If-None-Match', () => {
  let etag: string;
  let opaque: string;

  beforeAll(async () => {
    etag = (await get(WHO_AM_I)).headers.get('etag')!;
    opaque = etag.slice(2);
  });

  it('answers 304 with no body when the tag matches, keeping the cache headers', async () => {
    const response = await get(WHO_AM_I, undefined, { headers: { 'if-none-match': etag } });
    expect(response.status).toBe(304);
    expect(response.text).toBe('');
    expect(cacheHeaders(response.headers)).toEqual({
      etag,
      cacheControl: 'private, no-cache',
      vary: 'Authorization, Accept, Accept-Encoding',
    });
    expect(response.headers.get('content-type')).toBeNull();
    expect(response.headers.get('content-length')).toBeNull();
  });

  it('keeps the request id and the rate-limit headers on a 304: the query ran and was charged', async () => {
    const before = await get(WHO_AM_I);
    const response = await get(WHO_AM_I, undefined, {
      headers: { 'if-none-match': etag, 'x-request-id': 'conditional-get-304' },
    });
    expect(response.status).toBe(304);
    expect(response.headers.get('x-request-id')).toBe('conditional-get-304');
    expect(response.headers.get('ratelimit-policy')).toBe('"cost";q=1000000;w=1000000000');
    const remaining = Number(response.headers.get('x-ratelimit-remaining'));
    const cost = before.body.extensions.cost.requestedQueryCost as number;
    expect(cost).toBeGreaterThan(0);
    expect(remaining).toBe(before.body.extensions.cost.throttleStatus.currentlyAvailable - cost);
  });

  it('answers 200 with the body when the tag does not match', async () => {
    const other = `W/"${'A'.repeat(43)}"`;
    const response = await get(WHO_AM_I, undefined, { headers: { 'if-none-match': other } });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ viewer: { user: { username: 'alice' } } });
    expect(response.headers.get('etag')).toBe(etag);
  });

  it.each([
    ['a list holding the tag', () => `W/"stale", ${etag}, "older"`],
    ['a list without spaces', () => `"stale",${etag}`],
    ['the tag without its weak prefix (weak comparison)', () => opaque],
    ['the wildcard', () => '*'],
  ])('answers 304 for %s', async (_name, header) => {
    const response = await get(WHO_AM_I, undefined, { headers: { 'if-none-match': header() } });
    expect(response.status).toBe(304);
    expect(response.text).toBe('');
  });

  it.each([
    ['a list of other tags', () => 'W/"stale", "older"'],
    ['the tag unquoted', () => opaque.slice(1, -1)],
    ['the tag with a different case', () => etag.toLowerCase()],
    ['an empty header', () => ''],
  ])('answers 200 for %s', async (_name, header) => {
    const response = await get(WHO_AM_I, undefined, { headers: { 'if-none-match': header() } });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ viewer: { user: { username: 'alice' } } });
  });
});

describe('what the ETag identifies', () => {
  it('differs for another user whose data differs, who then gets a full 200', async () => {
    const alice = await get(WHO_AM_I, undefined, { as: 'acme/alice' });
    const bob = await get(WHO_AM_I, undefined, {
      as: 'acme/bob',
      headers: { 'if-none-match': alice.headers.get('etag')! },
    });
    expect(bob.status).toBe(200);
    expect(bob.body.data).toEqual({ viewer: { user: { username: 'bob' } } });
    expect(bob.headers.get('etag')).toBe(expectedEtag({ viewer: { user: { username: 'bob' } } }));
    expect(bob.headers.get('etag')).not.toBe(alice.headers.get('etag'));
  });

  it('changes when a mutation changes the data: the old tag then gets a 200', async () => {
    const stock = 5;
    const created = await t.graphql(
      CREATE_PRODUCT,
      productInput(`Stocked ${newClientMutationId()}`, stock),
      { as: 'acme/alice' },
    );
    const id = created.body.data!.createProduct.product.id as string;
    const before = await get(PRODUCT_STOCK, { id });
    expect(before.body.data).toEqual({ product: { id, stock } });
    const unchanged = await get(
      PRODUCT_STOCK,
      { id },
      {
        headers: { 'if-none-match': before.headers.get('etag')! },
      },
    );
    expect(unchanged.status).toBe(304);

    const order = await t.graphql(
      CREATE_ORDER,
      {
        input: {
          clientMutationId: newClientMutationId('order'),
          items: [{ productId: id, quantity: 1 }],
        },
      },
      { as: 'acme/bob' },
    );
    expect(order.body.data!.createOrder.userErrors).toEqual([]);

    const after = await get(
      PRODUCT_STOCK,
      { id },
      {
        headers: { 'if-none-match': before.headers.get('etag')! },
      },
    );
    expect(after.status).toBe(200);
    expect(after.body.data).toEqual({ product: { id, stock: stock - 1 } });
    expect(after.headers.get('etag')).toBe(expectedEtag({ product: { id, stock: stock - 1 } }));
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
  });
});

describe('responses without an ETag', () => {
  it('POST: no ETag, no Cache-Control, Vary only by encoding, and If-None-Match is ignored', async () => {
    const etag = (await get(WHO_AM_I)).headers.get('etag')!;
    const response = await t.graphql(
      WHO_AM_I,
      {},
      {
        as: 'acme/alice',
        headers: { 'if-none-match': etag },
      },
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { viewer: { user: { username: 'alice' } } } });
    expect(cacheHeaders(response.headers)).toEqual({
      etag: null,
      cacheControl: null,
      vary: 'Accept-Encoding',
    });
  });

  it('a GET rejected before execution (400): no ETag, still private and no-cache', async () => {
    const response = await get(UNKNOWN_FIELD, undefined, { headers: { 'if-none-match': '*' } });
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors).toHaveLength(1);
    expect(cacheHeaders(response.headers)).toEqual({
      etag: null,
      cacheControl: 'private, no-cache',
      vary: 'Authorization, Accept, Accept-Encoding',
    });
  });

  it('a GET answered 200 with data and errors: no ETag, and never a 304', async () => {
    const response = await get(BAD_ID, undefined, { headers: { 'if-none-match': '*' } });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ viewer: { user: { username: 'alice' } }, product: null });
    expect(response.body.errors).toHaveLength(1);
    expect(cacheHeaders(response.headers)).toEqual({
      etag: null,
      cacheControl: 'private, no-cache',
      vary: 'Authorization, Accept, Accept-Encoding',
    });
  });
});

describe('mutations over GET', () => {
  async function productsNamed(name: string): Promise<number> {
    const [row] = await t.database.db
      .select({ n: count() })
      .from(products)
      .where(eq(products.name, name));
    return row!.n;
  }

  it('are 405 METHOD_NOT_ALLOWED with Allow: POST, and nothing is created', async () => {
    const name = `GET mutation ${newClientMutationId()}`;
    const response = await get(CREATE_PRODUCT, productInput(name));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.headers.get('etag')).toBeNull();
    expect(response.body.errors).toEqual([
      {
        message: MUTATION_OVER_GET_MESSAGE,
        extensions: {
          code: 'METHOD_NOT_ALLOWED',
          requestId: response.headers.get('x-request-id'),
        },
      },
    ]);
    expect(response.body.data).toBeUndefined();
    expect(response.body.extensions.cost.requestedQueryCost).toBeNull();
    expect(await productsNamed(name)).toBe(0);
  });

  it('are refused with application/json too, where errors are otherwise 200', async () => {
    const name = `GET mutation ${newClientMutationId()}`;
    const response = await get(CREATE_PRODUCT, productInput(name), {
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.body.errors[0].extensions.code).toBe('METHOD_NOT_ALLOWED');
    expect(await productsNamed(name)).toBe(0);
  });

  it('are told apart by operationName in a document that also holds a query', async () => {
    const name = `GET mutation ${newClientMutationId()}`;
    const write = await get(READ_OR_WRITE, productInput(name), { operationName: 'Write' });
    expect(write.status).toBe(405);
    expect(write.body.errors[0].extensions.code).toBe('METHOD_NOT_ALLOWED');
    expect(await productsNamed(name)).toBe(0);

    const read = await get(READ_OR_WRITE, undefined, { operationName: 'Read' });
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual({ viewer: { user: { username: 'alice' } } });
  });

  it('still run over POST, the same document the GET was refused for', async () => {
    const name = `POST mutation ${newClientMutationId()}`;
    expect((await get(CREATE_PRODUCT, productInput(name))).status).toBe(405);
    const response = await t.graphql(CREATE_PRODUCT, productInput(name), { as: 'acme/alice' });
    expect(response.body.data!.createProduct.userErrors).toEqual([]);
    expect(await productsNamed(name)).toBe(1);
  });
});
