/**
 * Stable error codes (`extensions.code`) and the helpers that raise them. Codes are public
 * API: add new ones, never change what an existing one means. See DESIGN.md "Errors".
 */
import { GraphQLError } from 'graphql';

export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  INVALID_STATE: 'INVALID_STATE',
  INSUFFICIENT_STOCK: 'INSUFFICIENT_STOCK',
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  DOCUMENT_TOO_LARGE: 'DOCUMENT_TOO_LARGE',
  THROTTLED: 'THROTTLED',
  RATE_LIMITED: 'RATE_LIMITED',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_ONLY: 'PERSISTED_QUERY_ONLY',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  IDEMPOTENCY_IN_PROGRESS: 'IDEMPOTENCY_IN_PROGRESS',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A GraphQL error with a stable code; `http.status` is honoured by Yoga for pre-execution errors. */
export function apiError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export function badUserInput(message: string, field?: readonly string[]): GraphQLError {
  return apiError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});
}

export function notFound(message = 'Not found.'): GraphQLError {
  return apiError(ErrorCode.NOT_FOUND, message);
}

export function unauthenticated(message = 'Authentication is required.'): GraphQLError {
  return apiError(ErrorCode.UNAUTHENTICATED, message, {
    http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="orders-api"' } },
  });
}

/**
 * Yoga's error mask. Errors we raised on purpose (a GraphQLError with a stable code) pass
 * through; a Pothos argument-validation error is the caller's mistake (BAD_USER_INPUT);
 * everything else is an unexpected failure: logged in full here, and sent to the client as
 * INTERNAL_SERVER_ERROR with no message, stack, SQL or constraint name.
 */
export function createErrorMask(log: (error: unknown) => void) {
  return (error: unknown, _message: string): Error => {
    const graphqlError = error instanceof GraphQLError ? error : null;
    const original = graphqlError?.originalError ?? error;
    if (original instanceof GraphQLError && typeof original.extensions.code === 'string') {
      return graphqlError && graphqlError !== original
        ? new GraphQLError(original.message, {
            nodes: graphqlError.nodes,
            path: graphqlError.path,
            extensions: original.extensions,
          })
        : original;
    }
    if (
      graphqlError &&
      !graphqlError.path &&
      (!graphqlError.originalError || graphqlError.originalError instanceof GraphQLError)
    ) {
      // Fix: graphql-js's request errors, raised before execution (no path): a missing or
      // mistyped variable, an unknown operation name. Variable coercion wraps the scalar's own
      // GraphQLError as originalError, so it used to be masked as INTERNAL_SERVER_ERROR; all
      // of them lacked a code. The caller's mistake: kept as is (with the executor's HTTP 400)
      // and given a stable code.
      return new GraphQLError(graphqlError.message, {
        nodes: graphqlError.nodes,
        source: graphqlError.source,
        positions: graphqlError.positions,
        extensions: { ...graphqlError.extensions, code: ErrorCode.BAD_USER_INPUT },
      });
    }
    if (graphqlError && !graphqlError.originalError) {
      // Raised by graphql-js itself before or during execution: syntax, validation,
      // variable coercion. The message is meant for the client.
      return graphqlError;
    }
    if (original instanceof Error && original.name === 'PothosValidationError') {
      return new GraphQLError(original.message, {
        nodes: graphqlError?.nodes,
        path: graphqlError?.path,
        extensions: { code: ErrorCode.BAD_USER_INPUT },
      });
    }
    log(original);
    return new GraphQLError('Unexpected error.', {
      nodes: graphqlError?.nodes,
      path: graphqlError?.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    });
  };
}
