/**
 * What it takes for a document to become a persisted operation, checked the same way by
 * `npm run pq -- build`, by `registerPersistedOperation` and by the server when it loads one:
 * it is within the size and token limits, parses, holds exactly one named operation, validates
 * against the schema, stays within the depth, alias, root-field and directive limits, and
 * costs at most MAX_COST even with its worst-case variables (cost/worst-case.ts). Whatever
 * fails is reported with the same codes the server uses for a full-text request, so an
 * operation refused here is exactly one the server would refuse at run time.
 */
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  parse,
  validate,
} from 'graphql';
import type { AnalysisSettings } from '../config.ts';
import { measureDocument, STANDARD_INTROSPECTION_DEPTH } from '../cost/operation-shape.ts';
import { TooManySelectionsError } from '../cost/static-cost.ts';
import { worstCaseCostOf } from '../cost/worst-case.ts';
import { MAX_NODES_IDS } from '../ids.ts';
import { digestsOf } from './digests.ts';

export type OperationType = OperationDefinitionNode['operation'];

/** Why a document cannot be persisted; the limit codes are those of errors.ts. */
export type OperationProblemCode =
  | 'INVALID_DOCUMENT'
  | 'ANONYMOUS_OPERATION'
  | 'DOCUMENT_TOO_LARGE'
  | 'TOO_MANY_TOKENS'
  | 'QUERY_TOO_DEEP'
  | 'TOO_MANY_ALIASES'
  | 'TOO_MANY_ROOT_FIELDS'
  | 'TOO_MANY_DIRECTIVES'
  | 'QUERY_TOO_COMPLEX';

export interface OperationProblem {
  readonly code: OperationProblemCode;
  readonly message: string;
}

/**
 * Why an operation must have a name: logs, metrics and the manifest list operations by name,
 * and an operator reviewing the allow-list needs to know what each entry is for.
 */
export const ANONYMOUS_OPERATION: OperationProblem = {
  code: 'ANONYMOUS_OPERATION',
  message:
    'The operation has no name; name it (logs, metrics and the manifest list operations by name).',
};

/**
 * Whether a document's operations are all named, by parsing it only: what `pq register` checks
 * before sending anything. A document that does not parse is left to the full analysis.
 */
export function hasAnonymousOperation(document: string): boolean {
  try {
    return parse(document, { noLocation: true }).definitions.some(
      (definition) => definition.kind === Kind.OPERATION_DEFINITION && !definition.name,
    );
  } catch {
    return false;
  }
}

/** A document that passed every check, with what the manifest and the table record. */
export interface AnalyzedOperation {
  /** sha256 of the document text, lowercase hex: the id clients send as `sha256:<id>`. */
  readonly id: string;
  readonly md5: string;
  readonly sha1: string;
  /** The text exactly as given: its digests are what clients send. */
  readonly document: string;
  readonly ast: DocumentNode;
  readonly operationName: string;
  readonly operationType: OperationType;
  /** Static cost with worst-case variables (every page at its maximum size). */
  readonly cost: number;
  readonly depth: number;
}

export type AnalysisResult =
  | { readonly ok: true; readonly operation: AnalyzedOperation }
  | { readonly ok: false; readonly problems: readonly OperationProblem[] };

export function analyzeOperation(
  schema: GraphQLSchema,
  document: string,
  config: AnalysisSettings,
): AnalysisResult {
  const { limits } = config;
  const refuse = (code: OperationProblemCode, message: string): AnalysisResult => ({
    ok: false,
    problems: [{ code, message }],
  });

  if (document.length > limits.maxDocumentSize) {
    return refuse(
      'DOCUMENT_TOO_LARGE',
      `The document has ${document.length} characters; the limit is ${limits.maxDocumentSize}.`,
    );
  }
  // GraphQL allows U+0000 in comments and strings; PostgreSQL text cannot hold it.
  if (document.includes('\u0000')) {
    return refuse(
      'INVALID_DOCUMENT',
      'The document contains the character U+0000 (NUL), which cannot be stored; remove it.',
    );
  }
  let ast: DocumentNode;
  try {
    ast = parse(document, { maxTokens: limits.maxTokens });
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    if (/more tha[nt] \d+ tokens/.test(error.message)) {
      return refuse('TOO_MANY_TOKENS', `The document has more than ${limits.maxTokens} tokens.`);
    }
    return refuse('INVALID_DOCUMENT', withLocation(error));
  }

  const operations = ast.definitions.filter(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION,
  );
  const [operation] = operations;
  if (!operation || operations.length > 1) {
    return refuse(
      'INVALID_DOCUMENT',
      `A persisted document holds exactly one operation; this one has ${operations.length}.`,
    );
  }
  if (!operation.name) return { ok: false, problems: [ANONYMOUS_OPERATION] };

  const validationErrors = validate(schema, ast);
  if (validationErrors.length > 0) {
    return {
      ok: false,
      problems: validationErrors.map((error) => ({
        code: 'INVALID_DOCUMENT',
        message: withLocation(error),
      })),
    };
  }

  const problems: OperationProblem[] = [];
  const [shape] = measureDocument(ast);
  if (!shape) throw new Error('measureDocument found no operation in a validated document');
  if (shape.depth > limits.maxDepth) {
    problems.push({
      code: 'QUERY_TOO_DEEP',
      message: `The operation has depth ${shape.depth}; the limit is ${limits.maxDepth}.`,
    });
  }
  if (shape.introspectionDepth > STANDARD_INTROSPECTION_DEPTH) {
    problems.push({
      code: 'QUERY_TOO_DEEP',
      message: `The introspection query has depth ${shape.introspectionDepth}; the limit is ${STANDARD_INTROSPECTION_DEPTH}.`,
    });
  }
  if (shape.aliases > limits.maxAliases) {
    problems.push({
      code: 'TOO_MANY_ALIASES',
      message: `The operation has ${shape.aliases} aliases; the limit is ${limits.maxAliases}.`,
    });
  }
  if (shape.rootFields > limits.maxRootFields) {
    problems.push({
      code: 'TOO_MANY_ROOT_FIELDS',
      message: `The operation has ${shape.rootFields} root fields; the limit is ${limits.maxRootFields}.`,
    });
  }
  if (shape.directives > limits.maxDirectives) {
    problems.push({
      code: 'TOO_MANY_DIRECTIVES',
      message: `The operation has ${shape.directives} directives; the limit is ${limits.maxDirectives}.`,
    });
  }
  let cost: number;
  try {
    cost = worstCaseCostOf(schema, ast, {
      maxPageSize: config.pagination.maxSize,
      defaultPageSize: config.pagination.defaultSize,
      maxListSize: MAX_NODES_IDS,
    });
  } catch (error) {
    if (error instanceof TooManySelectionsError) return refuse('QUERY_TOO_COMPLEX', error.message);
    if (error instanceof GraphQLError) return refuse('INVALID_DOCUMENT', error.message);
    throw error;
  }
  if (cost > config.cost.maxCost) {
    problems.push({
      code: 'QUERY_TOO_COMPLEX',
      message: `The operation costs up to ${cost} points (every page at its largest); the maximum is ${config.cost.maxCost}. Fix the page sizes (first: 20 rather than first: $n) or select less.`,
    });
  }
  if (problems.length > 0) return { ok: false, problems };

  const digests = digestsOf(document);
  return {
    ok: true,
    operation: {
      id: digests.sha256,
      md5: digests.md5,
      sha1: digests.sha1,
      document,
      ast,
      operationName: operation.name.value,
      operationType: operation.operation,
      cost,
      depth: shape.depth,
    },
  };
}

/** A parse or validation message with its line and column, as editors show them. */
function withLocation(error: GraphQLError): string {
  const location = error.locations?.[0];
  return location
    ? `${error.message} (line ${location.line}, column ${location.column})`
    : error.message;
}
