/**
 * A background job that works on the database every `intervalMs` (idempotency-key expiry, and
 * any later job of the kind). Its database calls go through the circuit breaker with a bound,
 * like a request's (the job passes them through `run`'s own calls); this file decides when it
 * runs and what the logs say:
 *
 * - while the database is unavailable (SERVICE_UNAVAILABLE from the breaker) the job backs
 *   off: after the first failed run it waits an interval, after each further one twice as
 *   long as before, up to `maxBackoffMs`; while the circuit is open a run costs nothing, as
 *   the breaker refuses it without touching PostgreSQL;
 * - an outage is logged once when the job first meets it and once when a run succeeds again,
 *   not at every attempt;
 * - any other error is a bug or a permissions problem: logged every time, at the next interval.
 *
 * Runs never overlap, and the timer does not keep the process alive.
 */
import type { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { ErrorCode } from '../errors.ts';

export interface PeriodicJobOptions {
  /** Names the job in its log lines. */
  name: string;
  intervalMs: number;
  /** Longest wait between two runs during an outage. Default: 16 intervals. */
  maxBackoffMs?: number;
  logger: Logger;
  run: () => Promise<unknown>;
}

export interface PeriodicJob {
  /** Stops the job; a run in progress finishes, and none starts after it. */
  stop(): void;
}

function isUnavailable(error: unknown): boolean {
  return (error as GraphQLError | undefined)?.extensions?.code === ErrorCode.SERVICE_UNAVAILABLE;
}

export function startPeriodicJob(options: PeriodicJobOptions): PeriodicJob {
  const { name, intervalMs, logger } = options;
  const maxBackoffMs = options.maxBackoffMs ?? intervalMs * 16;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let outageStartedAt: number | undefined;
  let waitMs = intervalMs;

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };

  async function tick() {
    try {
      await options.run();
      if (outageStartedAt !== undefined) {
        logger.info(
          { job: name, outageMs: Date.now() - outageStartedAt },
          `${name}: database available again, resumed`,
        );
        outageStartedAt = undefined;
      }
      waitMs = intervalMs;
    } catch (error) {
      if (isUnavailable(error)) {
        waitMs = outageStartedAt === undefined ? intervalMs : Math.min(waitMs * 2, maxBackoffMs);
        if (outageStartedAt === undefined) {
          outageStartedAt = Date.now();
          logger.warn({ job: name }, `${name}: database unavailable, backing off`);
        }
      } else {
        logger.error({ err: error, job: name }, `${name} failed`);
        waitMs = intervalMs;
      }
    }
    schedule(waitMs);
  }

  schedule(intervalMs);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
