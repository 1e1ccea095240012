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
  TOO_MANY_TOKENS: 'TOO_MANY_TOKENS',
  TOO_MANY_ROOT_FIELDS: 'TOO_MANY_ROOT_FIELDS',
  TOO_MANY_DIRECTIVES: 'TOO_MANY_DIRECTIVES',
  TOO_MANY_OPERATIONS: 'TOO_MANY_OPERATIONS',
  /** The last error of a list cut at MAX_VALIDATION_ERRORS: more were found (HTTP 400). */
  TOO_MANY_VALIDATION_ERRORS: 'TOO_MANY_VALIDATION_ERRORS',
  // The HTTP edge (src/http/), before the body is parsed. REQUEST_ENTITY_TOO_LARGE (413) is
  // raised by Yoga's own body limit (maxRequestBodySize), under the code Yoga gives it.
  REQUEST_ENTITY_TOO_LARGE: 'REQUEST_ENTITY_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  CSRF_HEADER_REQUIRED: 'CSRF_HEADER_REQUIRED',
  THROTTLED: 'THROTTLED',
  RATE_LIMITED: 'RATE_LIMITED',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_ONLY: 'PERSISTED_QUERY_ONLY',
  /** Persisted operations are off on this server (Apollo clients then resend the document). */
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  /** A persisted operation that no longer validates against the schema. */
  PERSISTED_QUERY_INVALID: 'PERSISTED_QUERY_INVALID',
  /** A mutation sent over GET (HTTP 405, `Allow: POST`): GET must be safe, so it never runs. */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
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
 * Yoga's error mask. Errors we raised on purpose (with a stable code) pass through; errors
 * that are the caller's mistake (graphql-js's syntax, validation and variable errors, Pothos
 * argument validation) pass through with BAD_USER_INPUT where they have no code; anything
 * else is an unexpected failure, sent as INTERNAL_SERVER_ERROR with no message, stack, SQL
 * or constraint name. The mask does not know the request, so it records each unexpected
 * failure's cause against the error it sends (`unexpectedCauseOf`), and the pipeline logs it
 * with the request id (plugins/unexpected-errors.ts).
 */
export function maskErrorForClient(error: unknown): Error {
  const masked = maskError(error);
  if (masked.extensions.code === ErrorCode.INTERNAL_SERVER_ERROR) {
    const located = error instanceof GraphQLError ? error : undefined;
    unexpectedCauses.set(masked, rootCause(located?.originalError ?? error));
  }
  return masked;
}

const unexpectedCauses = new WeakMap<GraphQLError, unknown>();

/** What made the server answer INTERNAL_SERVER_ERROR with `error`; undefined for other errors. */
export function unexpectedCauseOf(error: unknown): unknown {
  return error instanceof GraphQLError ? unexpectedCauses.get(error) : undefined;
}

/**
 * The error at the bottom of a `cause` chain: for a failed query that is the database's own
 * error (message and SQLSTATE), not Drizzle's wrapper, whose message repeats the statement
 * and its parameters — personal data that does not belong in logs.
 */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error && current.cause; depth++) {
    current = current.cause;
  }
  return current;
}

/**
 * What a client is shown of `error`, without logging: the error itself, with BAD_USER_INPUT
 * when it is the caller's mistake, or a bare INTERNAL_SERVER_ERROR. Traces record this too.
 */
export function maskError(error: unknown): GraphQLError {
  if (!(error instanceof GraphQLError)) return internalError(undefined);
  // graphql-js copies a thrown GraphQLError's extensions onto the located error it wraps it in.
  if (typeof error.extensions.code === 'string') return error;
  const original = error.originalError;
  const isClientMistake =
    // Raised by graphql-js itself: syntax, validation.
    original === undefined ||
    // Variable coercion wraps the scalar's own GraphQLError; it happens before execution,
    // so the error has no path.
    (original instanceof GraphQLError && error.path === undefined) ||
    original.name === 'PothosValidationError';
  if (!isClientMistake) return internalError(error);
  (error.extensions as Record<string, unknown>).code = ErrorCode.BAD_USER_INPUT;
  return error;
}

function internalError(located: GraphQLError | undefined): GraphQLError {
  return errorAt(located, 'Unexpected error.', { code: ErrorCode.INTERNAL_SERVER_ERROR });
}

/** A new error at the place of `located` (its path and source locations). */
export function errorAt(
  located: GraphQLError | undefined,
  message: string,
  extensions: Record<string, unknown>,
  originalError?: Error,
): GraphQLError {
  return new GraphQLError(message, {
    nodes: located?.nodes,
    source: located?.source,
    positions: located?.positions,
    path: located?.path,
    originalError,
    extensions,
  });
}

/**
 * The second tier: codes of the `userErrors` a mutation payload carries for business and
 * validation failures (schema/common.ts publishes them as the UserErrorCode enum).
 */
export const UserErrorCode = {
  BAD_USER_INPUT: 'An input value is invalid; `field` names it.',
  NOT_FOUND: 'A referenced object does not exist in your tenant.',
  CONFLICT: 'The object changed since you read it (`expectedVersion` is stale).',
  INVALID_STATE: 'The object is in a state that does not allow this change.',
  INSUFFICIENT_STOCK: 'Not enough stock for a requested quantity.',
  CURRENCY_MISMATCH: 'The items of one order must share one currency.',
  INVALID_DOCUMENT:
    'A GraphQL document does not parse, does not validate against the schema, or does not hold exactly one operation.',
  ANONYMOUS_OPERATION:
    'A persisted operation has no name: operations on the allow-list must be named (`query ProductList { … }`).',
  DOCUMENT_TOO_LARGE: 'A GraphQL document is longer than MAX_DOCUMENT_SIZE characters.',
  TOO_MANY_TOKENS: 'A GraphQL document has more than MAX_TOKENS tokens.',
  QUERY_TOO_DEEP: 'An operation nests deeper than MAX_DEPTH.',
  TOO_MANY_ALIASES: 'An operation has more than MAX_ALIASES aliases.',
  TOO_MANY_ROOT_FIELDS: 'An operation has more than MAX_ROOT_FIELDS root fields.',
  TOO_MANY_DIRECTIVES: 'An operation uses more than MAX_DIRECTIVES directives.',
  QUERY_TOO_COMPLEX: 'An operation can cost more than MAX_COST points.',
  FORBIDDEN_SCOPE: 'An API key was asked for a scope its creator does not hold.',
} as const;

export type UserErrorCode = keyof typeof UserErrorCode;

export interface UserErrorShape {
  field: string[] | null;
  code: UserErrorCode;
  message: string;
}

/** What every mutation answers: its payload carries the user errors, empty on success. */
export interface MutationOutcome {
  userErrors: UserErrorShape[];
}

export function userError(code: UserErrorCode, message: string, field?: string[]): UserErrorShape {
  return { code, message, field: field ?? null };
}

/** The CONFLICT user error of a stale `expectedVersion`, naming the current version. */
export function versionConflict(
  kind: 'product' | 'order',
  expected: number | null | undefined,
  current: number,
): UserErrorShape {
  return userError(
    'CONFLICT',
    `The ${kind} changed: expected version ${expected}, current version is ${current}.`,
    ['input', 'expectedVersion'],
  );
}
