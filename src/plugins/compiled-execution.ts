/**
 * The executor: operations compiled to JavaScript by graphql-jit, so that executing one runs
 * straight-line code for its selection instead of graphql-js walking the document for every
 * object of every list (docs/performance.md: the largest single saving on a page of orders).
 *
 * A document is compiled the second time it is executed, and the compiled form is kept for as
 * long as the document object lives: persisted operations are parsed once and shared, and Yoga
 * caches the documents it parses from text, so a page clients ask for again and again is
 * compiled once. A document sent once never pays for compiling. The standard executor (Yoga's,
 * graphql-js's algorithm) runs an operation:
 * - the first time its document is executed;
 * - when graphql-jit cannot compile it (its error is logged once; the standard executor's
 *   answer is the one a client gets);
 * - when its variables do not coerce: graphql-jit reports those in words and shapes of its
 *   own (no `extensions`), while the standard executor's BAD_USER_INPUT errors are the
 *   contract. A compiled query answers invalid variables with errors and no `data`, before any
 *   resolver runs, so running the operation again with graphql-js repeats no work.
 *
 * Every resolver, wrapper and plugin runs as before: auth checks, DataLoaders, the execution
 * timeout's checks (this plugin is listed before it, so it compiles the guarded schema it is
 * handed), error masking and cost all see the same calls and results.
 */
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  type Source,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';

/** Per document and operation name: executions so far, then the compiled query or `null`. */
type Compiled = CompiledQuery | null | 'seen once';

export function useCompiledExecution(options: { logger: Logger }): Plugin {
  const bySchema = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, Compiled>>>();

  function compiledFor(args: ExecutionArgs): CompiledQuery | null {
    let byDocument = bySchema.get(args.schema);
    if (!byDocument) {
      byDocument = new WeakMap();
      bySchema.set(args.schema, byDocument);
    }
    let byOperation = byDocument.get(args.document);
    if (!byOperation) {
      byOperation = new Map();
      byDocument.set(args.document, byOperation);
    }
    const key = args.operationName ?? '';
    const known = byOperation.get(key);
    if (known === undefined) {
      byOperation.set(key, 'seen once');
      return null;
    }
    if (known !== 'seen once') return known;
    const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
    if (isCompiledQuery(result)) {
      byOperation.set(key, result);
      return result;
    }
    options.logger.warn(
      { operationName: args.operationName, errors: result.errors?.map((error) => error.message) },
      'graphql-jit cannot compile this operation; it runs on the standard executor',
    );
    byOperation.set(key, null);
    return null;
  }

  return {
    onExecute({ executeFn, setExecuteFn }) {
      // The standard executor (Yoga's graphql-js executor) for what is not compiled.
      const standard = executeFn as (args: ExecutionArgs) => Promise<ExecutionResult>;
      setExecuteFn((async (args: ExecutionArgs): Promise<ExecutionResult> => {
        const compiled = compiledFor(args);
        if (!compiled) return standard(args);
        const result = await compiled.query(args.rootValue, args.contextValue, args.variableValues);
        // Invalid variables: no data, nothing executed. The standard executor words the errors.
        if (!('data' in result) && result.errors?.length) return standard(args);
        if (!result.errors?.length) return result as ExecutionResult;
        const source = args.document.loc?.source;
        return { ...result, errors: result.errors.map((error) => locatedIn(error, source)) };
      }) as typeof executeFn);
    },
  };
}

/**
 * The error with its source positions, from which GraphQLError derives `locations`. graphql-jit
 * gives its errors line and column but not the AST nodes or positions that graphql-js keeps;
 * Yoga, and any step that copies an error, rebuilds it from those, so the locations would be
 * lost on the way to the client.
 */
function locatedIn(error: GraphQLError, source: Source | undefined): GraphQLError {
  if (error.nodes || error.positions || !error.locations?.length || !source) return error;
  // Line breaks as GraphQL counts them (graphql-js's getLocation).
  const lineStarts = [0];
  for (const lineBreak of source.body.matchAll(/\r\n|[\n\r]/g)) {
    lineStarts.push(lineBreak.index + lineBreak[0].length);
  }
  return new GraphQLError(error.message, {
    source,
    positions: error.locations.map(({ line, column }) => (lineStarts[line - 1] ?? 0) + column - 1),
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}
