/**
 * Server-Timing (issue 13, item 4), through HTTP: every GraphQL response says where its time
 * went (`total`, `db`, `cost`, milliseconds with at most one decimal); production sends it only
 * with SERVER_TIMING=true, and SERVER_TIMING=false turns it off anywhere. Tests assert the
 * header's shape and which parts are present or zero, never how long anything took.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const ORDERS = `query Orders { orders(first: 5) { nodes { id customer { username } } } }`;
const TYPENAME = `query Typename { __typename }`;

/** `total;dur=1.2, db;dur=0.4, cost;dur=0.1` → { total: 1.2, db: 0.4, cost: 0.1 }. */
function parseServerTiming(header: string | null): Record<string, number> {
  expect(header).toMatch(/^total;dur=\d+(\.\d)?, db;dur=\d+(\.\d)?, cost;dur=\d+(\.\d)?$/);
  return Object.fromEntries(
    (header ?? '').split(', ').map((metric) => {
      const [name, duration] = metric.split(';dur=') as [string, string];
      return [name, Number(duration)];
    }),
  );
}

describe('outside production (the default: on)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('reports total, db and cost on a query that reads the database', async () => {
    const response = await t.graphql(ORDERS, undefined, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(response.sqlStatements).toBeGreaterThan(1);
    const timing = parseServerTiming(response.headers.get('server-timing'));
    expect(Object.keys(timing)).toEqual(['total', 'db', 'cost']);
    // Statements were sent and awaited, so their time is there; all of it within the total.
    expect(timing.db).toBeGreaterThan(0);
    expect(timing.total).toBeGreaterThanOrEqual(timing.db ?? 0);
  });

  it('reports db as 0 for an operation rejected before any statement', async () => {
    const response = await t.graphql('query Bad { nope }', undefined, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    const timing = parseServerTiming(response.headers.get('server-timing'));
    expect([timing.db, timing.cost]).toEqual([0, 0]);
  });

  it('is on GET responses too, and on a 304', async () => {
    const first = await t.send({ query: TYPENAME }, { as: 'acme/alice', method: 'GET' });
    parseServerTiming(first.headers.get('server-timing'));
    const etag = first.headers.get('etag') ?? '';
    const notModified = await t.send(
      { query: TYPENAME },
      { as: 'acme/alice', method: 'GET', headers: { 'if-none-match': etag } },
    );
    expect(notModified.status).toBe(304);
    parseServerTiming(notModified.headers.get('server-timing'));
  });

  it('is not on responses that are not GraphQL (health check)', async () => {
    const response = await t.fetch('/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('server-timing')).toBeNull();
  });
});

describe('SERVER_TIMING=false', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { SERVER_TIMING: 'false' } });
  });
  afterAll(() => t.close());

  it('sends no Server-Timing', async () => {
    const response = await t.graphql(ORDERS, undefined, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(response.headers.get('server-timing')).toBeNull();
  });
});

describe('CORS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CORS_ORIGINS: 'https://app.example.com' } });
  });
  afterAll(() => t.close());

  it('lets pages of allowed origins read Server-Timing', async () => {
    const response = await t.graphql(TYPENAME, undefined, {
      as: 'acme/alice',
      headers: { origin: 'https://app.example.com' },
    });
    const exposed = response.headers.get('access-control-expose-headers') ?? '';
    expect(exposed.split(', ')).toContain('Server-Timing');
    parseServerTiming(response.headers.get('server-timing'));
  });
});
