/**
 * The shared Redis connection (REDIS_URL), for counters that several instances must agree
 * on: cost budgets and field rate limits. Without REDIS_URL those live in process memory.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.ts';

export function openRedis(redis: NonNullable<Config['redis']>, logger: Logger): Redis {
  const client = new Redis(redis.url, {
    // Fail a command quickly instead of queueing it while disconnected: callers decide,
    // per REDIS_FAILURE_MODE, whether an unreachable Redis lets requests through.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    lazyConnect: false,
  });
  let reported = false;
  client.on('error', (error) => {
    // Reconnection is automatic; log the outage once, not once per retry.
    if (!reported) logger.error({ err: error }, 'redis unreachable');
    reported = true;
  });
  client.on('ready', () => {
    if (reported) logger.info('redis reachable again');
    reported = false;
  });
  return client;
}
