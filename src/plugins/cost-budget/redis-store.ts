/**
 * Budgets in Redis, shared by every instance (REDIS_URL). Each take, refund and peek is one
 * round trip running one Lua script, which Redis executes atomically: two instances charging
 * the same viewer at the same moment cannot both spend the last points.
 *
 * The script reads the clock with Redis's own TIME rather than the caller's `now`: instances'
 * clocks drift apart, and a bucket refilled by several clocks would leak or stall. (The
 * memory store uses the `now` it is given; this one ignores it.)
 *
 * A bucket is a hash {a: available points, t: updated at (ms)}; it expires when it would be
 * full again, so idle callers cost no memory (a missing bucket is a full one).
 */
import type { Redis } from 'ioredis';
import type { BucketSpec } from '../../config.ts';
import { retryAfterSeconds } from '../../cost/budget.ts';
import { type BudgetStore, BudgetStoreUnavailableError } from './store.ts';

// KEYS[1] bucket; ARGV: size, restoreRate (points/s), amount, mode (take | refund | peek).
// Returns {allowed (1|0), available as a string (Lua numbers would be truncated to integers)}.
const BUCKET_SCRIPT = `
local size = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local mode = ARGV[4]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local saved = redis.call('HMGET', KEYS[1], 'a', 't')
local available = size
if saved[1] then
  local elapsed = math.max(0, now - tonumber(saved[2]))
  available = math.min(size, tonumber(saved[1]) + elapsed * rate / 1000)
end
if mode == 'peek' then
  return {1, tostring(available)}
end
local allowed = 1
if mode == 'take' then
  if available >= amount then available = available - amount else allowed = 0 end
else
  available = math.max(0, math.min(size, available + amount))
end
if available >= size then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'a', tostring(available), 't', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((size - available) * 1000 / rate))
end
return {allowed, tostring(available)}
`;

type Mode = 'take' | 'refund' | 'peek';

interface BucketCommand {
  costBudgetBucket(
    key: string,
    size: number,
    restoreRate: number,
    amount: number,
    mode: Mode,
  ): Promise<[number, string]>;
}

export interface RedisBudgetStoreOptions {
  redis: Redis;
  /** Prepended to every bucket key. Default `orders:budget:`. */
  keyPrefix?: string;
}

export function createRedisBudgetStore(options: RedisBudgetStoreOptions): BudgetStore {
  const prefix = options.keyPrefix ?? 'orders:budget:';
  // defineCommand sends EVALSHA and falls back to EVAL once when Redis lacks the script.
  options.redis.defineCommand('costBudgetBucket', { numberOfKeys: 1, lua: BUCKET_SCRIPT });
  const redis = options.redis as unknown as BucketCommand;

  const run = async (key: string, spec: BucketSpec, amount: number, mode: Mode) => {
    try {
      const [allowed, available] = await redis.costBudgetBucket(
        prefix + key,
        spec.size,
        spec.restoreRate,
        amount,
        mode,
      );
      return { allowed: allowed === 1, available: Number(available) };
    } catch (error) {
      throw new BudgetStoreUnavailableError('The cost budget store (Redis) is unreachable.', {
        cause: error,
      });
    }
  };

  return {
    async take(key, spec, cost) {
      const { allowed, available } = await run(key, spec, cost, 'take');
      return {
        allowed,
        available,
        retryAfterSeconds: allowed ? 0 : retryAfterSeconds(cost - available, spec),
      };
    },
    async refund(key, spec, amount) {
      return (await run(key, spec, amount, 'refund')).available;
    },
    async peek(key, spec) {
      return (await run(key, spec, 0, 'peek')).available;
    },
  };
}
