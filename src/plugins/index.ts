/**
 * The request pipeline, in order. Reading this array top to bottom is DESIGN.md's
 * "Request pipeline": each later issue adds its plugin at its place in the list.
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
  const protections = deps.protections === false ? [] : costControls(deps);
  const metricsConfig = deps.config.metrics;
  const metrics = metricsConfig
    ? (deps.metrics ?? createMetrics({ poolMax: poolMaxOf(deps.config) }))
    : undefined;
  return [
    // Traces, when configured: outermost, so the request's span covers everything below.
    ...(deps.tracing ? [deps.tracing.plugin as Plugin<RequestContext>] : []),
    // Unexpected failures logged under the request id, before useRequestId tags the errors.
    useUnexpectedErrorLog({ logger: deps.logger }) as Plugin<RequestContext>,
    // Before GraphQL: every response and error carries the request id.
    useRequestId() as Plugin<RequestContext>,
    // Server-Timing (total, db, cost): early, so that `total` starts before everything below.
    ...(deps.config.http.serverTiming ? [useServerTiming()] : []),
    // One log line per request (early, so its duration covers what follows), and the
    // Prometheus metrics; /metrics itself on this port only behind METRICS_TOKEN.
    useRequestLog({ logger: deps.logger, persistedIdOf: persistedOperationIdOf }),
    ...(metrics && metricsConfig
      ? [useMetrics({ metrics, token: metricsConfig.listen ? undefined : metricsConfig.token })]
      : []),
    // The HTTP edge (src/http/), before the body is read: security headers on every response;
    // POST bodies must be JSON (415); a GET must carry a header that forces a CORS preflight
    // (403). CORS and the body limit (413) are Yoga options (app.ts).
    useSecurityHeaders({
      hsts: deps.config.http.servedOverTls,
      graphiqlPolicy: deps.graphiqlPolicy,
    }) as Plugin<RequestContext>,
    ...(deps.config.http.cors ? [useVaryOnOrigin() as Plugin<RequestContext>] : []),
    // GraphiQL's files (script, stylesheet, editor workers, icon) from our own origin, when
    // GraphiQL is on: answered here, before the rules below that are for GraphQL requests.
    ...(deps.graphiqlPolicy ? [useGraphiqlAssets() as Plugin<RequestContext>] : []),
    useJsonBodies() as Plugin<RequestContext>,
    useCsrfPrevention() as Plugin<RequestContext>,
    // 1. Bearer JWT or `oak_` API key → viewer (or 401), checked when the params are read:
    //    the persisted operations a caller may run depend on its tenant.
    useAuthentication({ verifier: deps.verifier, logger: deps.logger }),
    // 2. documentId / APQ hash / doc_id → the registered document (parsed and validated
    //    once) of the manifest or of the caller's tenant, or PERSISTED_QUERY_NOT_FOUND; in
    //    `require` mode, text is PERSISTED_QUERY_ONLY.
    usePersistedOperations({
      mode: deps.config.persistedOperations.mode,
      registry: deps.persistedOperations,
      tenantOf: (request) => viewerOf(request)?.tenantId ?? null,
      authenticationErrorOf,
    }),
    // GET: mutations refused (405), Cache-Control and Vary, ETag and 304 on If-None-Match.
    useConditionalGet(),
    // Introspection: everyone in development, admins only in production (403 FORBIDDEN).
    useIntrospection({ openToAll: !deps.config.isProduction }),
    // At most MAX_VALIDATION_ERRORS errors, then TOO_MANY_VALIDATION_ERRORS: a small document
    // must not make a long answer. Kept without protections too: it is no cost control.
    useValidationErrorLimit({ maxErrors: deps.config.limits.maxValidationErrors }),
    // Deprecated fields selected: Deprecation and Sunset headers, and their usage counted.
    useDeprecationHeaders({ metrics }),
    // The executor: operations compiled to JavaScript once per document (graphql-jit). First
    // of the plugins that wrap execution, so every later one wraps it.
    useCompiledExecution({ logger: deps.logger }) as Plugin<RequestContext>,
    // 3–6. The cost controls.
    ...protections,
    // 7. One transaction per operation: tenant set, non-superuser role, RLS enforced.
    useTenantTransaction({
      database: deps.database,
      exposeStatementCount: !deps.config.isProduction,
      executionTimeoutMs: deps.config.timeouts.executionMs,
      poolTimeoutMs: deps.config.timeouts.poolMs,
    }),
    // Wraps the tenant transaction, so it must come right after it: transactions in flight.
    ...(metrics ? [useTransactionMetrics({ metrics })] : []),
    // Last of the response hooks: compresses the final body (a 304 included, left as it is),
    // after every other plugin has set it and its headers.
    ...(deps.config.http.compression
      ? [useCompression(deps.config.http.compression) as Plugin<RequestContext>]
      : []),
  ];
}

/** The most connections the database can give: DB_POOL_MAX, or PGlite's single one. */
export function poolMaxOf(config: Config): number {
  return config.database.kind === 'postgres' ? config.database.poolMax : 1;
}

function costControls(deps: PipelineDeps): Plugin<RequestContext>[] {
  return [
    // 3. Size, tokens, depth, aliases, root fields, directives, batch size; then the
    //    execution timeout, which must sit before (so inside) the tenant transaction.
    useOperationLimits({ limits: deps.config.limits }),
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
      verifier: deps.verifier,
      logger: deps.logger,
      redis: deps.redis,
      store: deps.budgetStore,
    }),
    // 6. @rateLimit directives: at most max calls per window per user (or client address);
    //    429 RATE_LIMITED with Retry-After, nothing executed.
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
