/**
 * A circuit breaker around PostgreSQL (cockatiel). After `failures` consecutive CONNECTION
 * failures (refused, reset, terminated by an administrator, connect timeout) it opens: for
 * `resetMs` every request that needs the database fails at once with 503
 * SERVICE_UNAVAILABLE and a Retry-After of the time left, instead of each one waiting for its
 * own connect timeout and piling up behind the pool. Then one request is let through as a
 * probe (half-open): if PostgreSQL answers, the circuit closes; if not, it opens again.
 *
 * Only connection failures count. A constraint violation, a serialization failure or a
 * cancelled statement is PostgreSQL answering: for the breaker that is a success, which
 * resets the count of consecutive failures (and closes a half-open circuit: it is back).
 *
 * A connection failure while the circuit is still closed is also answered with 503 and a
 * Retry-After, not a masked 500: the request did not fail because of anything in it.
 *
 * A database that does not answer in time is a failure too: a wait past its bound
 * (DB_WAIT_TIMEOUT, `run`'s `timeoutMs`), a connection that owed an answer and went quiet
 * (DB_ANSWER_TIMEOUT, db/watched-socket.ts).
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import type { Logger } from 'pino';
import { apiError, ErrorCode } from '../errors.ts';
import { ANSWER_TIMEOUT } from './watched-socket.ts';

/** The code of the error `run` fails with when its operation outlives `timeoutMs`. */
export const WAIT_TIMEOUT = 'DB_WAIT_TIMEOUT';

export type CircuitStateName = 'closed' | 'open' | 'half-open';

export interface CircuitSettings {
  /** Consecutive connection failures that open the circuit (DB_CIRCUIT_FAILURES). */
  readonly failures: number;
  /** Milliseconds the circuit stays open before a probe request may try (DB_CIRCUIT_RESET_MS). */
  readonly resetMs: number;
}

export const DEFAULT_CIRCUIT_SETTINGS: CircuitSettings = { failures: 5, resetMs: 5_000 };

export interface RunOptions {
  /**
   * Stop waiting for `operation` after this many milliseconds: a failure for the breaker,
   * answered 503. The operation itself goes on until its connection's own timeouts end it.
   */
  readonly timeoutMs?: number;
}

export interface DatabaseCircuit {
  readonly state: CircuitStateName;
  /**
   * Runs `operation` (anything that takes a connection) through the breaker. While the
   * circuit is open or a probe is in flight it throws SERVICE_UNAVAILABLE without calling
   * `operation`; a connection failure of `operation` is thrown as SERVICE_UNAVAILABLE too;
   * any other error is thrown unchanged.
   */
  run<T>(operation: () => Promise<T>, options?: RunOptions): Promise<T>;
  /** The code of the last connection failure (`ECONNREFUSED`, `57P01`, …), for logs. */
  readonly lastFailureCode: string | undefined;
  /** Whole seconds until the circuit lets a probe through; at least 1. */
  retryAfterSeconds(): number;
  /** Calls `listener` on every transition (metrics, logs); returns the unsubscribe function. */
  onStateChange(listener: (state: CircuitStateName) => void): () => void;
}

/**
 * postgres.js (and Node's socket) codes of a connection that could not be made or was lost.
 * CONNECTION_ENDED and CONNECTION_DESTROYED are absent: those mean this process closed its
 * own pool (shutdown), which is not the database's failure.
 */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECT_TIMEOUT',
  ANSWER_TIMEOUT,
  WAIT_TIMEOUT,
  // SQLSTATE: the server is shutting down or restarting (pg_ctl stop, a crashed backend).
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
]);

/** `operation`, or a WAIT_TIMEOUT error if it has not settled after `timeoutMs`. */
export function withWaitTimeout<T>(operation: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          Object.assign(new Error(`the database did not answer within ${timeoutMs} ms`), {
            code: WAIT_TIMEOUT,
          }),
        ),
      timeoutMs,
    );
  });
  return Promise.race([operation, expired]).finally(() => clearTimeout(timer));
}

/**
 * True when `error`, or an error it wraps (Drizzle's `cause`, graphql-js's `originalError`),
 * is a failure to reach PostgreSQL. SQLSTATE class 08 is "connection exception", except
 * 08P01, a protocol violation: a client bug, which another attempt would not fix.
 */
export function isConnectionFailure(error: unknown): boolean {
  return connectionFailureCode(error) !== undefined;
}

function connectionFailureCode(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (CONNECTION_ERROR_CODES.has(code)) return code;
      if (code.startsWith('08') && code.length === 5 && code !== '08P01') return code;
    }
    current = (current as { originalError?: unknown }).originalError ?? current.cause;
  }
  return undefined;
}

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  // Never used: nothing isolates the circuit by hand; a held-open circuit is open.
  [CircuitState.Isolated]: 'open',
};

export function createDatabaseCircuit(
  settings: CircuitSettings = DEFAULT_CIRCUIT_SETTINGS,
): DatabaseCircuit {
  const policy: CircuitBreakerPolicy = circuitBreaker(handleWhen(isConnectionFailure), {
    breaker: new ConsecutiveBreaker(settings.failures),
    halfOpenAfter: settings.resetMs,
  });
  // cockatiel's own opening time is private; this one is taken in the same synchronous step.
  let openedAt = 0;
  let lastFailureCode: string | undefined;
  policy.onBreak(() => {
    openedAt = Date.now();
  });

  const retryAfterSeconds = () => {
    if (policy.state !== CircuitState.Open) return Math.max(1, Math.ceil(settings.resetMs / 1000));
    return Math.max(1, Math.ceil((openedAt + settings.resetMs - Date.now()) / 1000));
  };

  // The message names no cause: error codes and hosts are internals, and the logs have them.
  const unavailable = () => {
    const seconds = retryAfterSeconds();
    return apiError(
      ErrorCode.SERVICE_UNAVAILABLE,
      `The database is unavailable; retry after ${seconds} s.`,
      {
        retryAfterSeconds: seconds,
        http: { status: 503, headers: { 'Retry-After': String(seconds) } },
      },
    );
  };

  return {
    get state() {
      return STATE_NAMES[policy.state];
    },
    get lastFailureCode() {
      return lastFailureCode;
    },
    async run(operation, options) {
      // cockatiel queues calls behind a half-open probe; a probe may wait out a whole connect
      // timeout, so the others are refused now rather than held for it.
      if (policy.state === CircuitState.HalfOpen) {
        throw unavailable();
      }
      try {
        const outcome = await policy.execute(async () => {
          try {
            const pending = operation();
            const timeoutMs = options?.timeoutMs;
            return { value: await (timeoutMs ? withWaitTimeout(pending, timeoutMs) : pending) };
          } catch (error) {
            const code = connectionFailureCode(error);
            if (code === undefined) {
              // PostgreSQL answered (with an error): for the breaker, that is reachable.
              return { error };
            }
            // Before cockatiel sees it: the transition it may cause logs this cause.
            lastFailureCode = code;
            throw error;
          }
        });
        if ('error' in outcome) throw outcome.error;
        return outcome.value;
      } catch (error) {
        if (error instanceof BrokenCircuitError) throw unavailable();
        if (!isConnectionFailure(error)) throw error;
        throw unavailable();
      }
    },
    retryAfterSeconds,
    onStateChange(listener) {
      return policy.onStateChange((state) => listener(STATE_NAMES[state])).dispose;
    },
  };
}

/**
 * Logs an outage once when it starts (the circuit opens from closed) and once when it ends
 * (the circuit closes), with how long it lasted; the probes in between log at debug.
 */
export function logCircuitTransitions(circuit: DatabaseCircuit, logger: Logger): () => void {
  let outageStartedAt: number | undefined;
  return circuit.onStateChange((state) => {
    if (state === 'open' && outageStartedAt === undefined) {
      outageStartedAt = Date.now();
      logger.warn(
        {
          circuit: state,
          cause: circuit.lastFailureCode,
          retryAfterSeconds: circuit.retryAfterSeconds(),
        },
        'database unreachable: circuit open, requests fail fast with 503',
      );
    } else if (state === 'closed' && outageStartedAt !== undefined) {
      logger.info(
        { circuit: state, outageMs: Date.now() - outageStartedAt },
        'database reachable again: circuit closed',
      );
      outageStartedAt = undefined;
    } else {
      logger.debug({ circuit: state }, 'database circuit');
    }
  });
}
