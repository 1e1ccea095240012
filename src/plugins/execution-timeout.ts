/**
 * Execution timeout: an operation that runs longer than `timeoutMs` stops and fails with
 * TIMEOUT, HTTP 504. Yoga's executor takes an AbortSignal (what useExecutionCancellation
 * passes: the request's own signal, so a client that hangs up stops its operation too); this
 * plugin passes one that also aborts at the deadline, so no new resolver starts after it.
 *
 * 504, not 503: 503 with Retry-After is SERVICE_UNAVAILABLE, "the server is overloaded or a
 * dependency is down, retry later". This is "this operation took too long", which HTTP
 * clients, proxies and CDNs already know as a gateway timeout (the server is the gateway to
 * its database); both are never cached, and GraphQL-over-HTTP leaves 5xx choice to servers.
 *
 * The deadline is checked two ways. A timer covers waiting on I/O. A clock check inside the
 * signal's `throwIfAborted`, which the executor calls before each field, covers work that
 * never yields to timers: completing a huge list, or the embedded PGlite, whose queries
 * resolve as microtasks so a timer cannot fire until execution is over.
 *
 * The plugin sits before the tenant transaction in the pipeline, so it runs inside it: on
 * timeout it throws, the transaction rolls back and its connection returns to the pool.
 * A PostgreSQL `statement_timeout` (SQLSTATE 57014, db/client.ts) ends the same way.
 */
import type { ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import { apiError, ErrorCode } from '../errors.ts';

export interface ExecutionTimeoutOptions {
  /** Most milliseconds one operation may execute: `config.timeouts.executionMs`. */
  timeoutMs: number;
}

/** PostgreSQL's `query_canceled`, raised when `statement_timeout` cancels a statement. */
const QUERY_CANCELED = '57014';

function timeoutError(timeoutMs: number) {
  return apiError(
    ErrorCode.TIMEOUT,
    `The operation did not finish within ${timeoutMs} ms and was stopped.`,
    { limit: timeoutMs, http: { status: 504 } },
  );
}

function statementTimeoutError() {
  return apiError(
    ErrorCode.TIMEOUT,
    'A database statement of the operation ran longer than its limit and was stopped.',
    { http: { status: 504 } },
  );
}

/** True when the error, or an error it wraps, is a statement PostgreSQL cancelled. */
function isStatementTimeout(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    if ((current as { code?: unknown }).code === QUERY_CANCELED) return true;
    current = (current as { originalError?: unknown }).originalError ?? (current as Error).cause;
  }
  return false;
}

export function useExecutionTimeout(options: ExecutionTimeoutOptions): Plugin<RequestContext> {
  const { timeoutMs } = options;
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      // From here, so that waiting for a pooled connection counts against the deadline too.
      const deadline = performance.now() + timeoutMs;
      const request = (args.contextValue as RequestContext).request;
      setExecuteFn(async (executionArgs: ExecutionArgs) => {
        const error = timeoutError(timeoutMs);
        const controller = new AbortController();
        const { signal } = controller;
        const expire = () => controller.abort(error);
        const hangUp = () => controller.abort(request.signal.reason);
        signal.throwIfAborted = () => {
          if (!signal.aborted && performance.now() >= deadline) expire();
          AbortSignal.prototype.throwIfAborted.call(signal);
        };
        const timer = setTimeout(expire, Math.max(0, deadline - performance.now()));
        request.signal?.addEventListener('abort', hangUp, { once: true });
        try {
          signal.throwIfAborted();
          const result = await executeFn({ ...executionArgs, signal } as ExecutionArgs);
          if (signal.reason === error) throw error;
          const errors = 'errors' in result ? result.errors : undefined;
          if (errors?.some(isStatementTimeout)) throw statementTimeoutError();
          return result;
        } catch (thrown) {
          if (thrown === error || signal.reason === error) throw error;
          if (isStatementTimeout(thrown)) throw statementTimeoutError();
          throw thrown;
        } finally {
          clearTimeout(timer);
          request.signal?.removeEventListener('abort', hangUp);
        }
      });
    },
  };
}
