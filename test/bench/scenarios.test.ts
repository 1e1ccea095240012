/**
 * The bench's requests, sent through the real pipeline: each scenario must measure what it
 * claims (the pages answer, the attacks are refused with the code they aim at), or the
 * numbers would be about something else. No load, no timing.
 */
import { readFile } from 'node:fs/promises';
import { brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTACKS,
  attackRequests,
  type BenchRequest,
  createOrderRequests,
  orderListPageRequests,
  orderListRequests,
  orderListText,
  type PersistedOperation,
  persistedOperation,
  productSearchRequests,
  replayRequests,
  SEARCH_TERMS,
} from '../../bench/scenarios.ts';
import { parseManifest } from '../../src/persisted-operations/manifest.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let testApp: TestApp;
let operations: Record<'OrderList' | 'ProductList' | 'CreateOrder', PersistedOperation>;
let alice: string;
let bob: string;
let carol: string;

beforeAll(async () => {
  // The bench servers' MAX_COST (bench/bench.ts), so that a page of 50 orders fits.
  testApp = await startTestApp({ env: { MAX_COST: '5000', PERSISTED_OPERATIONS: 'allow' } });
  const manifest = parseManifest(
    await readFile(testApp.config.persistedOperations.manifestFile, 'utf8'),
    'manifest.json',
  );
  operations = {
    OrderList: persistedOperation(manifest, 'OrderList'),
    ProductList: persistedOperation(manifest, 'ProductList'),
    CreateOrder: persistedOperation(manifest, 'CreateOrder'),
  };
  [alice, bob, carol] = await Promise.all([
    testApp.token('acme/alice'),
    testApp.token('acme/bob'),
    testApp.token('acme/carol'),
  ]);
});

afterAll(() => testApp.close());

/** What autocannon would send next for this request (its setupRequest applied). */
function next(request: BenchRequest): BenchRequest {
  return typeof request.setupRequest === 'function'
    ? request.setupRequest({ ...request }, {})
    : request;
}

async function send(request: BenchRequest) {
  const response = await testApp.fetch(request.path ?? '/graphql', {
    method: request.method ?? 'POST',
    headers: request.headers as Record<string, string>,
    body: request.body as string,
  });
  const text = await response.text();
  return {
    status: response.status,
    sqlStatements: Number(response.headers.get('x-sql-statements')),
    // biome-ignore lint/suspicious/noExplicitAny: response JSON, read by the query's shape
    json: (text.startsWith('{') ? JSON.parse(text) : {}) as any,
  };
}

describe('persistedOperation', () => {
  it('finds an operation of the manifest by name', () => {
    expect(operations.OrderList.documentId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(operations.OrderList.document).toContain('query OrderList');
  });

  it('refuses a name the manifest lacks', () => {
    expect(() => persistedOperation({ version: 1, operations: {} }, 'Nope')).toThrow(
      'The persisted-operation manifest has no operation named Nope.',
    );
  });
});

describe('(a) the orders page', () => {
  it('answers the persisted OrderList with 20 orders', async () => {
    const [request] = orderListRequests(alice, operations.OrderList);
    const response = await send(request as BenchRequest);
    expect(response.status).toBe(200);
    expect(response.json.errors).toBeUndefined();
    expect(response.json.data.orders.nodes).toHaveLength(20);
  });

  it('asks for brotli in the compression row, and gets the same page, smaller', async () => {
    const [plain] = orderListRequests(alice, operations.OrderList);
    const [br] = orderListRequests(alice, operations.OrderList, 'br');
    expect(br?.headers).toEqual({ ...plain?.headers, 'accept-encoding': 'br' });
    const request = (sent: BenchRequest) =>
      testApp.fetch('/graphql', {
        method: 'POST',
        headers: sent.headers as Record<string, string>,
        body: sent.body as string,
      });
    const uncompressed = await request(plain as BenchRequest);
    const compressed = await request(br as BenchRequest);
    expect(uncompressed.headers.get('content-encoding')).toBeNull();
    expect(compressed.headers.get('content-encoding')).toBe('br');
    const plainBytes = Buffer.from(await uncompressed.arrayBuffer());
    const brBytes = Buffer.from(await compressed.arrayBuffer());
    expect(brBytes.byteLength).toBeLessThan(plainBytes.byteLength / 4);
    const page = (bytes: Buffer) => JSON.parse(bytes.toString('utf8')).data;
    expect(page(brotliDecompressSync(brBytes))).toEqual(page(plainBytes));
  });

  it('changes only the page size in the text variants, and they cost the same SQL statements', async () => {
    expect(orderListText(operations.OrderList, 5)).toBe(
      operations.OrderList.document.replace('orders(first: 20,', 'orders(first: 5,'),
    );
    const counts: number[] = [];
    for (const [pageSize, expected] of [
      [5, 5],
      [20, 20],
      [50, 40],
    ] as const) {
      const [request] = orderListPageRequests(alice, operations.OrderList, pageSize);
      const response = await send(request as BenchRequest);
      expect(response.status).toBe(200);
      expect(response.json.errors).toBeUndefined();
      // The demo tenant has 40 orders: a page of 50 holds them all.
      expect(response.json.data.orders.nodes).toHaveLength(expected);
      counts.push(response.sqlStatements);
    }
    expect(counts).toEqual([5, 5, 5]);
  });

  it('fails loudly when OrderList no longer has the page size the variants replace', () => {
    expect(() => orderListText({ documentId: 'sha256:x', document: 'query X { a }' }, 5)).toThrow(
      'OrderList no longer asks for `orders(first: 20, …)`; update the bench.',
    );
  });
});

describe('(b) product search', () => {
  it('searches a different seeded word on each request, and finds products', async () => {
    const [request] = productSearchRequests(bob, operations.ProductList);
    const searched: string[] = [];
    let found = 0;
    for (let i = 0; i < SEARCH_TERMS.length + 1; i++) {
      const sent = next(request as BenchRequest);
      const body = JSON.parse(sent.body as string);
      expect(body.documentId).toBe(operations.ProductList.documentId);
      searched.push(body.variables.filter.search);
      const response = await send(sent);
      expect(response.status).toBe(200);
      expect(response.json.errors).toBeUndefined();
      found += response.json.data.products.nodes.length;
    }
    expect(searched).toEqual([...SEARCH_TERMS, SEARCH_TERMS[0]]);
    // The demo data has 50 products per tenant; scale 100, 5000, where every word is common.
    expect(found).toBeGreaterThan(0);
  });
});

describe('(c) and (d) checkouts', () => {
  async function productInStock(): Promise<string> {
    const response = await testApp.graphql(
      '{ products(first: 100) { nodes { id stock } } }',
      {},
      { as: 'acme/bob' },
    );
    const product = response.body.data?.products.nodes.find(
      (node: { stock: number }) => node.stock >= 10,
    );
    return product.id;
  }

  it('creates an order per request, each with a new key and a product in turn', async () => {
    const productId = await productInStock();
    const [request] = createOrderRequests(bob, operations.CreateOrder, [productId], 'test-c');
    const ids = new Set<string>();
    const keys: string[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await send(next(request as BenchRequest));
      expect(response.status).toBe(200);
      expect(response.json.data.createOrder.userErrors).toEqual([]);
      keys.push(response.json.data.createOrder.clientMutationId);
      ids.add(response.json.data.createOrder.order.id);
    }
    expect(keys).toEqual(['test-c-0', 'test-c-1']);
    expect(ids.size).toBe(2);
  });

  it('replays one order for every request with the same key', async () => {
    const productId = await productInStock();
    const [request] = replayRequests(bob, operations.CreateOrder, productId, 'test-d');
    const first = await send(request as BenchRequest);
    const again = await send(request as BenchRequest);
    expect(first.status).toBe(200);
    expect(first.json.data.createOrder.userErrors).toEqual([]);
    expect(again.json.data).toEqual(first.json.data);
    expect(again.json.extensions.idempotentReplay).toBe(true);
    // The replay is answered from the stored payload, not by running the mutation again.
    expect(again.sqlStatements).toBeLessThan(first.sqlStatements);
  });

  it('needs products to order', () => {
    expect(() => createOrderRequests(bob, operations.CreateOrder, [], 'x')).toThrow(
      'createOrder needs at least one product id.',
    );
  });
});

describe('(e) the attacker', () => {
  it('sends four attacks, each refused by the limit it aims at, before any SQL', async () => {
    const requests = attackRequests(carol);
    expect(requests).toHaveLength(Object.keys(ATTACKS).length);
    const outcomes = [];
    for (const request of requests) {
      const response = await send(request);
      outcomes.push([
        response.status,
        response.json.errors?.[0]?.extensions?.code ?? null,
        response.sqlStatements,
      ]);
    }
    expect(outcomes).toEqual([
      [400, 'QUERY_TOO_DEEP', 0],
      [400, 'TOO_MANY_ALIASES', 0],
      [400, 'DOCUMENT_TOO_LARGE', 0],
      [413, 'REQUEST_ENTITY_TOO_LARGE', 0],
    ]);
  });

  it('makes documents of the sizes it says', () => {
    expect(ATTACKS.oversizeDocument.document).toHaveLength(50_000);
    expect(ATTACKS.oversizeBody.document).toHaveLength(120 * 1024);
  });
});
