/**
 * OpenTelemetry spans of a GraphQL request. Each HTTP request to the GraphQL endpoint is one
 * SERVER span (`POST /graphql`, with the request id); under it `graphql.parse`,
 * `graphql.validate` and `graphql.execute`, each as long as that phase with its hooks; and one
 * CLIENT span per SQL statement, under the span that was running when it was sent (execute,
 * or the request itself for statements sent before execution).
 *
 * This module imports OpenTelemetry, so nothing imports its code statically (its types only:
 * `import type` is erased): observability/tracing.ts loads it only when tracing is configured.
 *
 * Parents travel in an AsyncLocalStorage of this module rather than OpenTelemetry's global
 * context manager: the spans nest the same with any tracer provider, a test's included, and
 * nothing process-wide has to be registered first. An incoming W3C `traceparent` header (from
 * a proxy or a client that traces) makes the request span a child of the caller's span.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions';
import { GraphQLError, getOperationAST } from 'graphql';
import type { Plugin, YogaServer } from 'graphql-yoga';
import type { StatementObserver } from '../db/statement-observer.ts';
import { maskError } from '../errors.ts';
import { requestIdOf } from '../http/request-id.ts';

/** The request id (`X-Request-Id`), on the request span: a client's bug report finds its trace. */
export const ATTR_REQUEST_ID = 'request.id';

// Not yet stable in the semantic conventions, whose authors ask that such names be copied
// rather than imported from their incubating entry point. `db.system` and `db.statement` are
// the names before `db.system.name` and `db.query.text`: many backends still index only those.
const ATTR_GRAPHQL_OPERATION_NAME = 'graphql.operation.name';
const ATTR_GRAPHQL_OPERATION_TYPE = 'graphql.operation.type';
const ATTR_DB_SYSTEM = 'db.system';
const ATTR_DB_STATEMENT = 'db.statement';

/** The code Yoga gives validation errors in the response. */
const VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED';

/** The context (and so the parent span) of whatever runs now, within a traced request. */
const active = new AsyncLocalStorage<Context>();

const propagator = new W3CTraceContextPropagator();
const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** Tracing as started: the plugin, the SQL statement observer and the shutdown. */
export interface Tracing {
  /** Makes the request, parse, validate and execute spans; first in the pipeline. */
  readonly plugin: Plugin;
  /** Makes a span of each SQL statement a traced request sends (`Database.observe`). */
  readonly observeStatement: StatementObserver;
  /** Sends the spans still buffered and stops; the last thing before the process exits. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  tracer: Tracer;
}

export function useTracing({ tracer }: TracingOptions): Plugin {
  let yoga: YogaServer<Record<string, unknown>, Record<string, unknown>> | undefined;
  return {
    onYogaInit(payload) {
      yoga = payload.yoga;
    },
    instrumentation: {
      request({ request }, wrapped) {
        // Health checks and other endpoints would flood the traces without saying anything.
        const route = yoga?.graphqlEndpoint;
        if (!route || new URL(request.url).pathname !== route) return wrapped();
        const parent = propagator.extract(ROOT_CONTEXT, request.headers, headerGetter);
        const span = tracer.startSpan(
          `${request.method} ${route}`,
          {
            kind: SpanKind.SERVER,
            attributes: {
              [ATTR_HTTP_REQUEST_METHOD]: request.method,
              [ATTR_HTTP_ROUTE]: route,
              [ATTR_URL_PATH]: route,
              [ATTR_REQUEST_ID]: requestIdOf(request),
            },
          },
          parent,
        );
        return endAfter(
          span,
          () => active.run(trace.setSpan(parent, span), wrapped),
          recordShownError,
        );
      },
      parse: (_payload, wrapped) => inChildSpan(tracer, 'graphql.parse', wrapped),
      validate: (_payload, wrapped) => inChildSpan(tracer, 'graphql.validate', wrapped),
      execute: (_payload, wrapped) => inChildSpan(tracer, 'graphql.execute', wrapped),
    },
    // Validation and execution report their errors in their results, not by throwing: these
    // hooks run inside their phase's span, so the current span is that phase's.
    onValidate() {
      return ({ result }) => {
        // Yoga adds this code to the response's validation errors after this hook.
        const shown = result.map((error) =>
          error instanceof GraphQLError && typeof error.extensions.code === 'string'
            ? error
            : new GraphQLError(error.message, { extensions: { code: VALIDATION_FAILED } }),
        );
        if (shown.length > 0) recordErrors(currentSpan(), shown);
      };
    },
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      const span = currentSpan();
      if (operation) {
        span?.setAttribute(ATTR_GRAPHQL_OPERATION_TYPE, operation.operation);
        if (operation.name) span?.setAttribute(ATTR_GRAPHQL_OPERATION_NAME, operation.name.value);
      }
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in result || !result.errors?.length) return;
          recordErrors(span, result.errors.map(maskError));
        },
      };
    },
    onResponse({ response }) {
      const span = currentSpan();
      span?.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
      // The HTTP conventions: a server span fails on 5xx; a 4xx is the caller's mistake.
      if (response.status >= 500) span?.setStatus({ code: SpanStatusCode.ERROR });
    },
  };
}

/**
 * The observer `Database.observe` takes: one CLIENT span per statement, under the span that
 * sent it. Statements outside a traced request (startup, background jobs) are left alone.
 */
export function traceStatements(tracer: Tracer): StatementObserver {
  return (text, run) => {
    const parent = active.getStore();
    if (!parent) return run();
    const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'SQL';
    const span = tracer.startSpan(
      operation,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
          [ATTR_DB_SYSTEM]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
          [ATTR_DB_OPERATION_NAME]: operation,
          [ATTR_DB_QUERY_TEXT]: text,
          [ATTR_DB_STATEMENT]: text,
        },
      },
      parent,
    );
    return endAfter(span, run, recordDatabaseError);
  };
}

function currentSpan(): Span | undefined {
  const context = active.getStore();
  return context && trace.getSpan(context);
}

/** Runs `run` in a span under the current one; outside a traced request, just runs it. */
function inChildSpan<T>(tracer: Tracer, name: string, run: () => T): T {
  const parent = active.getStore();
  if (!parent) return run();
  const span = tracer.startSpan(name, {}, parent);
  return endAfter(span, () => active.run(trace.setSpan(parent, span), run), recordShownError);
}

/**
 * Ends `span` when `run` returns or settles; an exception on the way is recorded on the span
 * by `record`, and rethrown.
 */
function endAfter<T>(span: Span, run: () => T, record: (span: Span, error: unknown) => void): T {
  let result: T;
  try {
    result = run();
  } catch (error) {
    record(span, error);
    span.end();
    throw error;
  }
  if (!isPromiseLike(result)) {
    span.end();
    return result;
  }
  return Promise.resolve(result).then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      record(span, error);
      span.end();
      throw error;
    },
  ) as T;
}

/** A failed statement: the driver's own error, whose message has no parameter values. */
function recordDatabaseError(span: Span, error: unknown) {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}

/** A GraphQL phase that threw (a syntax error, say): recorded as the client is shown it. */
function recordShownError(span: Span, error: unknown) {
  recordErrors(span, [maskError(error)]);
}

/**
 * Each error as an exception event named by its code, and the span failed with those codes.
 * What is recorded is what the client is shown (errors.ts's mask): an unexpected failure's own
 * message (a failed query's repeats its parameters) stays out of traces as out of responses;
 * the failing statement's span has the database's error.
 */
function recordErrors(span: Span | undefined, errors: readonly GraphQLError[]) {
  if (!span) return;
  const codes = errors.map((error) => String(error.extensions.code));
  errors.forEach((error, i) => {
    span.recordException({ name: codes[i], message: error.message });
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message: [...new Set(codes)].join(', ') });
}

/** Yoga's phases return plain values or promises, not always native ones. */
function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
