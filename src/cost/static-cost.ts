/**
 * The static (requested) cost, and the cost model (DESIGN.md "Cost model"; the IBM GraphQL cost specification's `@cost` and
 * `@listSize`, read from the very schema that prints them into schema.graphql):
 *
 * - an object, interface or union field costs 1, a scalar or enum field 0 (or, when the type
 *   it returns has `@cost`, that weight instead), plus the field's own `@cost(weight:)`
 *   (every mutation: +10);
 * - a list multiplies its selection by its size: the value of a slicing argument (`first`,
 *   `last`; for a list-valued one such as `nodes(ids:)`, its length), else `assumedSize`; a
 *   list without `@listSize` counts as one item;
 * - with `sizedFields` (connections), only those children (`edges`, `nodes`) are multiplied,
 *   not `pageInfo`; nested lists multiply;
 * - an interface or union costs the most expensive of its members, not their sum;
 * - every alias counts (a field selected twice is counted twice).
 *
 * What other modules call (keep these signatures stable; actualCostOf is in actual-cost.ts):
 * - `requestedCostOf(schema, document, options)` → `{ cost, breakdown? }`: the static cost of
 *   one operation with the request's real variables, before execution (useCostAnalysis).
 *   Throws a GraphQLError for an unknown operation or variables that do not coerce, and
 *   `TooManySelectionsError` when fragments expand to more than MAX_EVALUATED_SELECTIONS.
 * - `operationOf(document, operationName)`: the operation requestedCostOf prices, with its
 *   errors (worst-case.ts reads its variable definitions).
 * - `actualCostOf(schema, document, operationName, variables, result, { explain })` →
 *   `{ cost, breakdown? }`: what an execution result really cost, by the same rules: each
 *   non-null object in `data` costs 1 plus the weights of the fields present, and lists count
 *   their real length. Called by the cost budget after execution to refund the difference.
 *   It never throws for a result of this document; `breakdown` only when `explain` is true.
 *
 * Costs are numbers of points, comparable with `config.cost.maxCost` and the budgets.
 */
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  GraphQLError,
  type GraphQLField,
  type GraphQLSchema,
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isCompositeType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { type ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import { mergeLines, type OperationCost } from './cost-breakdown.ts';
import { type FieldCost, fieldCostOf, sizeOf } from './field-costs.ts';
import type { FieldCostLine } from './request-cost.ts';
import { fieldOf, fragmentsOf, isIncluded, joinPath, possibleTypeNames } from './selections.ts';
import { requestedCostCache } from './static-cost-cache.ts';

export interface RequestedCostOptions {
  operationName?: string | null;
  /** The request's variables as sent (they are coerced here, as execution will). */
  variables?: Record<string, unknown> | null;
  /** Also compute the per-field breakdown (`X-Cost-Explain: true`); it costs a second walk. */
  explain?: boolean;
  /**
   * The server's page size when neither `first` nor `last` is given. When it is larger than a
   * connection's `assumedSize`, it is what an unsliced connection really returns, so it is
   * what is charged.
   */
  defaultPageSize?: number;
}

/**
 * Fragments can expand exponentially (a fragment spreading another twice, and so on): past
 * this many selections, evaluation stops. graphql-query-complexity's own default bound.
 */
export const MAX_EVALUATED_SELECTIONS = 10_000;

/** The operation expands to more selections than the cost model evaluates. */
export class TooManySelectionsError extends Error {
  override name = 'TooManySelectionsError';
  constructor() {
    super(
      `The operation expands (through its fragments) to more than ${MAX_EVALUATED_SELECTIONS} selections.`,
    );
  }
}

/** The static cost of one operation, with the request's real variables. */
export function requestedCostOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  options: RequestedCostOptions = {},
): OperationCost {
  const operation = operationOf(document, options.operationName);
  const variables = coerceVariables(schema, operation, options.variables);
  const defaultPageSize = options.defaultPageSize ?? 0;
  // The cost depends only on the document and the few variable values it reads, so a repeated
  // operation (a persisted one: every request) is priced once per distinct values.
  const cache = options.explain ? undefined : requestedCostCache(schema, document, operation);
  const key = cache?.keyOf(variables, defaultPageSize);
  const known = key === undefined ? undefined : cache?.costs.get(key);
  if (known !== undefined) return { cost: known };
  const model = new StaticModel(schema, document, variables, defaultPageSize);
  model.measureSizedFields(operation);
  const cost = getComplexity({
    schema,
    query: document,
    variables: options.variables ?? {},
    operationName: operation.name?.value,
    estimators: [model.estimator],
    maxQueryNodes: MAX_EVALUATED_SELECTIONS,
  });
  if (cache && key !== undefined) cache.remember(key, cost);
  if (!options.explain) return { cost };
  return { cost, breakdown: mergeLines(model.explain(operation)) };
}

/** The operation to run: the named one, or the only one; a GraphQLError otherwise. */
export function operationOf(
  document: DocumentNode,
  operationName: string | null | undefined,
): OperationDefinitionNode {
  const operation = getOperationAST(document, operationName);
  if (operation) return operation;
  throw new GraphQLError(
    operationName
      ? `Unknown operation named "${operationName}".`
      : 'Must provide operation name if query contains multiple operations.',
  );
}

function coerceVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  inputs: Record<string, unknown> | null | undefined,
): Record<string, unknown> {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], inputs ?? {});
  if (coerced.errors) throw coerced.errors[0];
  return coerced.coerced;
}

interface Explained {
  cost: number;
  lines: FieldCostLine[];
}

/**
 * graphql-query-complexity hands an estimator its field and the summed cost of the selection
 * below it, but not the parent field: it cannot tell that `edges` sits under
 * `products(first: 10)`. So the document is walked once beforehand (`measureSizedFields`) to
 * give each sized child its multiplier; a fragment spread under several connections takes the
 * largest of their sizes.
 */
class StaticModel {
  private readonly fragments: Record<string, FragmentDefinitionNode>;
  private readonly multipliers = new Map<FieldNode, number>();
  private evaluated = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    document: DocumentNode,
    private readonly variables: Record<string, unknown>,
    private readonly defaultPageSize: number,
  ) {
    this.fragments = fragmentsOf(document);
  }

  readonly estimator: ComplexityEstimator = ({ field, node, args, childComplexity }) => {
    const cost = fieldCostOf(this.schema, field);
    return this.multiplierOf(node, cost, args) * (cost.ownCost + childComplexity);
  };

  measureSizedFields(operation: OperationDefinitionNode): void {
    const root = this.schema.getRootType(operation.operation);
    if (root) this.measure(operation.selectionSet, root, undefined, new Set());
  }

  private measure(
    selectionSet: SelectionSetNode,
    parentType: GraphQLCompositeType,
    sized: { fields: ReadonlySet<string>; size: number } | undefined,
    activeFragments: Set<string>,
  ): void {
    for (const selection of selectionSet.selections) {
      this.evaluated += 1;
      if (this.evaluated > MAX_EVALUATED_SELECTIONS) throw new TooManySelectionsError();
      if (selection.kind === Kind.FIELD) {
        const field = fieldOf(parentType, selection.name.value);
        if (!field) continue;
        if (sized?.fields.has(selection.name.value)) {
          const known = this.multipliers.get(selection) ?? 0;
          this.multipliers.set(selection, Math.max(known, sized.size));
        }
        const named = getNamedType(field.type);
        if (!selection.selectionSet || !isCompositeType(named)) continue;
        const { listSize } = fieldCostOf(this.schema, field);
        const childSized = listSize?.sizedFields
          ? {
              fields: listSize.sizedFields,
              size: sizeOf(listSize, this.argsOf(field, selection), this.defaultPageSize),
            }
          : undefined;
        this.measure(selection.selectionSet, named, childSized, activeFragments);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = this.typeOf(selection.typeCondition?.name.value) ?? parentType;
        this.measure(selection.selectionSet, type, sized, activeFragments);
      } else {
        const fragment = this.fragments[selection.name.value];
        const type = this.typeOf(fragment?.typeCondition.name.value);
        if (!fragment || !type || activeFragments.has(fragment.name.value)) continue;
        activeFragments.add(fragment.name.value);
        this.measure(fragment.selectionSet, type, sized, activeFragments);
        activeFragments.delete(fragment.name.value);
      }
    }
  }

  /** How many times this field's own cost and selection count. */
  private multiplierOf(node: FieldNode, cost: FieldCost, args: Record<string, unknown>): number {
    const underSizedParent = this.multipliers.get(node) ?? 1;
    const ownListSize =
      cost.isList && cost.listSize && !cost.listSize.sizedFields
        ? sizeOf(cost.listSize, args, this.defaultPageSize)
        : 1;
    return underSizedParent * ownListSize;
  }

  /**
   * The per-field breakdown: the same rules as the estimator, walked with response paths.
   * Each line is a field's own cost times how often it counts, so the lines sum to the cost;
   * for an interface or union only the most expensive member's lines are kept.
   */
  explain(operation: OperationDefinitionNode): FieldCostLine[] {
    const root = this.schema.getRootType(operation.operation);
    return root ? this.explainSelection(operation.selectionSet, root, '', 1, new Set()).lines : [];
  }

  private explainSelection(
    selectionSet: SelectionSetNode,
    parentType: GraphQLCompositeType,
    path: string,
    multiplier: number,
    activeFragments: Set<string>,
  ): Explained {
    // Like graphql-query-complexity: a total per possible concrete type, then the largest.
    const byType = new Map<string, Explained>();
    const add = (type: GraphQLCompositeType, part: Explained) => {
      for (const possible of possibleTypeNames(this.schema, type)) {
        const sum = byType.get(possible) ?? { cost: 0, lines: [] };
        byType.set(possible, { cost: sum.cost + part.cost, lines: [...sum.lines, ...part.lines] });
      }
    };
    for (const selection of selectionSet.selections) {
      if (!isIncluded(selection, this.variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const field = fieldOf(parentType, selection.name.value);
        if (!field) continue;
        const part = this.explainField(
          selection,
          field,
          parentType,
          path,
          multiplier,
          activeFragments,
        );
        add(parentType, part);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = this.typeOf(selection.typeCondition?.name.value) ?? parentType;
        add(
          type,
          this.explainSelection(selection.selectionSet, type, path, multiplier, activeFragments),
        );
      } else {
        const fragment = this.fragments[selection.name.value];
        const type = this.typeOf(fragment?.typeCondition.name.value);
        if (!fragment || !type || activeFragments.has(fragment.name.value)) continue;
        activeFragments.add(fragment.name.value);
        add(
          type,
          this.explainSelection(fragment.selectionSet, type, path, multiplier, activeFragments),
        );
        activeFragments.delete(fragment.name.value);
      }
    }
    let most: Explained = { cost: 0, lines: [] };
    for (const candidate of byType.values()) if (candidate.cost > most.cost) most = candidate;
    return most;
  }

  private explainField(
    node: FieldNode,
    field: GraphQLField<unknown, unknown>,
    parentType: GraphQLCompositeType,
    parentPath: string,
    multiplier: number,
    activeFragments: Set<string>,
  ): Explained {
    const cost = fieldCostOf(this.schema, field);
    const times = multiplier * this.multiplierOf(node, cost, this.argsOf(field, node));
    const path = joinPath(parentPath, (node.alias ?? node.name).value);
    const own = cost.ownCost * times;
    const lines: FieldCostLine[] =
      own > 0 ? [{ path, coordinate: `${parentType.name}.${field.name}`, cost: own }] : [];
    const named = getNamedType(field.type);
    if (!node.selectionSet || !isCompositeType(named)) return { cost: own, lines };
    const below = this.explainSelection(node.selectionSet, named, path, times, activeFragments);
    return { cost: own + below.cost, lines: [...lines, ...below.lines] };
  }

  private argsOf(field: GraphQLField<unknown, unknown>, node: FieldNode) {
    return getArgumentValues(field, node, this.variables);
  }

  private typeOf(name: string | undefined): GraphQLCompositeType | undefined {
    const type = name === undefined ? undefined : this.schema.getType(name);
    return type && isCompositeType(type) ? type : undefined;
  }
}
