/**
 * Budgets in process memory: the default, and right for a single instance. A full bucket is
 * the same as no bucket, so buckets are dropped once they would have refilled: memory grows
 * with the callers active in the last `size / restoreRate` seconds, not with every caller
 * ever seen (anonymous callers are keyed by address, which an attacker can vary).
 */
import type { BucketSpec } from '../../config.ts';
import {
  type BucketState,
  millisecondsUntilFull,
  refill,
  refund,
  take,
} from '../../cost/budget.ts';
import type { BudgetStore } from './store.ts';

export interface MemoryBudgetStoreOptions {
  /** How often, at most, a take sweeps out full buckets. Default 10 seconds. */
  sweepIntervalMs?: number;
}

interface Entry {
  state: BucketState;
  /** When the bucket will be full again, so forgetting it changes nothing. */
  fullAt: number;
}

export interface MemoryBudgetStore extends BudgetStore {
  /** Buckets currently remembered (for tests of the expiry). */
  readonly size: number;
}

export function createMemoryBudgetStore(options: MemoryBudgetStoreOptions = {}): MemoryBudgetStore {
  const sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
  const buckets = new Map<string, Entry>();
  let lastSweep = Number.NEGATIVE_INFINITY;

  // Swept from the request path rather than a timer: no interval to leak or unref, and an
  // idle process holds nothing worth sweeping anyway.
  const sweep = (now: number) => {
    if (now - lastSweep < sweepIntervalMs) return;
    lastSweep = now;
    for (const [key, entry] of buckets) if (entry.fullAt <= now) buckets.delete(key);
  };
  const save = (key: string, spec: BucketSpec, state: BucketState) => {
    const fullAt = state.updatedAt + millisecondsUntilFull(state.available, spec);
    if (fullAt <= state.updatedAt) buckets.delete(key);
    else buckets.set(key, { state, fullAt });
  };

  return {
    get size() {
      return buckets.size;
    },
    async take(key, spec, cost, now) {
      sweep(now);
      const next = take(buckets.get(key)?.state, spec, cost, now);
      save(key, spec, next.state);
      return next.result;
    },
    async refund(key, spec, amount, now) {
      const state = refund(buckets.get(key)?.state, spec, amount, now);
      save(key, spec, state);
      return state.available;
    },
    async peek(key, spec, now) {
      return refill(buckets.get(key)?.state, spec, now).available;
    },
  };
}
