/**
 * The Prometheus metrics of one app instance, in a registry of its own rather than
 * prom-client's global one: two apps in one process (tests, benchmarks) keep separate counts,
 * and a scrape shows exactly this instance. Every metric is defined here; the plugins record
 * into them (plugins/metrics.ts, plugins/transaction-metrics.ts) and the database circuit
 * breaker reports its transitions with `setCircuitState`.
 *
 * Label values stay bounded, because every distinct value is a time series held in memory
 * here and in Prometheus: operation names come from the parsed document (never from the
 * request's free-text `operationName`), at most MAX_OPERATION_NAMES of them, and error codes
 * are the fixed set of errors.ts.
 */
import { createCounter, createHistogram } from '@graphql-yoga/plugin-prometheus';
import { type DocumentNode, getOperationAST } from 'graphql';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

/**
 * Distinct operation names a process labels its metrics with. A server restricted to persisted
 * operations has far fewer; the cap protects one that accepts arbitrary documents, where each
 * request could otherwise invent a new series. Later names are counted under `(other)`.
 */
export const MAX_OPERATION_NAMES = 200;

/** Cost points: the default page (20) of a few nested connections lands in the middle. */
const COST_BUCKETS = [0, 1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/** Seconds; from a cached lookup to the execution timeout's default (10 s). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface OperationLabels {
  /** The operation's name in the document, `Anonymous` when it has none. */
  operationName: string;
  /** `query`, `mutation` or `subscription`; `(unknown)` when no operation could be chosen. */
  operationType: string;
}

export interface MetricsOptions {
  /** Most connections the database pool opens (DB_POOL_MAX; 1 for the embedded PGlite). */
  poolMax: number;
  /**
   * Also export prom-client's process metrics (CPU, memory, event loop lag, GC). Default false:
   * they describe the process, so only the server's own entry point turns them on, once.
   */
  processMetrics?: boolean;
}

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: MetricsOptions) {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });

  const names = new Set<string>();
  /** Labels of the operation `document` runs for the request's `operationName`. */
  const operationLabels = (
    document: DocumentNode | undefined,
    operationName: string | null | undefined,
  ): OperationLabels => {
    const operation = document ? getOperationAST(document, operationName ?? undefined) : null;
    if (!operation) return { operationName: '(unknown)', operationType: '(unknown)' };
    const name = operation.name?.value ?? 'Anonymous';
    if (!names.has(name)) {
      if (names.size >= MAX_OPERATION_NAMES) {
        return { operationName: '(other)', operationType: operation.operation };
      }
      names.add(name);
    }
    return { operationName: name, operationType: operation.operation };
  };

  // The parameters @graphql-yoga/plugin-prometheus passes its label functions: the parsed
  // document and the context, whose `params` hold the request's operationName.
  type PluginContext = { params?: { operationName?: string | null } } | undefined;
  const labelsOf = (params: { document?: DocumentNode }, context: PluginContext) =>
    operationLabels(params.document, context?.params?.operationName);

  const circuit = new Gauge({
    name: 'orders_api_db_circuit_state',
    help: 'State of the PostgreSQL circuit breaker: 1 for the current state, 0 for the others',
    labelNames: ['state'],
    registers: [registry],
  });
  const setCircuitState = (state: CircuitState) => {
    for (const each of CIRCUIT_STATES) circuit.set({ state: each }, each === state ? 1 : 0);
  };
  setCircuitState('closed');

  const poolMax = new Gauge({
    name: 'orders_api_db_pool_max',
    help: 'Most connections the database pool opens (DB_POOL_MAX; 1 for the embedded PGlite)',
    registers: [registry],
  });
  poolMax.set(options.poolMax);

  return {
    registry,
    operationLabels,
    /**
     * Reports the database circuit breaker's state, on every transition (and once at start
     * when it does not begin closed): `circuit.onStateChange(metrics.setCircuitState)`.
     */
    setCircuitState,

    /** From @graphql-yoga/plugin-prometheus, with bounded labels (see plugins/metrics.ts). */
    prometheus: {
      httpDuration: createHistogram({
        registry,
        histogram: {
          name: 'graphql_yoga_http_duration',
          help: 'Seconds from receiving a GraphQL HTTP request to its response, by operation and status',
          labelNames: ['operationName', 'operationType', 'method', 'statusCode'],
          buckets: DURATION_BUCKETS,
        },
        phases: ['request' as const],
        fillLabelsFn: (params: {
          document?: DocumentNode;
          operationName?: string;
          operationType?: string;
          request: Request;
          response: Response;
        }) => ({
          // Yoga leaves the type unset when the request's operationName chose no operation.
          ...operationLabels(
            params.operationType ? params.document : undefined,
            params.operationName,
          ),
          method: params.request.method,
          statusCode: params.response.status,
        }),
      }),
      requests: createCounter({
        registry,
        counter: {
          name: 'graphql_envelop_request',
          help: 'GraphQL operations that reached execution (including those the cost controls then refused)',
          labelNames: ['operationName', 'operationType'],
        },
        phases: ['execute' as const],
        fillLabelsFn: labelsOf,
      }),
      requestDuration: createHistogram({
        registry,
        histogram: {
          name: 'graphql_envelop_request_duration',
          help: 'Seconds spent executing a GraphQL operation, by operation',
          labelNames: ['operationName', 'operationType'],
          buckets: DURATION_BUCKETS,
        },
        phases: ['execute' as const],
        fillLabelsFn: labelsOf,
      }),
      deprecatedFields: createCounter({
        registry,
        counter: {
          name: 'graphql_envelop_deprecated_field',
          help: 'Uses of deprecated fields and arguments in operations, by field and operation',
          labelNames: ['operationName', 'operationType', 'fieldName', 'typeName'],
        },
        phases: ['parse' as const],
        fillLabelsFn: (
          params: {
            document?: DocumentNode;
            deprecationInfo?: { fieldName: string; typeName: string };
          },
          context: PluginContext,
        ) => ({
          ...labelsOf(params, context),
          fieldName: params.deprecationInfo?.fieldName ?? '',
          typeName: params.deprecationInfo?.typeName ?? '',
        }),
      }),
    },

    operationCost: new Histogram({
      name: 'orders_api_operation_cost',
      help: 'Cost points of executed operations: kind="requested" (static, before execution) or "actual" (what the result held)',
      labelNames: ['kind', 'operationName', 'operationType'],
      buckets: COST_BUCKETS,
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'orders_api_rejections_total',
      help: 'Operations refused before execution (no data in the result), by error code; an operation with errors of several codes counts once per code',
      labelNames: ['code'],
      registers: [registry],
    }),
    executionErrors: new Counter({
      name: 'orders_api_execution_errors_total',
      help: 'Errors raised while executing operations (the result has data), by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    throttles: new Counter({
      name: 'orders_api_throttles_total',
      help: 'Operations refused with HTTP 429: THROTTLED (cost budget) or RATE_LIMITED (@rateLimit)',
      labelNames: ['code'],
      registers: [registry],
    }),
    idempotentReplays: new Counter({
      name: 'orders_api_idempotent_replays_total',
      help: 'Mutation operations answered with a stored payload for a repeated idempotency key',
      registers: [registry],
    }),
    deprecatedFieldUsage: new Counter({
      name: 'orders_api_deprecated_field_usage_total',
      help: 'Operations that selected a deprecated field, by field (Type.field); see the Sunset header',
      labelNames: ['field'],
      registers: [registry],
    }),
    dbTransactionsInFlight: new Gauge({
      name: 'orders_api_db_transactions_in_flight',
      help: 'Request transactions holding or waiting for a pooled database connection',
      registers: [registry],
    }),
  };
}
