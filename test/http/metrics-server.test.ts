/**
 * METRICS_PORT (src/http/metrics-server.ts): /metrics on a listener of its own, on a free
 * loopback port; and the main port, which then serves no /metrics at all, nor without any
 * METRICS_* setting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetricsServer, startMetricsServer } from '../../src/http/metrics-server.ts';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { parseMetrics, series } from '../helpers/metrics.ts';

const TOKEN = 'listener-token-0123456789abcdef';

describe('a listener of its own', () => {
  let metrics: Metrics;
  let open: MetricsServer;
  let guarded: MetricsServer;

  beforeAll(async () => {
    metrics = createMetrics({ poolMax: 4 });
    open = await startMetricsServer({
      registry: metrics.registry,
      host: '127.0.0.1',
      port: 0,
      token: null,
    });
    guarded = await startMetricsServer({
      registry: metrics.registry,
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
    });
  });
  afterAll(async () => {
    await open.close();
    await guarded.close();
  });

  const get = (server: MetricsServer, path: string, init?: RequestInit) =>
    fetch(`http://127.0.0.1:${server.port}${path}`, init);

  it('serves the registry on /metrics', async () => {
    const response = await get(open, '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(parseMetrics(await response.text()).get('orders_api_db_pool_max')).toBe(4);
  });

  it('answers 404 to any other path and 405 to other methods', async () => {
    expect((await get(open, '/')).status).toBe(404);
    expect((await get(open, '/graphql')).status).toBe(404);
    expect((await get(open, '/metrics', { method: 'POST' })).status).toBe(405);
  });

  it('answers 503 when the metrics cannot be collected', async () => {
    const failing = await startMetricsServer({
      registry: {
        contentType: 'text/plain',
        metrics: () => Promise.reject(new Error('timed out')),
      },
      host: '127.0.0.1',
      port: 0,
      token: null,
    });
    try {
      const response = await get(failing, '/metrics');
      expect([response.status, await response.text()]).toEqual([
        503,
        'The metrics could not be collected.\n',
      ]);
    } finally {
      await failing.close();
    }
  });

  it('asks for the token when one is configured', async () => {
    expect((await get(guarded, '/metrics')).status).toBe(401);
    expect(
      (await get(guarded, '/metrics', { headers: { authorization: 'Bearer nope' } })).status,
    ).toBe(401);
    const response = await get(guarded, '/metrics', {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
  });
});

describe('the main port', () => {
  let t: TestApp;
  let metrics: Metrics;
  let listener: MetricsServer;

  beforeAll(async () => {
    metrics = createMetrics({ poolMax: 1 });
    t = await startTestApp({
      env: { METRICS_PORT: '0', METRICS_TOKEN: TOKEN },
      deps: { metrics },
    });
    listener = await startMetricsServer({
      registry: metrics.registry,
      ...t.config.metrics!.listen!,
      token: t.config.metrics!.token,
    });
  });
  afterAll(async () => {
    await listener.close();
    await t.close();
  });

  it('serves no /metrics when METRICS_PORT is set, token or not', async () => {
    const response = await t.fetch('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(404);
  });

  it("records the app's requests for the listener to serve", async () => {
    await t.graphql('query Hello { __typename }');
    const response = await fetch(`http://127.0.0.1:${listener.port}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const samples = parseMetrics(await response.text());
    expect(
      samples.get(
        series('graphql_envelop_request', { operationName: 'Hello', operationType: 'query' }),
      ),
    ).toBe(1);
  });

  it('serves no /metrics without METRICS_PORT or METRICS_TOKEN', async () => {
    const plain = await startTestApp();
    try {
      expect((await plain.fetch('/metrics')).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
