/**
 * Field rate-limit counters in Redis (REDIS_URL), shared by every instance.
 *
 * Not @envelop/rate-limiter's own RedisStore: it sends GET, decides in the process, then SET —
 * two round trips and a read-modify-write race, so two instances that both read 29 calls both
 * allow the 30th call... and the 31st. Here each call is one round trip running one Lua script,
 * which Redis executes atomically (what the step is: store.ts).
 *
 * Timestamps come from Redis's own clock (TIME), so instances whose clocks drift still share
 * one window; they are shifted to this process's clock before the library compares them with
 * `Date.now()`. A log is a list of call times, oldest first, that expires a window after its
 * newest call, so idle callers cost no memory.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { apiError, ErrorCode } from '../../errors.ts';
import { type FieldLimitLookup, FieldRateLimitStore, type RateLimitIdentity } from './store.ts';

// KEYS[1] the caller's log of one field; ARGV: windowMs, max.
// Returns {now (ms, Redis clock), the calls still in the window before this one...}.
const RECORD_CALL_SCRIPT = `
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
while true do
  local oldest = redis.call('LINDEX', KEYS[1], 0)
  if not oldest or tonumber(oldest) + window > now then break end
  redis.call('LPOP', KEYS[1])
end
local calls = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('RPUSH', KEYS[1], now)
redis.call('LTRIM', KEYS[1], -max, -1)
redis.call('PEXPIRE', KEYS[1], window)
table.insert(calls, 1, now)
return calls
`;

// KEYS[1] the caller's log of one field; ARGV: windowMs, max.
// Returns the milliseconds until a call would be allowed again (0: now).
const RETRY_AFTER_SCRIPT = `
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local blocking = redis.call('LINDEX', KEYS[1], -max)
if not blocking then return 0 end
return math.max(0, tonumber(blocking) + window - now)
`;

interface FieldRateLimitCommands {
  fieldRateLimitRecord(key: string, windowMs: number, max: number): Promise<string[]>;
  fieldRateLimitRetryAfter(key: string, windowMs: number, max: number): Promise<number>;
}

export interface RedisFieldRateLimitStoreOptions {
  redis: Redis;
  /** The limit of a field by its name (see FieldRateLimitStore). */
  limitOf: FieldLimitLookup;
  /** `closed`: an unreachable Redis refuses limited fields (503); `open`: lets them through. */
  failureMode: 'open' | 'closed';
  logger: Logger;
  /** Prepended to every key. Default `orders:field-rate-limit:`. */
  keyPrefix?: string;
}

/** Seconds a client should wait before retrying while Redis is unreachable. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

export class RedisFieldRateLimitStore extends FieldRateLimitStore {
  readonly #commands: FieldRateLimitCommands;
  readonly #options: RedisFieldRateLimitStoreOptions;
  readonly #prefix: string;
  /** True while an outage has been logged, so it is logged once, not once per request. */
  #outageLogged = false;

  constructor(options: RedisFieldRateLimitStoreOptions) {
    super(options.limitOf);
    this.#options = options;
    this.#prefix = options.keyPrefix ?? 'orders:field-rate-limit:';
    // defineCommand sends EVALSHA and falls back to EVAL once when Redis lacks the script.
    options.redis.defineCommand('fieldRateLimitRecord', {
      numberOfKeys: 1,
      lua: RECORD_CALL_SCRIPT,
    });
    options.redis.defineCommand('fieldRateLimitRetryAfter', {
      numberOfKeys: 1,
      lua: RETRY_AFTER_SCRIPT,
    });
    this.#commands = options.redis as unknown as FieldRateLimitCommands;
  }

  override async getForIdentity(identity: RateLimitIdentity): Promise<readonly number[]> {
    const limit = this.limitOf(identity);
    let reply: string[];
    try {
      reply = await this.#commands.fieldRateLimitRecord(
        this.#key(identity),
        limit.windowMs,
        limit.max,
      );
    } catch (error) {
      return this.#unavailable(error);
    }
    this.#reachable();
    const [redisNow, ...calls] = reply.map(Number) as [number, ...number[]];
    const shift = Date.now() - redisNow;
    return calls.map((call) => call + shift);
  }

  override async retryAfterMs(identity: RateLimitIdentity): Promise<number> {
    const limit = this.limitOf(identity);
    try {
      const wait = await this.#commands.fieldRateLimitRetryAfter(
        this.#key(identity),
        limit.windowMs,
        limit.max,
      );
      this.#reachable();
      return Number(wait);
    } catch (error) {
      // Only asked after a refusal, whatever the failure mode: the call stays refused, and
      // the whole window is a safe upper bound.
      this.#logOutage(error);
      return limit.windowMs;
    }
  }

  #key(identity: RateLimitIdentity): string {
    return `${this.#prefix}${identity.contextIdentity}:${identity.fieldIdentity}`;
  }

  /** `open`: no calls on record, so the call is allowed (and not counted); `closed`: 503. */
  #unavailable(error: unknown): readonly number[] {
    this.#logOutage(error);
    if (this.#options.failureMode === 'open') return [];
    throw apiError(
      ErrorCode.SERVICE_UNAVAILABLE,
      'The rate-limit store is unavailable; try again shortly.',
      {
        http: {
          status: 503,
          headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
        },
      },
    );
  }

  #logOutage(error: unknown): void {
    const { failureMode, logger } = this.#options;
    if (!this.#outageLogged) {
      logger.error(
        { err: error, failureMode },
        failureMode === 'open'
          ? 'field rate limits: redis unreachable, letting limited fields through'
          : 'field rate limits: redis unreachable, refusing limited fields',
      );
      this.#outageLogged = true;
    }
  }

  #reachable(): void {
    if (this.#outageLogged) this.#options.logger.info('field rate limits: redis reachable again');
    this.#outageLogged = false;
  }
}
