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
import type { BudgetStore } from '../cost/stores/store.ts';
import type { Database } from '../db/client.ts';
import type { PersistedOperationRegistry } from '../persisted-operations/registry.ts';
import { useAuthentication } from './authentication.ts';
import { useConditionalGet } from './conditional-get.ts';
import { useCostAnalysis } from './cost-analysis.ts';
import { useCostBudget } from './cost-budget.ts';
import { useExecutionTimeout } from './execution-timeout.ts';
import { useFieldRateLimits } from './field-rate-limits.ts';
import { useIntrospection } from './introspection.ts';
import { useOperationLimits } from './operation-limits.ts';
import { usePersistedOperations } from './persisted-operations.ts';
import { useRequestId } from './request-id.ts';
import { useTenantTransaction } from './tenant-transaction.ts';

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
}

export function createPlugins(deps: PipelineDeps): Plugin<RequestContext>[] {
  const protections = deps.protections === false ? [] : costControls(deps);
  return [
    // Before GraphQL: every response and error carries the request id.
    useRequestId() as Plugin<RequestContext>,
    // 1. documentId / APQ hash / doc_id → the registered document (parsed and validated
    //    once), or PERSISTED_QUERY_NOT_FOUND; in `require` mode, text is PERSISTED_QUERY_ONLY.
    usePersistedOperations({
      mode: deps.config.persistedOperations.mode,
      registry: deps.persistedOperations,
    }),
    // GET: mutations refused (405), Cache-Control and Vary, ETag and 304 on If-None-Match.
    useConditionalGet(),
    // 2. Bearer JWT → viewer (or 401).
    useAuthentication({ verifier: deps.verifier, logger: deps.logger }),
    // Introspection: everyone in development, admins only in production (403 FORBIDDEN).
    useIntrospection({ openToAll: !deps.config.isProduction }),
    // 3–6. The cost controls.
    ...protections,
    // 7. One transaction per operation: tenant set, non-superuser role, RLS enforced.
    useTenantTransaction({
      database: deps.database,
      exposeStatementCount: !deps.config.isProduction,
    }),
  ];
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
