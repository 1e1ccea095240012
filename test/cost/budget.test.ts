/**
 * The leaky bucket's arithmetic (pure functions, explicit clock) and the memory store that
 * keeps buckets, including forgetting them once they are full again.
 */
import { describe, expect, it } from 'vitest';
import {
  millisecondsUntilFull,
  refill,
  refund,
  retryAfterSeconds,
  secondsUntilFull,
  take,
} from '../../src/cost/budget.ts';
import { createMemoryBudgetStore } from '../../src/plugins/cost-budget/memory-store.ts';

const SPEC = { size: 100, restoreRate: 10 };
const T0 = 1_700_000_000_000;

describe('leaky bucket', () => {
  it('starts full', () => {
    expect(refill(undefined, SPEC, T0)).toEqual({ available: 100, updatedAt: T0 });
  });

  it('deducts the requested cost when the bucket holds it', () => {
    const { state, result } = take(undefined, SPEC, 60, T0);
    expect(result).toEqual({ allowed: true, available: 40, retryAfterSeconds: 0 });
    expect(state).toEqual({ available: 40, updatedAt: T0 });
  });

  it('lets an operation that costs exactly what the bucket holds start', () => {
    expect(take({ available: 60, updatedAt: T0 }, SPEC, 60, T0).result.allowed).toBe(true);
  });

  it('refuses an operation costing more than the bucket holds and leaves the bucket alone', () => {
    const { state, result } = take({ available: 40, updatedAt: T0 }, SPEC, 85, T0);
    // Deficit 45 at 10 points per second: 4.5 s, rounded up to whole seconds.
    expect(result).toEqual({ allowed: false, available: 40, retryAfterSeconds: 5 });
    expect(state).toEqual({ available: 40, updatedAt: T0 });
  });

  it('refills continuously at the restore rate, up to its size', () => {
    expect(refill({ available: 40, updatedAt: T0 }, SPEC, T0 + 2_500).available).toBe(65);
    expect(refill({ available: 40, updatedAt: T0 }, SPEC, T0 + 60_000).available).toBe(100);
  });

  it('lets a refused operation start once Retry-After seconds have passed', () => {
    const refused = take({ available: 40, updatedAt: T0 }, SPEC, 85, T0).result;
    const later = T0 + refused.retryAfterSeconds * 1000;
    expect(take({ available: 40, updatedAt: T0 }, SPEC, 85, later).result.allowed).toBe(true);
    // The deficit (45 points) has dripped in after 4.5 s, not a millisecond earlier.
    expect(take({ available: 40, updatedAt: T0 }, SPEC, 85, T0 + 4_499).result.allowed).toBe(false);
    expect(take({ available: 40, updatedAt: T0 }, SPEC, 85, T0 + 4_500).result.allowed).toBe(true);
  });

  it('does not drain when the clock goes backwards', () => {
    expect(refill({ available: 40, updatedAt: T0 }, SPEC, T0 - 5_000).available).toBe(40);
  });

  it('refunds the difference, never above the size', () => {
    expect(refund({ available: 40, updatedAt: T0 }, SPEC, 35, T0).available).toBe(75);
    expect(refund({ available: 90, updatedAt: T0 }, SPEC, 35, T0).available).toBe(100);
  });

  it('charges a negative difference (actual above requested), down to empty', () => {
    expect(refund({ available: 40, updatedAt: T0 }, SPEC, -5, T0).available).toBe(35);
    expect(refund({ available: 3, updatedAt: T0 }, SPEC, -5, T0).available).toBe(0);
  });

  it('computes Retry-After and the reset in whole seconds', () => {
    expect(retryAfterSeconds(0, SPEC)).toBe(0);
    expect(retryAfterSeconds(0.1, SPEC)).toBe(1);
    expect(retryAfterSeconds(10, SPEC)).toBe(1);
    expect(retryAfterSeconds(10.5, SPEC)).toBe(2);
    expect(secondsUntilFull(100, SPEC)).toBe(0);
    expect(secondsUntilFull(35, SPEC)).toBe(7);
    expect(millisecondsUntilFull(35, SPEC)).toBe(6_500);
  });
});

describe('memory budget store', () => {
  it('keeps one bucket per key', async () => {
    const store = createMemoryBudgetStore();
    expect(await store.take('a', SPEC, 70, T0)).toEqual({
      allowed: true,
      available: 30,
      retryAfterSeconds: 0,
    });
    expect(await store.take('a', SPEC, 70, T0)).toEqual({
      allowed: false,
      available: 30,
      retryAfterSeconds: 4,
    });
    expect(await store.peek('b', SPEC, T0)).toBe(100);
    expect(await store.refund('a', SPEC, 20, T0)).toBe(50);
    expect(await store.peek('a', SPEC, T0 + 1_000)).toBe(60);
  });

  it('forgets buckets once they would be full again, so memory stays bounded', async () => {
    const store = createMemoryBudgetStore({ sweepIntervalMs: 1_000 });
    for (let i = 0; i < 50; i++) await store.take(`anon:10.0.0.${i}`, SPEC, 10, T0);
    expect(store.size).toBe(50);
    // 10 points at 10 per second: full again after 1 s; the next take sweeps them out.
    await store.take('other', SPEC, 10, T0 + 1_000);
    expect(store.size).toBe(1);
    expect(await store.peek('anon:10.0.0.1', SPEC, T0 + 1_000)).toBe(100);
  });

  it('does not keep a bucket that a refund filled up again', async () => {
    const store = createMemoryBudgetStore();
    await store.take('a', SPEC, 10, T0);
    await store.refund('a', SPEC, 10, T0);
    expect(store.size).toBe(0);
  });
});
