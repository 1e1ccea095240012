/**
 * The cost budget (DESIGN.md pipeline step 5): a leaky bucket per caller with Shopify's
 * semantics. Cost analysis (step 4) has stored the operation's requested cost; this plugin
 * lets the operation start only if the caller's bucket holds all of it, deducts it, and after
 * execution refunds the difference to the actual cost. An empty bucket is HTTP 429 THROTTLED
 * with a Retry-After computed from the deficit and the restore rate, and nothing executes:
 * the tenant transaction (step 7) is never opened.
 *
 * Who pays: an authenticated caller's bucket is `tenantId:userId`, sized by the tenant's plan;
 * an anonymous caller's is `anon:<client address>` (X-Forwarded-For believed only from
 * TRUSTED_PROXIES). Every GraphQL response reports the bucket in `extensions.cost` and in the
 * rate-limit headers (IETF draft-ietf-httpapi-ratelimit-headers-10 plus the X-RateLimit-*
 * trio that most clients still read).
 *
 * An unreachable store (Redis) is handled per REDIS_FAILURE_MODE:
 * - `closed` (default): requests are refused with 503 SERVICE_UNAVAILABLE and a Retry-After;
 *   nobody gets unmetered access while budgets cannot be enforced.
 * - `open`: requests run unmetered (their responses carry no throttle status).
 * Either way the outage is logged once when it starts and once when it ends, not per request.
 */
import { eq } from 'drizzle-orm';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { principalIdOf, type Viewer } from '../../auth/viewer.ts';
import type { BucketSpec, Config } from '../../config.ts';
import type { RequestContext } from '../../context.ts';
import { actualCostOf } from '../../cost/actual-cost.ts';
import { millisecondsUntilFull, secondsUntilFull } from '../../cost/budget.ts';
import { setBudgetReader } from '../../cost/budget-reader.ts';
import { getRequestCost, setRequestCost, type ThrottleStatus } from '../../cost/request-cost.ts';
import type { Database } from '../../db/client.ts';
import { type Plan, tenants } from '../../db/schema.ts';
import { readAsTenant } from '../../db/tenant-scope.ts';
import { apiError, ErrorCode } from '../../errors.ts';
import { createClientAddressResolver, type NodeServerContext } from '../../http/client-address.ts';
import { viewerOf } from '../authentication.ts';
import { wantsCostExplain } from '../cost-analysis.ts';
import { addCostTime } from '../server-timing.ts';
import { createMemoryBudgetStore } from './memory-store.ts';
import { createRedisBudgetStore } from './redis-store.ts';
import { type BudgetStore, BudgetStoreUnavailableError } from './store.ts';

export interface CostBudgetOptions {
  /** Bucket sizes per plan (`cost.budgets`), trusted proxies, and REDIS_FAILURE_MODE. */
  config: Config;
  /** Where tenants' plans are read (outside any request transaction, cached). */
  database: Database;
  logger: Logger;
  /** Budgets in Redis, shared by all instances. Default: in process memory. */
  redis?: Redis;
  /** Overrides the store chosen from `redis` (tests). */
  store?: BudgetStore;
  /** The clock, in milliseconds. Default `Date.now`. */
  now?: () => number;
  /**
   * How long a tenant's plan is cached per process. Default 60 s: plans change rarely, and a
   * plan query per request would cost a round trip before every operation.
   */
  planCacheTtlMs?: number;
  /** Retry-After of the 503 sent while the store is unreachable (fail closed). Default 5. */
  unavailableRetryAfterSeconds?: number;
}

/** The policy name in RateLimit-Policy / RateLimit: quota units are cost points. */
const POLICY = 'cost';

interface Subject {
  key: string;
  spec: BucketSpec;
}

/** The last known state of the caller's bucket in this request, for the headers. */
interface Reading {
  spec: BucketSpec;
  /** Undefined while the store is unreachable and requests run unmetered (fail open). */
  available?: number;
  now: number;
}

export function useCostBudget(options: CostBudgetOptions): Plugin<RequestContext> {
  const { config, logger } = options;
  const now = options.now ?? (() => Date.now());
  const planTtl = options.planCacheTtlMs ?? 60_000;
  const failOpen = config.redis?.failureMode === 'open';
  const unavailableRetryAfter = options.unavailableRetryAfterSeconds ?? 5;
  const store =
    options.store ??
    (options.redis ? createRedisBudgetStore({ redis: options.redis }) : createMemoryBudgetStore());
  const clientAddress = createClientAddressResolver(config.cost.trustedProxies);

  // Per-process plan cache: the promise is cached so concurrent first requests share one
  // query. Bounded by the number of tenants (ids come from verified tokens only).
  const plans = new Map<string, { plan: Promise<Plan>; expiresAt: number }>();
  const planOf = (tenantId: string): Promise<Plan> => {
    const cached = plans.get(tenantId);
    if (cached && cached.expiresAt > now()) return cached.plan;
    // Through the circuit breaker: an unreachable database is 503 SERVICE_UNAVAILABLE here
    // too, at once while the circuit is open; the request could not run without it anyway.
    // As the tenant (db/tenant-scope.ts): tenants has FORCE'd row-level security, which holds
    // for a non-superuser owner too, so a lookup outside any tenant would find no plan.
    const plan = options.database.circuit
      .run(
        () =>
          readAsTenant(options.database.db, tenantId, (tx) =>
            tx
              .select({ plan: tenants.plan })
              .from(tenants)
              .where(eq(tenants.id, tenantId))
              .limit(1),
          ),
        { timeoutMs: config.timeouts.poolMs },
      )
      // A token for a tenant that no longer exists gets the smallest plan's bucket.
      .then((rows) => rows[0]?.plan ?? 'free');
    plans.set(tenantId, { plan, expiresAt: now() + planTtl });
    plan.catch(() => plans.delete(tenantId));
    return plan;
  };

  const subjectOf = async (
    request: Request,
    server: NodeServerContext | undefined,
    viewer: Viewer | null,
  ): Promise<Subject> =>
    viewer
      ? {
          key: `${viewer.tenantId}:${principalIdOf(viewer)}`,
          spec: config.cost.budgets[await planOf(viewer.tenantId)],
        }
      : { key: `anon:${clientAddress(request, server)}`, spec: config.cost.budgets.anonymous };

  // One log line when the store becomes unreachable and one when it is back.
  let outage = false;
  const storeFailed = (error: BudgetStoreUnavailableError) => {
    if (outage) return;
    outage = true;
    logger.error(
      { err: error.cause ?? error, failureMode: failOpen ? 'open' : 'closed' },
      failOpen
        ? 'cost budget store unreachable: requests run unmetered (REDIS_FAILURE_MODE=open)'
        : 'cost budget store unreachable: requests are refused with 503 (REDIS_FAILURE_MODE=closed)',
    );
  };
  const storeAnswered = () => {
    if (!outage) return;
    outage = false;
    logger.info('cost budget store reachable again');
  };
  /** Runs a store call; undefined when the store is unreachable. */
  const attempt = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
    try {
      const value = await call();
      storeAnswered();
      return value;
    } catch (error) {
      if (!(error instanceof BudgetStoreUnavailableError)) throw error;
      storeFailed(error);
      return undefined;
    }
  };

  const contexts = new WeakMap<Request, object>();
  const readings = new WeakMap<Request, Reading>();

  const throttleStatus = (reading: Reading | undefined): ThrottleStatus | undefined =>
    reading?.available === undefined
      ? undefined
      : {
          maximumAvailable: reading.spec.size,
          currentlyAvailable: Math.floor(reading.available),
          restoreRate: reading.spec.restoreRate,
        };

  /** `extensions.cost`, with the breakdown when the request asked for it. */
  const costExtension = (request: Request, context: object | undefined, reading?: Reading) => {
    const cost = context ? getRequestCost(context) : undefined;
    const status = throttleStatus(reading);
    if (cost && status) setRequestCost(context!, { ...cost, throttleStatus: status });
    return {
      requestedQueryCost: cost?.requestedQueryCost ?? null,
      actualQueryCost: cost?.actualQueryCost ?? 0,
      ...(status ? { throttleStatus: status } : {}),
      ...(wantsCostExplain(request)
        ? {
            requestedBreakdown: cost?.requestedBreakdown ?? [],
            actualBreakdown: cost?.actualBreakdown ?? [],
          }
        : {}),
    };
  };

  return {
    onContextBuilding({ context }) {
      contexts.set(context.request, context);
    },

    async onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue as RequestContext & NodeServerContext;
      const { request } = context;
      const subject = await subjectOf(request, context, context.viewer);
      const requested = getRequestCost(context)?.requestedQueryCost ?? 0;
      setBudgetReader(context, async () => {
        const at = now();
        const available = await attempt(() => store.peek(subject.key, subject.spec, at));
        if (available === undefined) throw unavailable();
        return snapshot(subject.spec, available, at);
      });

      if (requested > subject.spec.size) {
        // The bucket can never hold it: waiting would not help, so no 429 and no Retry-After.
        readings.set(request, await readNow(subject));
        setResultAndStopExecution({
          errors: [
            apiError(
              ErrorCode.QUERY_TOO_COMPLEX,
              `This operation costs ${requested} points; your budget holds at most ${subject.spec.size}.`,
              { cost: requested, limit: subject.spec.size, http: { status: 400 } },
            ),
          ],
          extensions: { cost: costExtension(request, context, readings.get(request)) },
        });
        return;
      }

      const at = now();
      const taken = await attempt(() => store.take(subject.key, subject.spec, requested, at));
      if (taken === undefined && !failOpen) {
        readings.set(request, { spec: subject.spec, now: at });
        setResultAndStopExecution({
          errors: [unavailable()],
          extensions: { cost: costExtension(request, context) },
        });
        return;
      }
      readings.set(request, { spec: subject.spec, available: taken?.available, now: at });
      if (taken && !taken.allowed) {
        setResultAndStopExecution({
          errors: [
            apiError(
              ErrorCode.THROTTLED,
              `Throttled: this operation costs ${requested} points and your budget holds ${Math.floor(taken.available)}; it refills ${subject.spec.restoreRate} points per second. Retry after ${taken.retryAfterSeconds} s.`,
              {
                cost: requested,
                retryAfterSeconds: taken.retryAfterSeconds,
                http: {
                  status: 429,
                  headers: { 'Retry-After': String(taken.retryAfterSeconds) },
                },
              },
            ),
          ],
          extensions: { cost: costExtension(request, context, readings.get(request)) },
        });
        return;
      }

      return {
        async onExecuteDone({ args: doneArgs, result, setResult }) {
          // Streamed results (@defer/@stream) are not enabled; charge them what was requested.
          if (!isSingleResult(result)) return;
          const start = performance.now();
          const actual = actualCostOf(
            doneArgs.schema,
            doneArgs.document,
            doneArgs.operationName,
            doneArgs.variableValues,
            result,
            { explain: wantsCostExplain(request) },
          );
          addCostTime(request, performance.now() - start);
          const cost = getRequestCost(context);
          if (cost) {
            setRequestCost(context, {
              ...cost,
              actualQueryCost: actual.cost,
              actualBreakdown: actual.breakdown,
            });
          }
          if (taken) {
            const refundAt = now();
            const available = await attempt(() =>
              store.refund(subject.key, subject.spec, requested - actual.cost, refundAt),
            );
            // A refund lost to an outage only costs the caller points; the answer stands.
            if (available !== undefined) {
              readings.set(request, { spec: subject.spec, available, now: refundAt });
            }
          }
          setResult({
            ...result,
            extensions: {
              ...result.extensions,
              cost: costExtension(request, context, readings.get(request)),
            },
          });
        },
      };
    },

    async onResultProcess({ request, result, setResult, serverContext }) {
      // Operations rejected before this plugin's onExecute (syntax, validation, limits, the
      // static cost) still report the caller's bucket: nothing was spent, so peek at it.
      const results = Array.isArray(result) ? result : [result];
      const missing = results.some((one) => isSingleResult(one) && !one.extensions?.cost);
      if (!missing) return;
      let reading = readings.get(request);
      // Refused because the database is unreachable: do not go back to it for the report.
      if (!reading && results.some(isServiceUnavailable)) return;
      if (!reading) {
        // The plan comes from the database. When it cannot be read (unreachable: the
        // request's own 503 says so), the response goes without a cost report rather than
        // failing a second time here.
        const subject = await subjectOf(
          request,
          serverContext as NodeServerContext,
          // Authenticated once, when the request was parsed (plugins/authentication.ts).
          viewerOf(request) ?? null,
        ).catch(() => undefined);
        if (!subject) return;
        reading = await readNow(subject);
        readings.set(request, reading);
      }
      const context = contexts.get(request);
      const filled = results.map((one) =>
        isSingleResult(one) && !one.extensions?.cost
          ? {
              ...one,
              extensions: { ...one.extensions, cost: costExtension(request, context, reading) },
            }
          : one,
      );
      setResult((Array.isArray(result) ? filled : filled[0]) as typeof result);
    },

    onResponse({ request, response }) {
      const reading = readings.get(request);
      if (!reading) return;
      const { size, restoreRate } = reading.spec;
      response.headers.set('RateLimit-Policy', rateLimitPolicy(reading.spec));
      response.headers.set('X-RateLimit-Limit', String(size));
      if (reading.available === undefined) return;
      const remaining = Math.floor(reading.available);
      const reset = secondsUntilFull(reading.available, { size, restoreRate });
      response.headers.set('RateLimit', `"${POLICY}";r=${remaining};t=${reset}`);
      response.headers.set('X-RateLimit-Remaining', String(remaining));
      response.headers.set('X-RateLimit-Reset', String(reset));
    },
  };

  async function readNow(subject: Subject): Promise<Reading> {
    const at = now();
    const available = await attempt(() => store.peek(subject.key, subject.spec, at));
    return { spec: subject.spec, available, now: at };
  }

  function unavailable() {
    return apiError(
      ErrorCode.SERVICE_UNAVAILABLE,
      'The cost budget cannot be checked right now; try again shortly.',
      {
        http: { status: 503, headers: { 'Retry-After': String(unavailableRetryAfter) } },
      },
    );
  }
}

/**
 * `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers-10, a structured-field List of
 * Items): the policy named "cost", quota `q` = bucket size, window `w` = seconds an empty
 * bucket takes to refill. No `qu` (quota unit): the registry has only request, content-bytes
 * and concurrency, and cost points are none of them; the policy's name says what is counted.
 */
export function rateLimitPolicy(spec: BucketSpec): string {
  return `"${POLICY}";q=${spec.size};w=${Math.ceil(spec.size / spec.restoreRate)}`;
}

function snapshot(spec: BucketSpec, available: number, at: number) {
  return {
    maximumAvailable: spec.size,
    currentlyAvailable: Math.floor(available),
    restoreRate: spec.restoreRate,
    resetAt: new Date(at + millisecondsUntilFull(available, spec)),
  };
}

function isServiceUnavailable(result: unknown): boolean {
  return (
    isSingleResult(result) &&
    (result.errors ?? []).some((error) => error.extensions?.code === ErrorCode.SERVICE_UNAVAILABLE)
  );
}

function isSingleResult(result: unknown): result is ExecutionResult {
  return (
    typeof result === 'object' &&
    result !== null &&
    !(Symbol.asyncIterator in result) &&
    ('data' in result || 'errors' in result)
  );
}
