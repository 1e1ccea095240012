/**
 * The cost budget: a leaky bucket with Shopify's semantics. A bucket holds at most `size`
 * points and refills continuously at `restoreRate` points per second. An operation may start
 * only if the bucket holds its whole requested cost; that cost is deducted up front, and after
 * execution the difference between requested and actual cost is refunded.
 *
 * Pure functions over a `{ available, updatedAt }` state and an explicit clock (milliseconds),
 * so the arithmetic is testable without timers and the stores (memory, Redis Lua) share it.
 * A bucket with no state is full: stores may forget full buckets.
 */
import type { BucketSpec } from '../config.ts';

export interface BucketState {
  /** Points in the bucket at `updatedAt` (fractional: refill is continuous). */
  readonly available: number;
  /** Milliseconds since the epoch. */
  readonly updatedAt: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Points left after the take (or, when refused, what the bucket holds now). */
  available: number;
  /** Whole seconds until the bucket holds the requested cost; 0 when allowed. */
  retryAfterSeconds: number;
}

/** The state at `now`: what it held plus what has dripped back in since, capped at the size. */
export function refill(state: BucketState | undefined, spec: BucketSpec, now: number): BucketState {
  if (state === undefined) return { available: spec.size, updatedAt: now };
  // A clock that went backwards (another instance, NTP) refills nothing rather than draining.
  const elapsedSeconds = Math.max(0, now - state.updatedAt) / 1000;
  return {
    available: Math.min(spec.size, state.available + elapsedSeconds * spec.restoreRate),
    updatedAt: now,
  };
}

/** Deducts `cost` if the bucket holds all of it; otherwise leaves it unchanged. */
export function take(
  state: BucketState | undefined,
  spec: BucketSpec,
  cost: number,
  now: number,
): { state: BucketState; result: TakeResult } {
  const current = refill(state, spec, now);
  if (current.available >= cost) {
    const available = current.available - cost;
    return {
      state: { available, updatedAt: now },
      result: { allowed: true, available, retryAfterSeconds: 0 },
    };
  }
  return {
    state: current,
    result: {
      allowed: false,
      available: current.available,
      retryAfterSeconds: retryAfterSeconds(cost - current.available, spec),
    },
  };
}

/** Gives back `amount` points (requested − actual cost), never above the bucket's size. */
export function refund(
  state: BucketState | undefined,
  spec: BucketSpec,
  amount: number,
  now: number,
): BucketState {
  const current = refill(state, spec, now);
  return {
    // A negative amount (the operation returned more than its static estimate assumed,
    // e.g. orders with more lines than Order.items' assumed size) is charged, down to empty.
    available: Math.max(0, Math.min(spec.size, current.available + amount)),
    updatedAt: now,
  };
}

/** Whole seconds until `deficit` points have dripped back in (Retry-After). */
export function retryAfterSeconds(deficit: number, spec: BucketSpec): number {
  return deficit <= 0 ? 0 : Math.ceil(deficit / spec.restoreRate);
}

/** Whole seconds until a bucket holding `available` points is full again. */
export function secondsUntilFull(available: number, spec: BucketSpec): number {
  return retryAfterSeconds(spec.size - available, spec);
}

/** Milliseconds until the bucket is full: how long a store must remember it. */
export function millisecondsUntilFull(available: number, spec: BucketSpec): number {
  return Math.max(0, Math.ceil(((spec.size - available) / spec.restoreRate) * 1000));
}
