/**
 * OpenTelemetry traces: configured by OTEL_EXPORTER_OTLP_ENDPOINT, one trace per GraphQL
 * request (request → parse, validate, execute → SQL statements), errors recorded as the client
 * sees them, and nothing at all (no module, no plugin, no wrapper) when not configured.
 * Spans are collected by OpenTelemetry's in-memory exporter; the OTLP export itself is tested
 * in a child process that sends to a collector on loopback.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { ConfigError, DEFAULT_PRODUCTION_TRACE_RATIO, loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/client.ts';
import type { StatementObserver } from '../../src/db/statement-observer.ts';
import { createSampler, createTracing } from '../../src/observability/tracing.ts';
import { createPlugins } from '../../src/plugins/index.ts';
import type { Tracing } from '../../src/plugins/tracing.ts';
import { CREATE_PRODUCT, PRODUCT } from '../fixtures/operations.ts';
import { splitCostReport, startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const PRODUCTS = /* GraphQL */ `
  query Products {
    products(first: 2) { nodes { id name } }
  }
`;

const SET_UP_TRANSACTION =
  "select request_principal_active($1, $2, $3) as active, set_config('app.tenant_id', $4, true), set_config('role', $5, true), set_config('transaction_read_only', $6, true)";

const REQUEST_ID = 'trace-test-0001';

/** The spans as an indented tree of names, children in the order they started. */
function tree(spans: readonly ReadableSpan[]): string[] {
  const ids = new Set(spans.map((span) => span.spanContext().spanId));
  const childrenOf = (parentId: string | undefined) =>
    spans
      .filter((span) =>
        parentId === undefined
          ? !ids.has(span.parentSpanContext?.spanId ?? '')
          : span.parentSpanContext?.spanId === parentId,
      )
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  const lines: string[] = [];
  const walk = (span: ReadableSpan, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${span.name}`);
    for (const child of childrenOf(span.spanContext().spanId)) walk(child, depth + 1);
  };
  for (const root of childrenOf(undefined)) walk(root, 0);
  return lines;
}

function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name);
  expect(found).toHaveLength(1);
  return found[0] as ReadableSpan;
}

function exceptionsOf(span: ReadableSpan) {
  return span.events.map((event) => ({
    name: event.name,
    type: event.attributes?.['exception.type'],
    message: event.attributes?.['exception.message'],
  }));
}

describe('configuration', () => {
  it('is off unless an OTLP endpoint is set', () => {
    expect(loadConfig({}).tracing).toBeNull();
    expect(loadConfig({ OTEL_SERVICE_NAME: 'orders-eu' }).tracing).toBeNull();
  });

  it('sends to /v1/traces under OTEL_EXPORTER_OTLP_ENDPOINT, as orders-api by default', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({
      url: 'http://collector:4318/v1/traces',
      serviceName: 'orders-api',
      sampler: { name: 'parentbased_always_on' },
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/tenant-7/',
        OTEL_SERVICE_NAME: 'orders-eu',
      }).tracing,
    ).toEqual({
      url: 'https://otlp.example.com/tenant-7/v1/traces',
      serviceName: 'orders-eu',
      sampler: { name: 'parentbased_always_on' },
    });
  });

  it('uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, over the general endpoint', () => {
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/ingest',
      }).tracing,
    ).toEqual({
      url: 'http://traces:9999/ingest',
      serviceName: 'orders-api',
      sampler: { name: 'parentbased_always_on' },
    });
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector:4317'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'not a url'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(
      new RegExp(`^Invalid configuration:\\n  ${name}: `),
    );
  });
});

/** What NODE_ENV=production needs besides tracing, none of it read by these tests. */
const PRODUCTION = {
  NODE_ENV: 'production',
  JWT_JWKS_FILE: '/etc/orders/jwks.json',
  JWT_ISSUER: 'https://id.example.com',
  JWT_AUDIENCE: 'orders-api',
  DATABASE_URL: 'postgres://orders@db/orders',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
};

describe('sampling (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG)', () => {
  const samplerOf = (env: Record<string, string>) => loadConfig(env).tracing?.sampler;
  const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

  it(`keeps a parent-based ratio of ${DEFAULT_PRODUCTION_TRACE_RATIO} of new traces in production by default`, async () => {
    const sampler = samplerOf(PRODUCTION);
    expect(sampler).toEqual({ name: 'parentbased_traceidratio', ratio: 0.1 });
    expect((await createSampler(sampler!)).toString()).toBe(
      'ParentBased{root=TraceIdRatioBased{0.1}, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}',
    );
    expect(samplerOf({ ...PRODUCTION, OTEL_TRACES_SAMPLER_ARG: '0.01' })).toEqual({
      name: 'parentbased_traceidratio',
      ratio: 0.01,
    });
  });

  it('keeps every trace elsewhere by default, as the SDK does', () => {
    expect(samplerOf(traced)).toEqual({ name: 'parentbased_always_on' });
    expect(samplerOf({ ...traced, NODE_ENV: 'test' })).toEqual({ name: 'parentbased_always_on' });
  });

  it.each<[Record<string, string>, string]>([
    [{ OTEL_TRACES_SAMPLER: 'always_on' }, 'AlwaysOnSampler'],
    [{ OTEL_TRACES_SAMPLER: 'always_off' }, 'AlwaysOffSampler'],
    [
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' },
      'TraceIdRatioBased{0.25}',
    ],
    // The specification's default argument: 1.
    [{ OTEL_TRACES_SAMPLER: 'traceidratio' }, 'TraceIdRatioBased{1}'],
    [
      { OTEL_TRACES_SAMPLER: 'parentbased_always_off' },
      'ParentBased{root=AlwaysOffSampler, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}',
    ],
    [
      { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' },
      'ParentBased{root=TraceIdRatioBased{0.5}, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}',
    ],
  ])('builds the SDK sampler %j names, in production too', async (env, built) => {
    for (const base of [traced, PRODUCTION]) {
      expect((await createSampler(samplerOf({ ...base, ...env })!)).toString()).toBe(built);
    }
  });

  it.each([
    ['OTEL_TRACES_SAMPLER', 'sometimes'],
    ['OTEL_TRACES_SAMPLER', 'jaeger_remote'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5'],
    ['OTEL_TRACES_SAMPLER_ARG', '-0.1'],
    ['OTEL_TRACES_SAMPLER_ARG', 'ten percent'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ ...traced, [name]: value })).toThrow(
      new RegExp(`^Invalid configuration:\\n  ${name}: `),
    );
  });

  it('is off altogether with OTEL_SDK_DISABLED=true', () => {
    expect(loadConfig({ ...traced, OTEL_SDK_DISABLED: 'true' }).tracing).toBeNull();
    expect(loadConfig({ ...PRODUCTION, OTEL_SDK_DISABLED: 'true' }).tracing).toBeNull();
  });

  describe('through HTTP', () => {
    const exporter = new InMemorySpanExporter();
    let provider: TracerProvider;
    let api: TestApp;

    beforeAll(async () => {
      // Production's sampler with a ratio of 0: only traces a caller chose to sample are kept.
      const sampler = samplerOf({ ...PRODUCTION, OTEL_TRACES_SAMPLER_ARG: '0' });
      provider = new TracerProvider({
        sampler: await createSampler(sampler!),
        spanProcessors: [new SimpleSpanProcessor({ exporter })],
      });
      api = await startTestApp({ deps: { tracing: await createTracing(provider) } });
    });

    afterAll(async () => {
      await api?.close();
      await provider?.shutdown();
    });

    beforeEach(() => {
      exporter.reset();
    });

    it('drops a new trace the ratio does not keep', async () => {
      const response = await api.graphql(PRODUCTS, undefined, { as: 'acme/alice' });
      expect(response.status).toBe(200);
      expect(exporter.getFinishedSpans()).toEqual([]);
    });

    it("follows the caller's decision: a sampled traceparent is kept whole, an unsampled one dropped", async () => {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      await api.graphql(PRODUCTS, undefined, {
        as: 'acme/alice',
        headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      });
      const spans = exporter.getFinishedSpans();
      expect(tree(spans).slice(0, 4)).toEqual([
        'POST /graphql',
        '  graphql.parse',
        '  graphql.validate',
        '  graphql.execute',
      ]);
      expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set([traceId]));
      exporter.reset();
      await api.graphql(PRODUCTS, undefined, {
        as: 'acme/alice',
        headers: { traceparent: `00-${traceId}-b7ad6b7169203331-00` },
      });
      expect(exporter.getFinishedSpans()).toEqual([]);
    });
  });
});

describe('with tracing', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  let tracing: Tracing;
  let api: TestApp;

  beforeAll(async () => {
    tracing = await createTracing(provider);
    api = await startTestApp({ deps: { tracing } });
  });

  afterAll(async () => {
    await api?.close();
    await provider.shutdown();
  });

  beforeEach(() => {
    exporter.reset();
  });

  it('records the request, its parse, validate and execute phases and each SQL statement as one trace', async () => {
    const response = await api.graphql(PRODUCTS, undefined, {
      as: 'acme/alice',
      headers: { 'x-request-id': REQUEST_ID },
    });
    expect(response.status).toBe(200);
    expect(response.body.data?.products.nodes).toHaveLength(2);

    const spans = exporter.getFinishedSpans();
    expect(tree(spans)).toEqual([
      'POST /graphql',
      '  graphql.parse',
      '  graphql.validate',
      '  graphql.execute',
      // The tenant's plan, read as the tenant (its set-up, then the plan; cached afterwards),
      // then the transaction's set-up and the products.
      '    SELECT',
      '    SELECT',
      '    SELECT',
      '    SELECT',
    ]);
    // One trace: every span shares the request span's trace id.
    const request = spanNamed(spans, 'POST /graphql');
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(
      new Set([request.spanContext().traceId]),
    );
    expect(request.parentSpanContext).toBeUndefined();
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(request.attributes).toEqual({
      'http.request.method': 'POST',
      'http.route': '/graphql',
      'url.path': '/graphql',
      'http.response.status_code': 200,
      'request.id': REQUEST_ID,
    });
    expect(spanNamed(spans, 'graphql.execute').attributes).toEqual({
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'Products',
    });

    const statements = spans.filter((span) => span.kind === SpanKind.CLIENT);
    expect(statements.map((span) => span.attributes['db.statement'])).toEqual([
      "select set_config('app.tenant_id', $1, true), set_config('role', $2, true), set_config('transaction_read_only', 'on', true)",
      'select "plan" from "tenants" where "tenants"."id" = $1 limit $2',
      SET_UP_TRANSACTION,
      expect.stringMatching(/^select "id", .* from "products" where "products"."tenant_id" = \$1 /),
    ]);
    expect(statements[2]?.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.system': 'postgresql',
      'db.operation.name': 'SELECT',
      'db.query.text': SET_UP_TRANSACTION,
      'db.statement': SET_UP_TRANSACTION,
    });
    expect(spans.map((span) => span.status)).toEqual(
      spans.map(() => ({ code: SpanStatusCode.UNSET })),
    );
  });

  it('keeps parameter values out of every span', async () => {
    const listed = await api.graphql(PRODUCTS, undefined, { as: 'acme/alice' });
    const productId: string = listed.body.data?.products.nodes[0].id;
    exporter.reset();

    const response = await api.graphql(PRODUCT, { id: productId }, { as: 'acme/alice' });
    expect(response.body.data?.product.name).toEqual(expect.any(String));

    const spans = exporter.getFinishedSpans();
    const statements = spans.filter((span) => span.kind === SpanKind.CLIENT);
    expect(statements.length).toBeGreaterThanOrEqual(2);
    const recorded = JSON.stringify(spans.map((span) => [span.attributes, span.events]));
    // Neither the variable nor the tenant (both sent as statement parameters) is in a span.
    expect(recorded).not.toContain(productId.slice('prod_'.length));
    expect(recorded).not.toContain(api.ids.tenants.acme?.slice('ten_'.length));
    expect(recorded).toContain('"db.statement":"select ');
  });

  it("traces a mutation's statements, those inside its savepoint included", async () => {
    const response = await api.graphql(
      CREATE_PRODUCT,
      {
        input: {
          clientMutationId: newClientMutationId('trace'),
          name: 'Traced Teapot',
          price: { amount: 1250, currency: 'EUR' },
        },
      },
      { as: 'acme/alice' },
    );
    expect(response.body.data?.createProduct.userErrors).toEqual([]);

    const spans = exporter.getFinishedSpans();
    const execute = spanNamed(spans, 'graphql.execute');
    const inserts = spans.filter((span) => span.name === 'INSERT');
    expect(inserts.map((span) => span.attributes['db.statement'])).toContainEqual(
      expect.stringMatching(/^insert into "products" /),
    );
    for (const span of inserts) {
      expect(span.parentSpanContext?.spanId).toBe(execute.spanContext().spanId);
    }
    expect(JSON.stringify(spans.map((span) => span.attributes))).not.toContain('Traced Teapot');
  });

  it('records a syntax error on the parse span, as the client sees it', async () => {
    const response = await api.graphql(
      'query Broken { products(first: 2) { nodes { id } }',
      undefined,
      {
        as: 'acme/alice',
      },
    );
    expect(response.status).toBe(400);

    const spans = exporter.getFinishedSpans();
    expect(tree(spans)).toEqual(['POST /graphql', '  graphql.parse']);
    const parse = spanNamed(spans, 'graphql.parse');
    expect(parse.status).toEqual({ code: SpanStatusCode.ERROR, message: 'GRAPHQL_PARSE_FAILED' });
    expect(exceptionsOf(parse)).toEqual([
      {
        name: 'exception',
        type: 'GRAPHQL_PARSE_FAILED',
        message: 'Syntax Error: Expected Name, found <EOF>.',
      },
    ]);
    expect(spanNamed(spans, 'POST /graphql').attributes['http.response.status_code']).toBe(400);
  });

  it('records validation errors on the validate span, with the code the client gets', async () => {
    const response = await api.graphql('query Unknown { nope }', undefined, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const spans = exporter.getFinishedSpans();
    expect(tree(spans)).toEqual(['POST /graphql', '  graphql.parse', '  graphql.validate']);
    const validate = spanNamed(spans, 'graphql.validate');
    expect(validate.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'GRAPHQL_VALIDATION_FAILED',
    });
    expect(exceptionsOf(validate)).toEqual([
      {
        name: 'exception',
        type: 'GRAPHQL_VALIDATION_FAILED',
        message: response.body.errors?.[0]?.message,
      },
    ]);
  });

  it('records a field error on the execute span', async () => {
    const response = await api.graphql(
      'query Users { users(first: 2) { nodes { id } } }',
      undefined,
      {
        as: 'acme/carol',
      },
    );
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);

    const execute = spanNamed(exporter.getFinishedSpans(), 'graphql.execute');
    expect(execute.status).toEqual({ code: SpanStatusCode.ERROR, message: 'FORBIDDEN' });
    expect(exceptionsOf(execute)).toEqual([
      { name: 'exception', type: 'FORBIDDEN', message: response.body.errors?.[0]?.message },
    ]);
  });

  it("records a failed statement on its own span, and the execute span's error masked", async () => {
    // A real failure, from the database itself: the request's role may no longer read products.
    await api.database.db.execute(sql`revoke select on products from orders_app`);
    try {
      const response = await api.graphql(PRODUCTS, undefined, { as: 'acme/alice' });
      expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual([
        'INTERNAL_SERVER_ERROR',
      ]);
    } finally {
      await api.database.db.execute(sql`grant select on products to orders_app`);
    }

    const spans = exporter.getFinishedSpans();
    const failed = spans.filter((span) => span.status.code === SpanStatusCode.ERROR);
    expect(failed.map((span) => span.name)).toEqual(['SELECT', 'graphql.execute']);
    const [statement, execute] = failed as [ReadableSpan, ReadableSpan];
    expect(statement.attributes['db.statement']).toMatch(/ from "products" /);
    expect(statement.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'permission denied for table products',
    });
    expect(exceptionsOf(statement)).toEqual([
      { name: 'exception', type: '42501', message: 'permission denied for table products' },
    ]);
    expect(statement.parentSpanContext?.spanId).toBe(execute.spanContext().spanId);
    // Drizzle's own message repeats the statement's parameters: the span has the mask's.
    expect(exceptionsOf(execute)).toEqual([
      { name: 'exception', type: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' },
    ]);
  });

  it("continues the caller's trace from a W3C traceparent header", async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const callerSpanId = 'b7ad6b7169203331';
    await api.graphql(PRODUCTS, undefined, {
      as: 'acme/alice',
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });

    const spans = exporter.getFinishedSpans();
    expect(spans.length).toBeGreaterThan(4);
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set([traceId]));
    expect(spanNamed(spans, 'POST /graphql').parentSpanContext?.spanId).toBe(callerSpanId);
  });

  it('leaves health checks untraced', async () => {
    expect((await api.fetch('/healthz')).status).toBe(200);
    expect((await api.fetch('/readyz')).status).toBe(200);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('without tracing', () => {
  let api: TestApp;

  beforeAll(async () => {
    api = await startTestApp();
  });

  afterAll(async () => {
    await api?.close();
  });

  /** The test app's database, counting the observers anything installs on it. */
  function watchedDatabase(observers: StatementObserver[]): Database {
    return {
      ...api.database,
      observe(observer) {
        observers.push(observer);
        return api.database.observe(observer);
      },
    };
  }

  async function appOn(database: Database, tracing?: Tracing) {
    const verifier = await createTokenVerifier(api.config.auth);
    return createApp({
      config: api.config,
      database,
      persistedOperations: api.persistedOperations,
      verifier,
      logger: pino({ level: 'silent' }),
      tracing,
    });
  }

  async function whoAmI(app: ReturnType<typeof createApp>) {
    const response = await app.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await api.token('acme/alice')}`,
      },
      body: JSON.stringify({ query: 'query Me { viewer { user { username } } }' }),
    });
    return { status: response.status, body: splitCostReport(await response.json()).body };
  }

  it('adds no plugin and sends SQL through the database as it is', async () => {
    const observers: StatementObserver[] = [];
    const untraced = await appOn(watchedDatabase(observers));
    expect(await whoAmI(untraced)).toEqual({
      status: 200,
      body: { data: { viewer: { user: { username: 'alice' } } } },
    });
    expect(observers).toEqual([]);

    // The same wiring with tracing: the database is observed and the plugin comes first.
    const tracing = await createTracing(new TracerProvider());
    const traced = await appOn(watchedDatabase(observers), tracing);
    expect((await whoAmI(traced)).status).toBe(200);
    expect(observers).toEqual([tracing.observeStatement]);

    const deps = {
      config: api.config,
      database: api.database,
      persistedOperations: api.persistedOperations,
      verifier: await createTokenVerifier(api.config.auth),
      logger: pino({ level: 'silent' }),
    };
    const withTracing = createPlugins({ ...deps, tracing });
    const without = createPlugins(deps);
    expect(withTracing[0]).toBe(tracing.plugin);
    expect(withTracing).toHaveLength(without.length + 1);
    expect(without).not.toContain(tracing.plugin);
  });
});

describe('a server process', () => {
  /** Runs fixtures/one-request.ts with `env`; returns its output and the modules it loaded. */
  async function runServer(env: Record<string, string>) {
    const dir = await mkdtemp(path.join(tmpdir(), 'orders-tracing-'));
    const importsLog = path.join(dir, 'imports.log');
    try {
      const { stdout } = await execFileAsync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--import',
          './test/observability/fixtures/record-imports.mjs',
          'test/observability/fixtures/one-request.ts',
        ],
        {
          cwd: repoRoot,
          env: {
            PATH: process.env.PATH ?? '',
            NODE_ENV: 'test',
            IMPORTS_LOG: importsLog,
            ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
            ...env,
          },
        },
      );
      const loaded = (await readFile(importsLog, 'utf8')).split('\n');
      return {
        result: JSON.parse(stdout),
        openTelemetryPackages: [
          ...new Set(
            loaded.flatMap(
              (url) => /\/node_modules\/(@opentelemetry\/[^/]+)\//.exec(url)?.[1] ?? [],
            ),
          ),
        ].sort(),
        tracingPluginLoaded: loaded.some((url) => url.endsWith('/src/plugins/tracing.ts')),
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('without OTEL_EXPORTER_OTLP_ENDPOINT loads no OpenTelemetry module at all', async () => {
    const run = await runServer({});
    expect(run.result).toEqual({
      status: 200,
      body: { data: { viewer: { user: { username: 'alice' } } } },
    });
    expect(run.openTelemetryPackages).toEqual([]);
    expect(run.tracingPluginLoaded).toBe(false);
  }, 90_000);

  it('with it, sends the spans to the collector over OTLP/HTTP before exiting', async () => {
    const received: { method?: string; url?: string; type?: string; body: Buffer }[] = [];
    const collector = createServer(async (request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      received.push({
        method: request.method,
        url: request.url,
        type: request.headers['content-type'],
        body: Buffer.concat(chunks),
      });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    collector.listen(0, '127.0.0.1');
    await once(collector, 'listening');
    const { port } = collector.address() as AddressInfo;
    try {
      const run = await runServer({
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_SERVICE_NAME: 'orders-tracing-test',
      });
      expect(run.result.status).toBe(200);
      expect(run.tracingPluginLoaded).toBe(true);
      expect(run.openTelemetryPackages).toEqual(
        expect.arrayContaining([
          '@opentelemetry/api',
          '@opentelemetry/exporter-trace-otlp-http',
          '@opentelemetry/sdk-trace',
        ]),
      );
      expect(received.map(({ method, url, type }) => ({ method, url, type }))).toEqual([
        { method: 'POST', url: '/v1/traces', type: 'application/json' },
      ]);
      const [{ resource, scopeSpans }] = JSON.parse(
        received[0]?.body.toString() ?? '',
      ).resourceSpans;
      expect(resource.attributes).toContainEqual({
        key: 'service.name',
        value: { stringValue: 'orders-tracing-test' },
      });
      const spans: { name: string; traceId: string }[] = scopeSpans.flatMap(
        (scope: { spans: unknown[] }) => scope.spans,
      );
      expect(spans.map((span) => span.name).sort()).toEqual([
        'POST /graphql',
        'SELECT',
        'SELECT',
        'SELECT',
        'SELECT',
        'graphql.execute',
        'graphql.parse',
        'graphql.validate',
      ]);
      expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
    } finally {
      collector.close();
    }
  }, 90_000);
});
