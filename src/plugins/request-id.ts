/**
 * Request ids: a well-formed incoming `X-Request-Id` is kept (so a trace spans the proxy
 * and this server), otherwise one is generated. It is echoed as a response header and put
 * into every error's `extensions.requestId`, so a client's bug report leads to our log line.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export const REQUEST_ID_HEADER = 'X-Request-Id';
const WELL_FORMED = /^[A-Za-z0-9._:-]{8,128}$/;

const ids = new WeakMap<Request, string>();

/** The request's id, assigned on first use and stable for the request's lifetime. */
export function requestIdOf(request: Request): string {
  let id = ids.get(request);
  if (!id) {
    const incoming = request.headers.get(REQUEST_ID_HEADER);
    id = incoming && WELL_FORMED.test(incoming) ? incoming : randomUUID();
    ids.set(request, id);
  }
  return id;
}

/** The id of the request being handled, for log lines written anywhere below it. */
const currentRequest = new AsyncLocalStorage<string>();

export function currentRequestId(): string | undefined {
  return currentRequest.getStore();
}

export function useRequestId(): Plugin {
  return {
    instrumentation: {
      // Everything that runs for this request, resolvers and error masking included, can
      // find its id without it being threaded through every call (see logger.ts's mixin).
      request: ({ request }, wrapped) => currentRequest.run(requestIdOf(request), wrapped),
    },
    onResultProcess({ request, result, setResult }) {
      const requestId = requestIdOf(request);
      const results = Array.isArray(result) ? result : [result];
      const tagged = results.map((one) => {
        if (!one || typeof one !== 'object' || !('errors' in one) || !one.errors) return one;
        return {
          ...one,
          errors: one.errors.map(
            (error) =>
              new GraphQLError(error.message, {
                nodes: error.nodes,
                source: error.source,
                positions: error.positions,
                path: error.path,
                originalError: error.originalError,
                extensions: { ...error.extensions, requestId },
              }),
          ),
        };
      });
      setResult((Array.isArray(result) ? tagged : tagged[0]) as typeof result);
    },
    onResponse({ request, response }) {
      response.headers.set(REQUEST_ID_HEADER, requestIdOf(request));
    },
  };
}
