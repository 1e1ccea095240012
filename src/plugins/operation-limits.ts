/**
 * Operation limits, all checked before any resolver runs, cheapest first: the batch size
 * (once the body is parsed), the document's size (before parsing), its tokens (graphql-js's
 * own parser limit, so parsing stops at the limit), then depth, introspection depth, aliases,
 * root fields and directives in one walk (cost/operation-shape.ts) before graphql-js's validation
 * rules run. The walk depends only on the document, so its verdict is kept per document and
 * a repeated document is never walked twice. Every rejection is HTTP 400 with its own code
 * and `{ limit, <what was found> }` in `extensions`.
 */
import { type DocumentNode, GraphQLError, Lexer, Source, TokenKind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import type { RequestContext } from '../context.ts';
import { measureDocument, STANDARD_INTROSPECTION_DEPTH } from '../cost/operation-shape.ts';
import { apiError, ErrorCode } from '../errors.ts';

export interface OperationLimitsOptions {
  /** `config.limits`: every number is inclusive (a document at the limit passes). */
  limits: Config['limits'];
  /**
   * Deepest introspection (`__schema` / `__type` subtrees). Default: exactly what the full
   * standard introspection query needs (graphql-js's, which GraphiQL sends), so tools work
   * and anything nested further, like `ofType` chains, is refused.
   */
  maxIntrospectionDepth?: number;
}

const BAD_REQUEST = { http: { status: 400 } };

/** graphql-js's message when `maxTokens` stops the parser (16.x spells it "more that"). */
const TOKEN_LIMIT_MESSAGE = /^Syntax Error: Document contains more tha[nt] \d+ tokens/;

/** graphql-js's suggestion suffix: it names fields, arguments, types and enum values. */
const SUGGESTION = / ?Did you mean .*\?$/;

function limitError(code: ErrorCode, message: string, extensions: Record<string, unknown>) {
  return apiError(code, message, { ...extensions, ...BAD_REQUEST });
}

/** Tokens in a document, counted as graphql-js's parser does (comments excluded). */
function countTokens(source: string): number {
  const lexer = new Lexer(new Source(source));
  let tokens = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) tokens++;
  } catch {
    // A lexical error after the limit: what was counted is already over it.
  }
  return tokens;
}

function withoutSuggestion(error: Error): Error {
  if (!(error instanceof GraphQLError) || !SUGGESTION.test(error.message)) return error;
  return new GraphQLError(error.message.replace(SUGGESTION, ''), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

export function useOperationLimits(options: OperationLimitsOptions): Plugin<RequestContext> {
  const { limits } = options;
  const maxIntrospectionDepth = options.maxIntrospectionDepth ?? STANDARD_INTROSPECTION_DEPTH;

  // Verdicts by document: Yoga's parse cache hands back the same DocumentNode for the same
  // text, so a repeated document is walked once; the verdict depends on nothing else.
  const verdicts = new WeakMap<DocumentNode, readonly GraphQLError[]>();

  function check(document: DocumentNode): readonly GraphQLError[] {
    let errors = verdicts.get(document);
    if (!errors) {
      errors = limitErrors(document);
      verdicts.set(document, errors);
    }
    return errors;
  }

  function limitErrors(document: DocumentNode): GraphQLError[] {
    const errors: GraphQLError[] = [];
    for (const shape of measureDocument(document)) {
      const nodes = [shape.operation];
      const report = (code: ErrorCode, message: string, extensions: Record<string, unknown>) =>
        errors.push(
          new GraphQLError(message, { nodes, extensions: { code, ...extensions, ...BAD_REQUEST } }),
        );
      if (shape.depth > limits.maxDepth) {
        report(
          ErrorCode.QUERY_TOO_DEEP,
          `The operation has depth ${shape.depth}; the limit is ${limits.maxDepth}.`,
          { limit: limits.maxDepth, depth: shape.depth },
        );
      }
      if (shape.introspectionDepth > maxIntrospectionDepth) {
        report(
          ErrorCode.QUERY_TOO_DEEP,
          `The introspection query has depth ${shape.introspectionDepth}; the limit is ${maxIntrospectionDepth}.`,
          { limit: maxIntrospectionDepth, depth: shape.introspectionDepth },
        );
      }
      if (shape.aliases > limits.maxAliases) {
        report(
          ErrorCode.TOO_MANY_ALIASES,
          `The operation has ${shape.aliases} aliases; the limit is ${limits.maxAliases}.`,
          { limit: limits.maxAliases, aliases: shape.aliases },
        );
      }
      if (shape.rootFields > limits.maxRootFields) {
        report(
          ErrorCode.TOO_MANY_ROOT_FIELDS,
          `The operation has ${shape.rootFields} root fields; the limit is ${limits.maxRootFields}.`,
          { limit: limits.maxRootFields, rootFields: shape.rootFields },
        );
      }
      if (shape.directives > limits.maxDirectives) {
        report(
          ErrorCode.TOO_MANY_DIRECTIVES,
          `The operation has ${shape.directives} directives; the limit is ${limits.maxDirectives}.`,
          { limit: limits.maxDirectives, directives: shape.directives },
        );
      }
    }
    return errors;
  }

  return {
    onRequestParse() {
      return {
        onRequestParseDone({ requestParserResult }) {
          if (!Array.isArray(requestParserResult)) return;
          // Yoga would answer these itself, but with code BAD_REQUEST and, over the limit,
          // 413 (a status about bytes, not operations); clients get our codes and 400.
          if (!limits.batching) {
            throw apiError(
              ErrorCode.BAD_USER_INPUT,
              'Batching is off: send one operation as a JSON object, not an array.',
              BAD_REQUEST,
            );
          }
          const { maxOperations } = limits.batching;
          if (requestParserResult.length > maxOperations) {
            throw limitError(
              ErrorCode.TOO_MANY_OPERATIONS,
              `The request has ${requestParserResult.length} operations; the limit is ${maxOperations}.`,
              { limit: maxOperations, operations: requestParserResult.length },
            );
          }
        },
      };
    },
    onParams({ params }) {
      // Before parsing and before any cache lookup, which would hash the whole string.
      const { query } = params;
      if (typeof query === 'string' && query.length > limits.maxDocumentSize) {
        throw limitError(
          ErrorCode.DOCUMENT_TOO_LARGE,
          `The document has ${query.length} characters; the limit is ${limits.maxDocumentSize}.`,
          { limit: limits.maxDocumentSize, size: query.length },
        );
      }
    },
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, parseOptions) =>
        parseFn(source, { ...parseOptions, maxTokens: limits.maxTokens }),
      );
      return ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError && TOKEN_LIMIT_MESSAGE.test(result.message)) {
          // Counting the rest costs one lexer pass over a document already under the size
          // limit, and only on this rejection; Yoga then caches the error for the document.
          const source = result.source?.body ?? '';
          const tokens = countTokens(source);
          replaceParseResult(
            limitError(
              ErrorCode.TOO_MANY_TOKENS,
              `The document has ${tokens} tokens; the limit is ${limits.maxTokens}.`,
              { limit: limits.maxTokens, tokens },
            ),
          );
        }
      };
    },
    onValidate({ params, setResult }) {
      // Before graphql-js's own rules, and instead of them when a limit is exceeded: those
      // rules are not linear (comparing 5,000 aliased fields for merging is 12.5 million
      // pairs), so an oversized operation must be refused without running them. Yoga's
      // validation cache then keeps this answer for the document like any other.
      const errors = check(params.documentAST);
      if (errors.length > 0) {
        setResult([...errors]);
        return;
      }
      if (!limits.hideSuggestions) return;
      return ({ result, setResult }) => {
        if (result.some((error) => SUGGESTION.test(error.message))) {
          setResult(result.map(withoutSuggestion));
        }
      };
    },
    onExecute() {
      if (!limits.hideSuggestions) return;
      // Variable coercion ("Value "X" does not exist in "OrderStatus" enum. Did you mean
      // …") happens in execute, and Yoga's executor does not pass graphql-js's own
      // hideSuggestions flag down to it.
      return {
        onExecuteDone({ result, setResult }) {
          if (!('errors' in result) || !result.errors?.some((e) => SUGGESTION.test(e.message))) {
            return;
          }
          setResult({ ...result, errors: result.errors.map(withoutSuggestion) as GraphQLError[] });
        },
      };
    },
  };
}
