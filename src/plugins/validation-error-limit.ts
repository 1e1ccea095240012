/**
 * Bounded error lists: a small document must not make the server produce (and send) a long
 * list of errors, as fifty unknown directives or a hundred misspelt fields would. At most
 * `maxErrors` validation errors are listed, then one final TOO_MANY_VALIDATION_ERRORS saying
 * more were found. The same holds for variable values that fail to coerce, which graphql-js
 * reports one error per bad value before any resolver runs.
 *
 * Rules: graphql-js's own `maxErrors` stops validation at the first error past the limit, so
 * the rest of the document is never walked; an error list from anywhere else (the operation
 * limits, which replace validation) is cut to the same length. Cutting keeps the first errors,
 * in document order, so the list a client sees is stable for a document. Parse errors need no
 * bound: parsing stops at the first one.
 */
import type { ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import { apiError, ErrorCode } from '../errors.ts';

type AfterValidateHook = Extract<
  ReturnType<NonNullable<Plugin<RequestContext>['onValidate']>>,
  (...args: never[]) => unknown
>;
type OnExecuteHooks = Extract<
  ReturnType<NonNullable<Plugin<RequestContext>['onExecute']>>,
  { onExecuteDone?: unknown }
>;

export interface ValidationErrorLimitOptions {
  /** Errors listed before the final one (`config.limits.maxValidationErrors`; default 5). */
  maxErrors: number;
}

/** graphql-js's own last error when `maxErrors` is reached (graphql 16 `validate`). */
const GRAPHQL_JS_ABORT = 'Too many validation errors, error limit reached. Validation aborted.';
/** graphql-js's own last error of variable coercion past its limit of 50. */
const GRAPHQL_JS_VARIABLES_ABORT =
  'Too many errors processing variables, error limit reached. Execution aborted.';

export function useValidationErrorLimit(
  options: ValidationErrorLimitOptions,
): Plugin<RequestContext> {
  const { maxErrors } = options;
  // Built once: every request passes through these hooks, most with nothing to cut.
  const afterValidate: AfterValidateHook = ({ result, setResult }) => {
    if (needsCut(result, maxErrors)) setResult(bounded(result, maxErrors));
  };
  const executeHooks: OnExecuteHooks = {
    onExecuteDone({ result, setResult }) {
      // Only a result that never started: variable coercion failed, so there is no data.
      if (!isSingleResult(result) || result.data !== undefined) return;
      const errors = result.errors;
      if (errors && needsCut(errors, maxErrors)) {
        setResult({ ...result, errors: bounded(errors, maxErrors) });
      }
    },
  };
  return {
    onValidate({ validateFn, setValidationFn }) {
      setValidationFn((schema, documentAST, rules, validationOptions, typeInfo) =>
        validateFn(schema, documentAST, rules, { ...validationOptions, maxErrors }, typeInfo),
      );
      return afterValidate;
    },
    onExecute() {
      return executeHooks;
    },
  };
}

/** The final error: how many were listed, and that there were more. */
export function tooManyValidationErrors(maxErrors: number): GraphQLError {
  return apiError(
    ErrorCode.TOO_MANY_VALIDATION_ERRORS,
    `More than ${maxErrors} errors were found in this request; only the first ${maxErrors} are listed. Fix them and send it again.`,
    { limit: maxErrors, http: { status: 400 } },
  );
}

function needsCut(errors: readonly Error[], maxErrors: number): boolean {
  if (errors.length > maxErrors) return true;
  const last = errors.at(-1)?.message;
  return last === GRAPHQL_JS_ABORT || last === GRAPHQL_JS_VARIABLES_ABORT;
}

function bounded<E extends Error>(errors: readonly E[], maxErrors: number): (E | GraphQLError)[] {
  const real = errors.filter(
    (error) => error.message !== GRAPHQL_JS_ABORT && error.message !== GRAPHQL_JS_VARIABLES_ABORT,
  );
  return [...real.slice(0, maxErrors), tooManyValidationErrors(maxErrors)];
}

function isSingleResult(result: unknown): result is ExecutionResult {
  return typeof result === 'object' && result !== null && !(Symbol.asyncIterator in result);
}
