/**
 * Where field rate-limit counters live: what @envelop/rate-limiter's `Store` must do here
 * (memory-store.ts keeps them in this process, redis-store.ts shares them between instances).
 *
 * The library asks its store for a caller's recent calls (`getForIdentity`), decides
 * (`calls + 1 > max`), then writes the new log back (`setForIdentity`). Our stores do the
 * whole step in `getForIdentity` — forget calls older than the window, return the rest, record
 * this call — so the check and the write cannot be split by another request (for Redis, by
 * another instance), and `setForIdentity` has nothing left to do. Every call is recorded,
 * refused ones too, as the library does by default: a client that ignores Retry-After stays
 * limited. Only the newest `max` calls are kept: older ones can never decide anything.
 */
import { Store } from '@envelop/rate-limiter';

/** One rate-limited field's limit, from its @rateLimit directive. */
export interface FieldLimit {
  readonly max: number;
  /** As written in the directive, e.g. `1m`. */
  readonly window: string;
  readonly windowMs: number;
}

/** The library's key: who calls (our `identifyFn`) and which field (its name). */
export interface RateLimitIdentity {
  readonly contextIdentity: string;
  readonly fieldIdentity: string;
}

/** The limit of a field by the library's field identity (its name). */
export type FieldLimitLookup = (fieldIdentity: string) => FieldLimit | undefined;

export abstract class FieldRateLimitStore extends Store {
  readonly #limitOf: FieldLimitLookup;

  /**
   * `limitOf` because the store must know the window to forget old calls, and the library
   * hands the window only to `setForIdentity`, after its decision.
   */
  constructor(limitOf: FieldLimitLookup) {
    super();
    this.#limitOf = limitOf;
  }

  /** Records this call; returns the earlier calls still in the window (see the top). */
  abstract override getForIdentity(
    identity: RateLimitIdentity,
  ): readonly number[] | Promise<readonly number[]>;

  /** Milliseconds until `identity` may call its field again (0: now). Asked after a refusal. */
  abstract retryAfterMs(identity: RateLimitIdentity): number | Promise<number>;

  /** Nothing to do: `getForIdentity` already recorded the call. */
  override setForIdentity(): void {}

  protected limitOf(identity: RateLimitIdentity): FieldLimit {
    const limit = this.#limitOf(identity.fieldIdentity);
    if (!limit) throw new Error(`No @rateLimit known for field '${identity.fieldIdentity}'.`);
    return limit;
  }
}
