/**
 * Prometheus metrics (src/plugins/metrics.ts, src/metrics/): /metrics on the main port behind
 * METRICS_TOKEN, and exact counts after a known sequence of requests through the real
 * pipeline. Deprecated fields and the transaction gauge use a small schema of their own: the
 * product's schema deprecates nothing, and a transaction is only observable from inside it.
 */
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, MAX_OPERATION_NAMES } from '../../src/metrics/metrics.ts';
import { useMetrics } from '../../src/plugins/metrics.ts';
import { useTransactionMetrics } from '../../src/plugins/transaction-metrics.ts';
import { FIRST_PRODUCT } from '../fixtures/operations.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';
import { family, parseMetrics, series } from '../helpers/metrics.ts';

const TOKEN = 'scrape-token-0123456789abcdef';

const PRODUCTS = /* GraphQL */ `
  query Products { products(first: 2) { nodes { id name } } }
`;
const TOO_BIG = /* GraphQL */ `
  query TooBig { products(first: 100) { nodes { id } } }
`;
const CREATE_ORDER = /* GraphQL */ `
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) { order { id } userErrors { code } }
  }
`;

const products = { operationName: 'Products', operationType: 'query' };
const firstProduct = { operationName: 'FirstProduct', operationType: 'query' };
const tooBig = { operationName: 'TooBig', operationType: 'query' };
const createOrder = { operationName: 'CreateOrder', operationType: 'mutation' };

let t: TestApp;

async function scrape(authorization = `Bearer ${TOKEN}`) {
  return t.fetch('/metrics', { headers: { authorization } });
}

beforeAll(async () => {
  t = await startTestApp({
    env: {
      METRICS_TOKEN: TOKEN,
      // TooBig (101 points) is over the maximum; globex (plan free) holds 2 points, which
      // do not come back during the test (one per 1000 s).
      MAX_COST: '50',
      BUDGET_FREE: '2/0.001',
    },
  });
});
afterAll(() => t.close());

describe('/metrics on the main port (METRICS_TOKEN)', () => {
  it('refuses a scrape without the token', async () => {
    const response = await scrape('');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(await response.text()).toBe('A bearer token (METRICS_TOKEN) is required.\n');
  });

  it('refuses a wrong token, and another scheme', async () => {
    expect((await scrape(`Bearer ${TOKEN}x`)).status).toBe(401);
    expect((await scrape(`Bearer ${TOKEN.slice(0, -1)}`)).status).toBe(401);
    expect((await scrape(`Basic ${TOKEN}`)).status).toBe(401);
  });

  it('refuses other methods', async () => {
    const response = await t.fetch('/metrics', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect([response.status, response.headers.get('allow')]).toEqual([405, 'GET']);
  });

  it('answers Prometheus text to the token', async () => {
    const response = await scrape(`bearer  ${TOKEN}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const samples = parseMetrics(await response.text());
    expect(family(samples, 'orders_api_db_pool_max')).toEqual({ orders_api_db_pool_max: 1 });
  });
});

describe('what is counted', () => {
  let samples: Map<string, number>;

  beforeAll(async () => {
    const ok = await t.graphql(PRODUCTS, {}, { as: 'acme/alice' });
    await t.graphql(PRODUCTS, {}, { as: 'acme/alice' });
    const tooComplex = await t.graphql(TOO_BIG, {}, { as: 'acme/alice' });
    const syntax = await t.graphql('query Broken {', {}, { as: 'acme/alice' });
    const allowed = await t.graphql(FIRST_PRODUCT, {}, { as: 'globex/dave' });
    const throttled = await t.graphql(FIRST_PRODUCT, {}, { as: 'globex/dave' });
    const productId = ok.body.data!.products.nodes[0].id;
    const input = { clientMutationId: newClientMutationId(), items: [{ productId, quantity: 1 }] };
    const first = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    const replay = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    const unknown = await t.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query A { __typename }', operationName: 'Invented' }),
    });
    // The sequence went as planned.
    expect(
      [ok, tooComplex, syntax, allowed, throttled, first, replay].map((r) => [
        r.status,
        r.body.errors?.map((error) => error.extensions?.code) ?? [],
      ]),
    ).toEqual([
      [200, []],
      [400, ['QUERY_TOO_COMPLEX']],
      [400, ['GRAPHQL_PARSE_FAILED']],
      [200, []],
      [429, ['THROTTLED']],
      [200, []],
      [200, []],
    ]);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect([unknown.status, (await unknown.json()).errors[0].extensions.code]).toEqual([
      400,
      'OPERATION_RESOLUTION_FAILURE',
    ]);
    samples = parseMetrics(await (await scrape()).text());
  });

  it('counts and times GraphQL HTTP requests by operation, method and status', () => {
    expect(family(samples, 'graphql_yoga_http_duration_count')).toEqual({
      [series('graphql_yoga_http_duration_count', {
        ...products,
        method: 'POST',
        statusCode: 200,
      })]: 2,
      [series('graphql_yoga_http_duration_count', {
        ...tooBig,
        method: 'POST',
        statusCode: 400,
      })]: 1,
      [series('graphql_yoga_http_duration_count', {
        ...firstProduct,
        method: 'POST',
        statusCode: 200,
      })]: 1,
      [series('graphql_yoga_http_duration_count', {
        ...firstProduct,
        method: 'POST',
        statusCode: 429,
      })]: 1,
      [series('graphql_yoga_http_duration_count', {
        ...createOrder,
        method: 'POST',
        statusCode: 200,
      })]: 2,
      [series('graphql_yoga_http_duration_count', {
        operationName: '(unknown)',
        operationType: '(unknown)',
        method: 'POST',
        statusCode: 400,
      })]: 1,
    });
  });

  it('counts and times operations that reached execution, by name and type', () => {
    expect(family(samples, 'graphql_envelop_request')).toEqual({
      [series('graphql_envelop_request', products)]: 2,
      [series('graphql_envelop_request', tooBig)]: 1,
      [series('graphql_envelop_request', firstProduct)]: 2,
      [series('graphql_envelop_request', createOrder)]: 2,
    });
    expect(samples.get(series('graphql_envelop_request_duration_count', products))).toBe(2);
  });

  it('observes the requested and actual cost of each operation', () => {
    const cost = (kind: string, labels: object, stat: 'count' | 'sum') =>
      samples.get(series(`orders_api_operation_cost_${stat}`, { kind, ...labels }));
    expect([cost('requested', products, 'count'), cost('requested', products, 'sum')]).toEqual([
      2, 6,
    ]);
    expect([cost('actual', products, 'count'), cost('actual', products, 'sum')]).toEqual([2, 6]);
    // Refused for its cost: requested, never executed.
    expect([cost('requested', tooBig, 'count'), cost('requested', tooBig, 'sum')]).toEqual([
      1, 101,
    ]);
    expect(cost('actual', tooBig, 'count')).toBeUndefined();
    // One ran, one was throttled.
    expect([
      cost('requested', firstProduct, 'count'),
      cost('actual', firstProduct, 'count'),
    ]).toEqual([2, 1]);
    expect(
      samples.get(
        series('orders_api_operation_cost_bucket', { kind: 'requested', ...tooBig, le: 100 }),
      ),
    ).toBe(0);
    expect(
      samples.get(
        series('orders_api_operation_cost_bucket', { kind: 'requested', ...tooBig, le: 250 }),
      ),
    ).toBe(1);
  });

  it('counts refusals by error code, and throttles', () => {
    expect(family(samples, 'orders_api_rejections_total')).toEqual({
      [series('orders_api_rejections_total', { code: 'QUERY_TOO_COMPLEX' })]: 1,
      [series('orders_api_rejections_total', { code: 'GRAPHQL_PARSE_FAILED' })]: 1,
      [series('orders_api_rejections_total', { code: 'THROTTLED' })]: 1,
      [series('orders_api_rejections_total', { code: 'OPERATION_RESOLUTION_FAILURE' })]: 1,
    });
    expect(family(samples, 'orders_api_throttles_total')).toEqual({
      [series('orders_api_throttles_total', { code: 'THROTTLED' })]: 1,
    });
  });

  it('counts idempotent replays', () => {
    expect(samples.get('orders_api_idempotent_replays_total')).toBe(1);
  });

  it('reports the pool, the transactions in flight and the circuit', () => {
    expect(samples.get('orders_api_db_pool_max')).toBe(1);
    expect(samples.get('orders_api_db_transactions_in_flight')).toBe(0);
    expect(family(samples, 'orders_api_db_circuit_state')).toEqual({
      [series('orders_api_db_circuit_state', { state: 'closed' })]: 1,
      [series('orders_api_db_circuit_state', { state: 'open' })]: 0,
      [series('orders_api_db_circuit_state', { state: 'half-open' })]: 0,
    });
  });

  it('never labels a series with a name the request made up', () => {
    expect([...samples.keys()].filter((key) => key.includes('Invented'))).toEqual([]);
  });
});

const DEPRECATED_SCHEMA = createSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      name: String @deprecated(reason: "Use displayName.")
      displayName: String
      inFlight: Int
    }
  `,
  resolvers: {
    Query: {
      name: () => 'old',
      displayName: () => 'new',
      inFlight: (_parent, _args, context: { inFlight: () => Promise<number> }) =>
        context.inFlight(),
    },
  },
});

function smallApp(metrics = createMetrics({ poolMax: 3 })) {
  const inFlight = async () =>
    (await metrics.dbTransactionsInFlight.get()).values[0]?.value ?? Number.NaN;
  const yoga = createYoga({
    schema: DEPRECATED_SCHEMA,
    logging: false,
    context: () => ({ inFlight }),
    plugins: [useMetrics({ metrics, token: TOKEN }), useTransactionMetrics({ metrics })],
  });
  const query = (document: string) =>
    yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: document }),
    });
  const samples = async () =>
    parseMetrics(
      await (
        await yoga.fetch('http://localhost/metrics', {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).text(),
    );
  return { metrics, query, samples };
}

describe('deprecated fields', () => {
  it('counts each use of a deprecated field, by field and operation', async () => {
    const app = smallApp();
    await app.query('query Old { name }');
    await app.query('query Old { name }');
    await app.query('query New { displayName }');
    expect(family(await app.samples(), 'graphql_envelop_deprecated_field')).toEqual({
      [series('graphql_envelop_deprecated_field', {
        operationName: 'Old',
        operationType: 'query',
        fieldName: 'name',
        typeName: 'Query',
      })]: 2,
    });
  });
});

describe('transactions in flight', () => {
  it('counts an operation while it executes, and not after', async () => {
    const app = smallApp();
    const response = await app.query('{ inFlight }');
    expect(await response.json()).toEqual({ data: { inFlight: 1 } });
    expect((await app.samples()).get('orders_api_db_transactions_in_flight')).toBe(0);
  });
});

describe('registries', () => {
  it('keeps each app instance its own counts', async () => {
    const one = smallApp();
    const two = smallApp();
    await one.query('query Hello { displayName }');
    const counted = series('graphql_envelop_request', {
      operationName: 'Hello',
      operationType: 'query',
    });
    expect((await one.samples()).get(counted)).toBe(1);
    expect((await two.samples()).get(counted)).toBeUndefined();
  });
});

describe('createMetrics', () => {
  it('reports the circuit state it is given', async () => {
    const metrics = createMetrics({ poolMax: 10 });
    metrics.setCircuitState('open');
    let samples = parseMetrics(await metrics.registry.metrics());
    expect(family(samples, 'orders_api_db_circuit_state')).toEqual({
      [series('orders_api_db_circuit_state', { state: 'closed' })]: 0,
      [series('orders_api_db_circuit_state', { state: 'open' })]: 1,
      [series('orders_api_db_circuit_state', { state: 'half-open' })]: 0,
    });
    metrics.setCircuitState('half-open');
    samples = parseMetrics(await metrics.registry.metrics());
    expect(samples.get(series('orders_api_db_circuit_state', { state: 'half-open' }))).toBe(1);
    expect(samples.get(series('orders_api_db_circuit_state', { state: 'open' }))).toBe(0);
    expect(samples.get('orders_api_db_pool_max')).toBe(10);
  });

  it(`labels at most ${MAX_OPERATION_NAMES} operation names, the rest as (other)`, async () => {
    const app = smallApp();
    for (let i = 0; i <= MAX_OPERATION_NAMES; i++) await app.query(`query Op${i} { displayName }`);
    const names = Object.keys(family(await app.samples(), 'graphql_envelop_request'));
    expect(names).toHaveLength(MAX_OPERATION_NAMES + 1);
    expect(names).toContain(
      series('graphql_envelop_request', { operationName: 'Op0', operationType: 'query' }),
    );
    expect(names).toContain(
      series('graphql_envelop_request', { operationName: '(other)', operationType: 'query' }),
    );
    expect(names).not.toContain(
      series('graphql_envelop_request', {
        operationName: `Op${MAX_OPERATION_NAMES}`,
        operationType: 'query',
      }),
    );
  });

  it('names an unnamed operation Anonymous, and one it cannot choose (unknown)', async () => {
    const { parse } = await import('graphql');
    const metrics = createMetrics({ poolMax: 1 });
    expect(metrics.operationLabels(parse('{ a }'), undefined)).toEqual({
      operationName: 'Anonymous',
      operationType: 'query',
    });
    expect(metrics.operationLabels(parse('query A { a } mutation B { b }'), 'B')).toEqual({
      operationName: 'B',
      operationType: 'mutation',
    });
    expect(metrics.operationLabels(parse('query A { a } query B { b }'), undefined)).toEqual({
      operationName: '(unknown)',
      operationType: '(unknown)',
    });
    expect(metrics.operationLabels(undefined, 'A')).toEqual({
      operationName: '(unknown)',
      operationType: '(unknown)',
    });
  });
});
