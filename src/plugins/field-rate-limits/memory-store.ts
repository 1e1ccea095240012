/** The default field rate-limit store: counters in this process's memory. */
import { type FieldLimitLookup, FieldRateLimitStore, type RateLimitIdentity } from './store.ts';

/**
 * One process's counters. Not the library's InMemoryStore: that one copies its whole state
 * object on every call and never forgets a caller, so memory and time per call grow with every
 * client address ever seen. Here the map is ordered by last call, and callers idle for longer
 * than the longest window are dropped from its front as calls come in.
 */
export class MemoryFieldRateLimitStore extends FieldRateLimitStore {
  readonly #calls = new Map<string, number[]>();
  readonly #longestWindowMs: () => number;

  constructor(limitOf: FieldLimitLookup, longestWindowMs: () => number) {
    super(limitOf);
    this.#longestWindowMs = longestWindowMs;
  }

  override getForIdentity(identity: RateLimitIdentity): readonly number[] {
    const { max, windowMs } = this.limitOf(identity);
    const now = Date.now();
    this.#forgetIdleCallers(now);
    const key = keyOf(identity);
    const calls = (this.#calls.get(key) ?? []).filter((call) => call + windowMs > now);
    this.#calls.delete(key);
    this.#calls.set(key, [...calls, now].slice(-max));
    return calls;
  }

  override retryAfterMs(identity: RateLimitIdentity): number {
    const { max, windowMs } = this.limitOf(identity);
    const calls = this.#calls.get(keyOf(identity)) ?? [];
    const blocking = calls.at(-max);
    return blocking === undefined ? 0 : Math.max(0, blocking + windowMs - Date.now());
  }

  #forgetIdleCallers(now: number): void {
    const longest = this.#longestWindowMs();
    for (const [key, calls] of this.#calls) {
      if (calls.at(-1)! + longest > now) break;
      this.#calls.delete(key);
    }
  }
}

function keyOf(identity: RateLimitIdentity): string {
  return `${identity.contextIdentity}\u0000${identity.fieldIdentity}`;
}
