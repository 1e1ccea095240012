/**
 * The request pipeline, in the order it runs. Yoga runs plugin hooks phase by phase (request,
 * params, parse, validate, context, execute, result, response), and within a phase in the
 * order of this list; so the list is grouped by the phase each plugin acts in, and reading it
 * top to bottom is DESIGN.md's "Request pipeline". A plugin with hooks in several phases sits
 * at the first one that decides anything (the observers at the top act in all of them).
 *
 * Where to add a plugin: at its phase, and for execution wrappers, after the ones it must
 * wrap (the tenant transaction wraps the timeout, which wraps the executor).
 */

import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../auth/jwt.ts';
import type { Config } from '../config.ts';
import type { RequestContext } from '../context.ts';
import type { Database } from '../db/client.ts';
import { useCompression } from '../http/compression.ts';
import { useJsonBodies } from '../http/content-types.ts';
import { useVaryOnOrigin } from '../http/cors.ts';
import { useCsrfPrevention } from '../http/csrf-prevention.ts';
import { useGraphiqlAssets } from '../http/graphiql.ts';
import { useRequestId } from '../http/request-id.ts';
import { useSecurityHeaders } from '../http/security-headers.ts';
import { createMetrics, type Metrics } from '../metrics/metrics.ts';
import type { PersistedOperationRegistry } from '../persisted-operations/registry.ts';
import { authenticationErrorOf, useAuthentication, viewerOf } from './authentication.ts';
import { useCompiledExecution } from './compiled-execution.ts';
import { useConditionalGet } from './conditional-get.ts';
import { useCostAnalysis } from './cost-analysis.ts';
import { useCostBudget } from './cost-budget/index.ts';
import type { BudgetStore } from './cost-budget/store.ts';
import { useDeprecationHeaders } from './deprecation-headers.ts';
import { useExecutionTimeout } from './execution-timeout.ts';
import { useFieldRateLimits } from './field-rate-limits/index.ts';
import { useIdempotency } from './idempotency.ts';
import { useIntrospection } from './introspection.ts';
import { useMetrics } from './metrics.ts';
import { useOperationLimits } from './operation-limits.ts';
import { persistedOperationIdOf, usePersistedOperations } from './persisted-operations.ts';
import { useRequestLog } from './request-log.ts';
import { useServerTiming } from './server-timing.ts';
import { useTenantTransaction } from './tenant-transaction.ts';
import type { Tracing } from './tracing.ts';
import { useTransactionMetrics } from './transaction-metrics.ts';
import { useUnexpectedErrorLog } from './unexpected-errors.ts';
import { useValidationErrorLimit } from './validation-error-limit.ts';

export interface PipelineDeps {
  config: Config;
  database: Database;
  verifier: TokenVerifier;
  logger: Logger;
  /** Where persisted operations are looked up (openPersistedOperationRegistry). */
  persistedOperations: PersistedOperationRegistry;
  /** Shared counters when REDIS_URL is set (budgets, field rate limits); else in memory. */
  redis?: Redis;
  /** Where cost budgets live; default: Redis when `redis` is given, else process memory. */
  budgetStore?: BudgetStore;
  /**
   * `false` drops every cost control (operation limits, cost analysis, budget, field rate
   * limits): the reference "protections off" server that benchmarks compare against. Never
   * set from configuration, so no deployment can run without them.
   */
  protections?: boolean;
  /**
   * Where Prometheus metrics are recorded when `config.metrics` is set. main.ts creates them,
   * so that the METRICS_PORT listener and the circuit breaker share them; default: new ones.
   */
  metrics?: Metrics;
  /** The GraphiQL page's Content-Security-Policy (http/graphiql.ts); unset: no GraphiQL. */
  graphiqlPolicy?: string;
  /** OpenTelemetry spans (observability/tracing.ts); unset, as when not configured: none. */
  tracing?: Tracing;
}

export function createPlugins(deps: PipelineDeps): Plugin<RequestContext>[] {
  const { config } = deps;
  // `protections: false` (benchmarks only) drops every cost control below.
  const protections = deps.protections !== false;
  const metricsConfig = config.metrics;
  const metrics = metricsConfig
    ? (deps.metrics ?? createMetrics({ poolMax: poolMaxOf(config) }))
    : undefined;
  return [
    // ── Around the whole request: observe it (hooks in every phase) ───────────────────────
    // Traces, when configured: outermost, so the request's span covers everything below.
    ...(deps.tracing ? [deps.tracing.plugin as Plugin<RequestContext>] : []),
    // Unexpected failures logged under the request id, before useRequestId tags the errors.
    useUnexpectedErrorLog({ logger: deps.logger }) as Plugin<RequestContext>,
    // Every response and error carries the request id.
    useRequestId() as Plugin<RequestContext>,
    // Server-Timing (total, db, cost): early, so that `total` starts before everything below.
    ...(config.http.serverTiming ? [useServerTiming()] : []),
    // One log line per request (early, so its duration covers what follows), and the
    // Prometheus metrics; /metrics itself on this port only behind METRICS_TOKEN.
    useRequestLog({ logger: deps.logger, persistedIdOf: persistedOperationIdOf }),
    ...(metrics && metricsConfig
      ? [useMetrics({ metrics, token: metricsConfig.listen ? undefined : metricsConfig.token })]
      : []),

    // ── Request (onRequest, onRequestParse): the HTTP edge, then who is calling ────────────
    // Security headers on every response (and Vary: Origin with CORS); CORS itself and the
    // body limit (413) are Yoga options (app.ts).
    useSecurityHeaders({
      hsts: config.http.servedOverTls,
      graphiqlPolicy: deps.graphiqlPolicy,
    }) as Plugin<RequestContext>,
    ...(config.http.cors ? [useVaryOnOrigin() as Plugin<RequestContext>] : []),
    // GraphiQL's files (script, stylesheet, editor workers, icon) from our own origin, when
    // GraphiQL is on: answered here, before the rules below that are for GraphQL requests.
    ...(deps.graphiqlPolicy ? [useGraphiqlAssets() as Plugin<RequestContext>] : []),
    // POST bodies must be JSON (415); a GET must carry a header that forces a preflight (403).
    useJsonBodies() as Plugin<RequestContext>,
    useCsrfPrevention() as Plugin<RequestContext>,
    // 1. Authentication, once per request: Bearer JWT or `oak_` API key → viewer, kept per
    //    request (`viewerOf`) for everything below; a rejected one is answered 401 when the
    //    context is built.
    useAuthentication({ verifier: deps.verifier, logger: deps.logger }),

    // ── Params (onParams): which document ─────────────────────────────────────────────────
    // 2. documentId / APQ hash / doc_id → the registered document (parsed and validated
    //    once) of the manifest or of the caller's tenant, or PERSISTED_QUERY_NOT_FOUND; in
    //    `require` mode, text is PERSISTED_QUERY_ONLY.
    usePersistedOperations({
      mode: config.persistedOperations.mode,
      registry: deps.persistedOperations,
      tenantOf: (request) => viewerOf(request)?.tenantId ?? null,
      authenticationErrorOf,
    }),

    // ── Parse and validate (onParams, onParse, onValidate) ───────────────────────────────
    // 3. Operation limits: batch size (onRequestParse), document size before parsing, tokens
    //    while parsing, then depth, aliases, root fields and directives before graphql-js's
    //    own rules → 400 with the limit's code.
    ...(protections ? [useOperationLimits({ limits: config.limits })] : []),
    // GET: mutations refused after parsing (405); Cache-Control, ETag and 304 on the response.
    useConditionalGet(),
    // At most MAX_VALIDATION_ERRORS errors, then TOO_MANY_VALIDATION_ERRORS: a small document
    // must not make a long answer. Kept without protections too: it is no cost control.
    useValidationErrorLimit({ maxErrors: config.limits.maxValidationErrors }),

    // ── Context (onContextBuilding): the viewer from authentication (1) goes in ───────────

    // ── Execute (onExecute): checks in list order; each later wrapper runs outside the
    //    earlier ones, so the tenant transaction holds the timeout and the executor ───────
    // Introspection: everyone in development, admins only in production (403 FORBIDDEN).
    useIntrospection({ openToAll: !config.isProduction }),
    // Deprecated fields selected: Deprecation and Sunset headers, and their usage counted.
    useDeprecationHeaders({ metrics }),
    // The executor: operations compiled to JavaScript once per document (graphql-jit); the
    // innermost wrapper.
    useCompiledExecution({ logger: deps.logger }) as Plugin<RequestContext>,
    ...(protections ? costControls(deps) : []),
    // 6. One transaction per operation: tenant set, non-superuser role, RLS enforced; every
    //    wait on the database bounded.
    useTenantTransaction({
      database: deps.database,
      exposeStatementCount: !config.isProduction,
      executionTimeoutMs: config.timeouts.executionMs,
      poolTimeoutMs: config.timeouts.poolMs,
    }),
    // Transactions in flight: wraps the tenant transaction, so it comes right after it.
    ...(metrics ? [useTransactionMetrics({ metrics })] : []),
    // 7. Idempotency: stores each claimed key's payload in the mutation's own transaction
    //    (the tenant transaction's before-commit step); Idempotent-Replayed on replays.
    useIdempotency(),

    // ── Response (onResultProcess, onResponse) ─────────────────────────────────────────────
    // Last of the response hooks: compresses the final body (a 304 included, left as it is),
    // after every other plugin has set it and its headers.
    ...(config.http.compression
      ? [useCompression(config.http.compression) as Plugin<RequestContext>]
      : []),
  ];
}

/** The most connections the database can give: DB_POOL_MAX, or PGlite's single one. */
export function poolMaxOf(config: Config): number {
  return config.database.kind === 'postgres' ? config.database.poolMax : 1;
}

/** 4–5 and the execution timeout: the cost controls that run when an operation executes. */
function costControls(deps: PipelineDeps): Plugin<RequestContext>[] {
  return [
    // EXECUTION_TIMEOUT_MS → 504 TIMEOUT; wraps the executor, inside the tenant transaction.
    useExecutionTimeout({ timeoutMs: deps.config.timeouts.executionMs }),
    // 4. Static cost with the request's real variables, on every request; > max → 400.
    useCostAnalysis({
      maxCost: deps.config.cost.maxCost,
      defaultPageSize: deps.config.pagination.defaultSize,
    }),
    // 5. Leaky bucket per viewer: deduct the requested cost, refund after; extensions.cost and
    //    the rate-limit headers on every response; 429 THROTTLED when the bucket is short.
    useCostBudget({
      config: deps.config,
      database: deps.database,
      logger: deps.logger,
      redis: deps.redis,
      store: deps.budgetStore,
    }),
    // 5b. @rateLimit directives: at most max calls per window per user (or client address);
    //     429 RATE_LIMITED with Retry-After, nothing executed.
    ...(deps.config.fieldRateLimits
      ? [
          useFieldRateLimits({
            trustedProxies: deps.config.cost.trustedProxies,
            redis:
              deps.redis && deps.config.redis
                ? { client: deps.redis, failureMode: deps.config.redis.failureMode }
                : undefined,
            logger: deps.logger,
          }),
        ]
      : []),
  ];
}
