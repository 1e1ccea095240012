/**
 * Execution timeout: an operation that runs longer than `timeoutMs` stops and fails with
 * TIMEOUT, HTTP 504. One whose client hangs up (the request's own signal aborts) stops too.
 * Once the operation must stop, no new resolver starts: every resolver of the schema it
 * executes against first runs the operation's check (fields that only read a property of their
 * parent, graphql-js's default resolver, have nothing to check).
 *
 * Why a check before each resolver and not Yoga's own mechanism (an AbortSignal handed to the
 * executor, what useExecutionCancellation does): given a signal, the executor races every
 * object that has asynchronous fields against it. That is several more promises per object, and
 * for a page of 20 orders with their items about a tenth of the whole request's CPU time
 * (scripts/bench-protections.ts). Here one race, of the whole execution against the stop,
 * answers as soon as the operation must stop, as the executor's did; the checks stop what is
 * still running. They run on a copy of the schema whose resolvers are wrapped, made once per
 * schema, so the schema itself and apps without this plugin (`protections: false`) are as
 * they were. Introspection fields (graphql-js's own) are not wrapped: the operation limits
 * bound them.
 *
 * 504, not 503: 503 with Retry-After is SERVICE_UNAVAILABLE, "the server is overloaded or a
 * dependency is down, retry later". This is "this operation took too long", which HTTP
 * clients, proxies and CDNs already know as a gateway timeout (the server is the gateway to
 * its database); both are never cached, and GraphQL-over-HTTP leaves 5xx choice to servers.
 *
 * The deadline is checked two ways. A timer covers waiting on I/O. A clock check before each
 * resolver covers work that never yields to timers: completing a huge list, or the embedded
 * PGlite, whose queries resolve as microtasks so a timer cannot fire until execution is over.
 * The clock is read at the first check of each run of checks and every CLOCK_STRIDE-th within
 * one, so at most CLOCK_STRIDE − 1 resolvers start past the deadline, all within microseconds
 * of it.
 *
 * The plugin sits before the tenant transaction in the pipeline, so it runs inside it: on
 * timeout it throws, the transaction rolls back and its connection returns to the pool.
 * A PostgreSQL `statement_timeout` (SQLSTATE 57014, db/client.ts) ends the same way.
 */
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  type ExecutionArgs,
  type GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import { apiError, ErrorCode } from '../errors.ts';

export interface ExecutionTimeoutOptions {
  /** Most milliseconds one operation may execute: `config.timeouts.executionMs`. */
  timeoutMs: number;
}

/** PostgreSQL's `query_canceled`, raised when `statement_timeout` cancels a statement. */
const QUERY_CANCELED = '57014';

/** Checks between two clock readings while execution runs without waiting (see below). */
const CLOCK_STRIDE = 16;

/** TIMEOUT, HTTP 504: the operation ran past its deadline (`headers`: e.g. a Retry-After). */
export function timeoutError(timeoutMs: number, headers?: Record<string, string>) {
  return apiError(
    ErrorCode.TIMEOUT,
    `The operation did not finish within ${timeoutMs} ms and was stopped.`,
    { limit: timeoutMs, http: { status: 504, ...(headers ? { headers } : {}) } },
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

/**
 * Per operation (its context object): the deadline check, which throws once the operation
 * must stop. Read by every resolver of the guarded schema.
 */
const checks = new WeakMap<object, () => void>();

const guardedSchemas = new WeakMap<GraphQLSchema, GraphQLSchema>();

/** The schema with every field's resolver (the default one included) preceded by its check. */
function guardedSchemaOf(schema: GraphQLSchema): GraphQLSchema {
  let guarded = guardedSchemas.get(schema);
  if (!guarded) {
    guarded = mapSchema(schema, {
      [MapperKind.OBJECT_FIELD]: (field) => {
        // A field without a resolver of its own is a property read: nothing to stop, and left
        // unwrapped the compiled executor (plugins/compiled-execution.ts) reads it inline
        // instead of calling a function with resolve info for it.
        if (field.resolve === undefined || field.resolve === defaultFieldResolver) return field;
        const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve;
        return {
          ...field,
          resolve: (source, args, context, info) => {
            checks.get(context as object)?.();
            return resolve(source, args, context, info);
          },
        };
      },
    });
    guardedSchemas.set(schema, guarded);
  }
  return guarded;
}

export function useExecutionTimeout(options: ExecutionTimeoutOptions): Plugin<RequestContext> {
  const { timeoutMs } = options;
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      // From here, so that waiting for a pooled connection counts against the deadline too.
      const deadline = performance.now() + timeoutMs;
      const request = (args.contextValue as RequestContext).request;
      setExecuteFn(async (executionArgs: ExecutionArgs) => {
        // Made only when the deadline passes: an error captures a stack trace, which would cost
        // every operation more than the rest of this plugin.
        let timedOut: GraphQLError | undefined;
        // Whether the operation must stop, and why: the timeout, or the request's abort reason.
        let stopped = false;
        let reason: unknown;
        let reject: (reason: unknown) => void = () => {};
        const stoppedEarly = new Promise<never>((_, rejectWith) => {
          reject = rejectWith;
        });
        stoppedEarly.catch(() => {});
        const stop = (why: unknown) => {
          if (stopped) return;
          stopped = true;
          reason = why;
          reject(why);
        };
        const expire = () => {
          if (stopped) return;
          timedOut = timeoutError(timeoutMs);
          stop(timedOut);
        };
        const hangUp = () => stop(request.signal.reason);
        // Run before every resolver: over 750 times for a page of 20 orders. Reading the clock
        // costs more than everything else here, so within one synchronous run of checks it is
        // read at the first and then every CLOCK_STRIDE-th; the first check of a later run
        // (after an await: I/O, a PGlite query) reads it again.
        let inRun = false;
        let sinceRead = 0;
        const endRun = () => {
          inRun = false;
        };
        const check = () => {
          if (!stopped && (!inRun || ++sinceRead >= CLOCK_STRIDE)) {
            if (!inRun) {
              inRun = true;
              queueMicrotask(endRun);
            }
            sinceRead = 0;
            if (performance.now() >= deadline) expire();
          }
          if (stopped) throw reason;
        };
        const timer = setTimeout(expire, Math.max(0, deadline - performance.now()));
        request.signal?.addEventListener('abort', hangUp, { once: true });
        checks.set(executionArgs.contextValue as object, check);
        try {
          check();
          const result = await Promise.race([
            executeFn({ ...executionArgs, schema: guardedSchemaOf(executionArgs.schema) }),
            stoppedEarly,
          ]);
          if (timedOut) throw timedOut;
          const errors = 'errors' in result ? result.errors : undefined;
          if (errors?.some(isStatementTimeout)) throw statementTimeoutError();
          return result;
        } catch (thrown) {
          if (timedOut && (thrown === timedOut || reason === timedOut)) throw timedOut;
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
