/**
 * Logs each unexpected failure once, under its request's id: the error mask (errors.ts) sends
 * the client a bare INTERNAL_SERVER_ERROR and records the cause; this logs that cause with the
 * request id the client sees in `extensions.requestId`, so a bug report leads to the log line.
 * It must come before useRequestId in the pipeline, which replaces the errors it tags.
 */
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { unexpectedCauseOf } from '../errors.ts';
import { requestIdOf } from '../http/request-id.ts';

export function useUnexpectedErrorLog(options: { logger: Logger }): Plugin {
  return {
    onResultProcess({ request, result }) {
      for (const one of Array.isArray(result) ? result : [result]) {
        const errors = one && typeof one === 'object' && 'errors' in one ? one.errors : undefined;
        for (const error of (errors ?? []) as GraphQLError[]) {
          const cause = unexpectedCauseOf(error);
          if (cause === undefined) continue;
          options.logger.error(
            { err: cause, path: error.path, requestId: requestIdOf(request) },
            'unexpected error',
          );
        }
      }
    },
  };
}
