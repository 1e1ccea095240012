/**
 * Request ids: a well-formed incoming `X-Request-Id` is kept (so a trace spans the proxy
 * and this server), otherwise one is generated. It is echoed as a response header and put
 * into every error's `extensions.requestId`, so a client's bug report leads to our log line.
 */
import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { errorAt } from '../errors.ts';

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

export function useRequestId(): Plugin {
  return {
    onResultProcess({ request, result, setResult }) {
      const requestId = requestIdOf(request);
      const results = Array.isArray(result) ? result : [result];
      const tagged = results.map((one) => {
        if (!one || typeof one !== 'object' || !('errors' in one) || !one.errors) return one;
        return {
          ...one,
          errors: one.errors.map((error) =>
            errorAt(error, error.message, { ...error.extensions, requestId }, error.originalError),
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
