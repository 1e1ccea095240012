/**
 * Where cost budgets live: process memory by default, Redis (REDIS_URL) when several
 * instances must enforce one budget per viewer. Every method is one atomic step on one
 * bucket, so concurrent requests of the same viewer can never overdraw it.
 */
import type { BucketSpec } from '../../config.ts';
import type { TakeResult } from '../../cost/budget.ts';

export interface BudgetStore {
  /** Deducts `cost` if the bucket holds all of it (see budget.ts `take`). */
  take(key: string, spec: BucketSpec, cost: number, now: number): Promise<TakeResult>;
  /** Gives back `amount` points; resolves to what the bucket holds afterwards. */
  refund(key: string, spec: BucketSpec, amount: number, now: number): Promise<number>;
  /** What the bucket holds now, without changing it. */
  peek(key: string, spec: BucketSpec, now: number): Promise<number>;
}

/** The store could not be reached; REDIS_FAILURE_MODE decides what the request gets. */
export class BudgetStoreUnavailableError extends Error {
  override name = 'BudgetStoreUnavailableError';
}
