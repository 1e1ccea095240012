/**
 * `Server-Timing` on GraphQL responses: where the server spent a request's time, readable in
 * the browser's developer tools (and by pages of allowed origins: http/cors.ts exposes it).
 *
 *     Server-Timing: total;dur=12.3, db;dur=4.1, cost;dur=0.2
 *
 * - `total`: from the request's arrival to its response being ready (before compression);
 * - `db`: time with at least one of its SQL statements in flight (db/statement-counter.ts);
 * - `cost`: static cost analysis before execution and the actual cost after it.
 *
 * Rules: milliseconds with at most one decimal; on by default outside production, in
 * production only with SERVER_TIMING=true, since timings tell callers about internals. The
 * measurements are a few `performance.now()` calls and one small object per request, kept in a
 * WeakMap by Request like the other plugins' state: no async context on the hot path.
 */
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import { databaseTimeOf } from './tenant-transaction.ts';

const SERVER_TIMING_HEADER = 'Server-Timing';

interface Timing {
  /** `performance.now()` when the request arrived. */
  start: number;
  /** Milliseconds spent computing costs so far. */
  cost: number;
  /** Whether the request reached GraphQL (its parameters were read). */
  graphql: boolean;
}

const timings = new WeakMap<Request, Timing>();

/**
 * Adds `ms` to the request's cost-analysis time. Safe to call when Server-Timing is off: the
 * request then has no entry, and nothing is recorded.
 */
export function addCostTime(request: Request, ms: number): void {
  const timing = timings.get(request);
  if (timing) timing.cost += ms;
}

export function useServerTiming(): Plugin<RequestContext> {
  return {
    onRequest({ request }) {
      timings.set(request, { start: performance.now(), cost: 0, graphql: false });
    },
    onParams({ request }) {
      const timing = timings.get(request);
      if (timing) timing.graphql = true;
    },
    onResponse({ request, response }) {
      const timing = timings.get(request);
      if (!timing?.graphql) return;
      const total = performance.now() - timing.start;
      response.headers.set(
        SERVER_TIMING_HEADER,
        `total;dur=${ms(total)}, db;dur=${ms(databaseTimeOf(request))}, cost;dur=${ms(timing.cost)}`,
      );
    },
  };
}

/** Milliseconds rounded to one decimal: `12.34` → `12.3`, `4` → `4`. */
function ms(value: number): number {
  return Math.round(value * 10) / 10;
}
