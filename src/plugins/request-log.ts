/**
 * One JSON line per HTTP request, written when its response is ready:
 *
 * `{ time, requestId, method, path, tenant, userId, operationName, operationType, persistedId,
 *   requestedCost, actualCost, status, durationMs, errorCodes, msg: "request" }`
 *
 * What is never logged: variables (not even their names: a note or an email is free text, and
 * a name alone rarely helps), the query string (GET requests carry variables there), the
 * document, headers. The operation's name comes from the parsed document, where the grammar
 * makes it a GraphQL Name (letters, digits, `_`), never from the request's `operationName`.
 * `errorCodes` are the distinct `extensions.code` values of the response's errors, in order.
 * A batch (several operations in one request) logs the names as a list and the costs summed.
 *
 * Probes and scrapes (`/healthz`, `/readyz`, `/metrics`) are logged at debug: at info they
 * would drown the traffic. A 5xx is logged at warn, so LOG_LEVEL=warn still shows outages.
 */
import {
  type DocumentNode,
  type ExecutionResult,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Viewer } from '../auth/viewer.ts';
import type { RequestContext } from '../context.ts';
import { getRequestCost } from '../cost/request-cost.ts';
import { requestIdOf } from '../http/request-id.ts';

export interface RequestLogOptions {
  logger: Logger;
  /** The id of the persisted operation a request ran (documentId, APQ hash), if it ran one. */
  persistedIdOf?: (request: Request) => string | undefined;
  /** Paths logged at debug rather than info. Default `/healthz`, `/readyz`, `/metrics`. */
  quietPaths?: readonly string[];
}

const QUIET_PATHS = ['/healthz', '/readyz', '/metrics'];

export function useRequestLog(options: RequestLogOptions): Plugin<RequestContext> {
  const { logger } = options;
  const quiet = new Set(options.quietPaths ?? QUIET_PATHS);
  const started = new WeakMap<Request, number>();
  // The contexts of the request's operations (one, or one per operation of a batch).
  const contexts = new WeakMap<Request, object[]>();
  const operations = new WeakMap<object, OperationDefinitionNode | null>();
  const errorCodes = new WeakMap<Request, string[]>();

  return {
    onRequest({ request }) {
      started.set(request, performance.now());
    },

    onParams({ request, context }) {
      contexts.set(request, [...(contexts.get(request) ?? []), context]);
    },

    onParse({ context }) {
      return ({ result }) => {
        if (!isDocument(result)) return;
        const params = (context as Partial<RequestContext>).params;
        operations.set(
          context,
          getOperationAST(result, params?.operationName ?? undefined) ?? null,
        );
      };
    },

    onResultProcess({ request, result }) {
      if (Symbol.asyncIterator in result) return;
      const codes = (Array.isArray(result) ? result : [result]).flatMap((one: ExecutionResult) =>
        (one.errors ?? []).map((error) => String(error.extensions?.code ?? '(none)')),
      );
      errorCodes.set(request, [...new Set(codes)]);
    },

    onResponse({ request, response }) {
      const start = started.get(request);
      const path = new URL(request.url).pathname;
      const ops = (contexts.get(request) ?? []).map((context) => {
        const operation = operations.get(context);
        const cost = getRequestCost(context);
        return {
          name: operation?.name?.value ?? null,
          type: operation?.operation ?? null,
          requested: cost?.requestedQueryCost,
          actual: cost?.actualQueryCost,
          viewer: (context as Partial<RequestContext>).viewer as Viewer | null | undefined,
        };
      });
      const viewer = ops.find((op) => op.viewer)?.viewer;
      const single = ops.length === 1 ? ops[0] : undefined;
      const line = {
        requestId: requestIdOf(request),
        method: request.method,
        path,
        tenant: viewer?.tenantId ?? null,
        userId: viewer?.userId ?? null,
        operationName: single ? single.name : ops.length > 1 ? ops.map((op) => op.name) : null,
        operationType: single ? single.type : ops.length > 1 ? ops.map((op) => op.type) : null,
        persistedId: options.persistedIdOf?.(request) ?? null,
        requestedCost: sum(ops.map((op) => op.requested)),
        actualCost: sum(ops.map((op) => op.actual)),
        status: response.status,
        durationMs: start === undefined ? null : Math.round((performance.now() - start) * 10) / 10,
        errorCodes: errorCodes.get(request) ?? [],
      };
      const level = quiet.has(path) ? 'debug' : response.status >= 500 ? 'warn' : 'info';
      logger[level](line, 'request');
    },
  };
}

function isDocument(result: unknown): result is DocumentNode {
  return (
    typeof result === 'object' && result !== null && (result as DocumentNode).kind === Kind.DOCUMENT
  );
}

/** The sum of the known values; null when none is known (nothing was costed). */
function sum(values: (number | undefined)[]): number | null {
  const known = values.filter((value) => value !== undefined);
  return known.length === 0 ? null : known.reduce((total, value) => total + value, 0);
}
