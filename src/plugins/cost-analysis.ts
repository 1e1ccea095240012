/**
 * Static cost analysis (pipeline step 4): before execution, the operation's cost is computed
 * with the request's real variables (cost/static-cost.ts) and an operation dearer than the
 * maximum is refused with QUERY_TOO_COMPLEX (HTTP 400), nothing executed. The requested cost
 * is left in the request's cost state for the cost budget to charge.
 *
 * Why in `onExecute` and not a validation rule: Yoga caches validation per document, so a
 * rule would run once for `products(first: $n)` with a small `n` and then wave the same
 * document through with any `n`. `onExecute` runs for every operation of every request.
 */

import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import { setRequestCost } from '../cost/request-cost.ts';
import { requestedCostOf, TooManySelectionsError } from '../cost/static-cost.ts';
import { apiError, ErrorCode } from '../errors.ts';
import { addCostTime } from './server-timing.ts';

export interface CostAnalysisOptions {
  /** Most points one operation may cost (`config.cost.maxCost`, MAX_COST; default 1,000). */
  maxCost: number;
  /**
   * The server's page size when neither `first` nor `last` is given
   * (`config.pagination.defaultSize`): charged for an unsliced connection when it is larger
   * than the schema's `assumedSize`.
   */
  defaultPageSize: number;
}

/** With `X-Cost-Explain: true`, the cost in `extensions.cost` comes with a per-field breakdown. */
export const COST_EXPLAIN_HEADER = 'X-Cost-Explain';

/** The answer of wantsCostExplain per request: asked three times, the headers read once. */
const explainWanted = new WeakMap<Request, boolean>();

/** Whether the caller asked for the per-field breakdown (it costs a second walk, so opt-in). */
export function wantsCostExplain(request: Request): boolean {
  let wants = explainWanted.get(request);
  if (wants === undefined) {
    wants = request.headers.get(COST_EXPLAIN_HEADER)?.trim().toLowerCase() === 'true';
    explainWanted.set(request, wants);
  }
  return wants;
}

export function useCostAnalysis(options: CostAnalysisOptions): Plugin<RequestContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue as RequestContext;
      const explain = wantsCostExplain(context.request);
      let requested: ReturnType<typeof requestedCostOf>;
      const start = performance.now();
      try {
        requested = requestedCostOf(args.schema, args.document, {
          operationName: args.operationName,
          variables: args.variableValues,
          explain,
          defaultPageSize: options.defaultPageSize,
        });
      } catch (error) {
        if (error instanceof TooManySelectionsError) {
          setResultAndStopExecution({ errors: [tooComplex(error.message, null, options.maxCost)] });
          return;
        }
        if (!(error instanceof GraphQLError)) throw error;
        // Variables that do not coerce, or no such operation: execution itself reports that
        // (same message, BAD_USER_INPUT) before any resolver runs, so nothing is spent.
        setRequestCost(context, { requestedQueryCost: 0 });
        return;
      } finally {
        addCostTime(context.request, performance.now() - start);
      }
      setRequestCost(context, {
        requestedQueryCost: requested.cost,
        ...(requested.breakdown ? { requestedBreakdown: requested.breakdown } : {}),
      });
      if (requested.cost > options.maxCost) {
        const message = `The operation costs ${requested.cost} points; the maximum is ${options.maxCost}. Ask for fewer items (first/last) or fewer fields.`;
        setResultAndStopExecution({
          errors: [tooComplex(message, requested.cost, options.maxCost)],
        });
      }
    },
  };
}

function tooComplex(message: string, cost: number | null, limit: number) {
  return apiError(ErrorCode.QUERY_TOO_COMPLEX, message, { cost, limit, http: { status: 400 } });
}
