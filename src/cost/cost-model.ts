/**
 * The cost model (DESIGN.md "Cost model"; the IBM GraphQL cost specification's `@cost` and
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
 * What other modules call (keep these signatures stable):
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
import { getDirective } from '@graphql-tools/utils';
import {
  BREAK,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  GraphQLError,
  type GraphQLField,
  GraphQLIncludeDirective,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
  visit,
} from 'graphql';
import { collectFields } from 'graphql/execution/collectFields.js';
import { type ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import type { FieldCostLine } from './request-cost.ts';

export interface OperationCost {
  cost: number;
  /** Each field's share of `cost` (lines sum to it); only when asked for. */
  breakdown?: FieldCostLine[];
}

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

/** What an execution result really cost (see the module comment). */
export function actualCostOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  result: ExecutionResult,
  options: { explain?: boolean } = {},
): OperationCost {
  const operation = getOperationAST(document, operationName);
  const rootType = operation && schema.getRootType(operation.operation);
  if (!operation || !rootType || !result.data) return costFrom([], options.explain);
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return costFrom([], options.explain);
  const counter = new ActualCounter(schema, fragmentsOf(document), coerced.coerced, {
    explain: options.explain ?? false,
  });
  counter.countObject(result.data, rootType, rootSelectionOf(schema, document, operation), '');
  return options.explain
    ? { cost: counter.total, breakdown: mergeLines(counter.lines) }
    : { cost: counter.total };
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

/** Distinct variable values priced per operation before the oldest prices are dropped. */
const MAX_PRICES_PER_OPERATION = 100;

interface RequestedCostCache {
  /** Price by key (keyOf). */
  readonly costs: Map<string, number>;
  /**
   * What the price of these (coerced) variables is filed under, or undefined when they cannot
   * be keyed (a value JSON cannot spell): those are priced every time.
   */
  keyOf(variables: Record<string, unknown>, defaultPageSize: number): string | undefined;
  remember(key: string, cost: number): void;
}

const requestedCostCaches = new WeakMap<
  GraphQLSchema,
  WeakMap<OperationDefinitionNode, RequestedCostCache>
>();

/**
 * The prices of one operation. Variables reach the static cost in two ways only: as list sizes
 * (the value of a slicing argument: `first`, `last`, `ids`) and through @skip/@include; so the
 * key holds those variables' values (any variable inside any slicing argument or directive of
 * the document, whatever the field). Every other variable (a cursor, a filter) changes nothing
 * but whether pricing fails on a null where a non-null is required, so the key holds only
 * whether it is missing, null or given. Prices that fail are never kept.
 */
function requestedCostCache(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): RequestedCostCache {
  let bySchema = requestedCostCaches.get(schema);
  if (!bySchema) {
    bySchema = new WeakMap();
    requestedCostCaches.set(schema, bySchema);
  }
  const known = bySchema.get(operation);
  if (known) return known;
  const priced = pricedVariablesOf(schema, document);
  const names = (operation.variableDefinitions ?? []).map((definition) => ({
    name: definition.variable.name.value,
    priced: priced.has(definition.variable.name.value),
  }));
  const costs = new Map<string, number>();
  const cache: RequestedCostCache = {
    costs,
    keyOf(variables, defaultPageSize) {
      let key = String(defaultPageSize);
      for (const { name, priced } of names) {
        if (!Object.hasOwn(variables, name)) key += '|m';
        else if (variables[name] === null) key += '|n';
        else if (!priced) key += '|g';
        else {
          let json: string | undefined;
          try {
            json = JSON.stringify(variables[name]);
          } catch {
            return undefined;
          }
          if (json === undefined) return undefined;
          key += `|=${json}`;
        }
      }
      return key;
    },
    remember(key, cost) {
      if (costs.size >= MAX_PRICES_PER_OPERATION) costs.clear();
      costs.set(key, cost);
    },
  };
  bySchema.set(operation, cache);
  return cache;
}

/** Variables used inside a slicing argument (of any field) or a directive, in the document. */
function pricedVariablesOf(schema: GraphQLSchema, document: DocumentNode): Set<string> {
  const slicing = slicingArgumentNamesOf(schema);
  const variables = new Set<string>();
  const collect = (value: ValueNode) =>
    visit(value, {
      Variable(node) {
        variables.add(node.name.value);
      },
    });
  visit(document, {
    Field(node) {
      for (const argument of node.arguments ?? []) {
        if (slicing.has(argument.name.value)) collect(argument.value);
      }
    },
    Directive(node) {
      for (const argument of node.arguments ?? []) collect(argument.value);
    },
  });
  return variables;
}

const slicingArgumentNames = new WeakMap<GraphQLSchema, ReadonlySet<string>>();

/** Every argument name that some field's @listSize slices by. */
function slicingArgumentNamesOf(schema: GraphQLSchema): ReadonlySet<string> {
  let names = slicingArgumentNames.get(schema);
  if (!names) {
    const found = new Set<string>();
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) && !isInterfaceType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        const listSize = getDirective(schema, field, 'listSize')?.[0];
        for (const name of listSize?.slicingArguments ?? []) found.add(name);
      }
    }
    names = found;
    slicingArgumentNames.set(schema, names);
  }
  return names;
}

function fragmentsOf(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  return fragments;
}

// ---------------------------------------------------------------------------------------------
// The annotations of a field, read once per schema field.

interface ListSize {
  assumedSize: number | undefined;
  slicingArguments: readonly string[];
  sizedFields: ReadonlySet<string> | undefined;
}

interface FieldCost {
  /** What each value the field returns costs: its type's `@cost`, else 1 (object) or 0 (leaf). */
  valueCost: number;
  /** The field's own `@cost(weight:)`, added once per time the field is counted. */
  weight: number;
  /** valueCost + weight. */
  ownCost: number;
  isList: boolean;
  listSize: ListSize | undefined;
}

const fieldCosts = new WeakMap<GraphQLField<unknown, unknown>, FieldCost>();

function fieldCostOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): FieldCost {
  const cached = fieldCosts.get(field);
  if (cached) return cached;
  const named = getNamedType(field.type);
  // On a type, @cost is what each of its values costs (IBM: the type's weight replaces the
  // default); on a field, an extra charge for resolving it (DESIGN.md: mutations +10).
  const valueCost = weightOf(schema, named) ?? (isCompositeType(named) ? 1 : 0);
  const weight = weightOf(schema, field) ?? 0;
  const listSize = getDirective(schema, field, 'listSize')?.[0];
  const computed: FieldCost = {
    valueCost,
    weight,
    ownCost: valueCost + weight,
    isList: isListType(getNullableType(field.type)),
    listSize: listSize && {
      assumedSize: listSize.assumedSize ?? undefined,
      slicingArguments: listSize.slicingArguments ?? [],
      sizedFields: listSize.sizedFields ? new Set(listSize.sizedFields) : undefined,
    },
  };
  fieldCosts.set(field, computed);
  return computed;
}

function weightOf(
  schema: GraphQLSchema,
  target: GraphQLField<unknown, unknown> | GraphQLNamedType,
): number | undefined {
  const weight = getDirective(schema, target, 'cost')?.[0]?.weight;
  if (weight === undefined) return undefined;
  const value = Number(weight);
  if (!Number.isFinite(value)) throw new Error(`@cost(weight: "${weight}") is not a number.`);
  return value;
}

/** The size of an annotated list for these argument values. */
function sizeOf(listSize: ListSize, args: Record<string, unknown>, defaultPageSize: number) {
  const given = listSize.slicingArguments
    .map((name) => args[name])
    .filter((value) => value != null)
    .map((value) => (Array.isArray(value) ? value.length : Math.max(0, Number(value) || 0)));
  if (given.length > 0) return Math.max(...given);
  const unsliced = listSize.slicingArguments.length > 0 ? defaultPageSize : 0;
  return Math.max(listSize.assumedSize ?? 1, unsliced);
}

// ---------------------------------------------------------------------------------------------
// Static cost.

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

interface Explained {
  cost: number;
  lines: FieldCostLine[];
}

function fieldOf(
  parentType: GraphQLCompositeType,
  name: string,
): GraphQLField<unknown, unknown> | undefined {
  // Meta fields (__typename, __schema, __type) are free here; introspection is bounded by
  // the operation limits, not by cost.
  if (name.startsWith('__')) return undefined;
  if (!isObjectType(parentType) && !isInterfaceType(parentType)) return undefined;
  return parentType.getFields()[name];
}

function possibleTypeNames(schema: GraphQLSchema, type: GraphQLCompositeType): string[] {
  return isAbstractType(type) ? schema.getPossibleTypes(type).map((t) => t.name) : [type.name];
}

function isIncluded(node: SelectionNode, variables: Record<string, unknown>): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
}

function joinPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** One line per path and coordinate: a field selected twice (or by two fragments) adds up. */
function mergeLines(lines: readonly FieldCostLine[]): FieldCostLine[] {
  const merged = new Map<string, FieldCostLine>();
  for (const line of lines) {
    const key = `${line.path} ${line.coordinate}`;
    const known = merged.get(key);
    if (known) known.cost += line.cost;
    else merged.set(key, { ...line });
  }
  return [...merged.values()];
}

function costFrom(lines: readonly FieldCostLine[], explain: boolean | undefined): OperationCost {
  const cost = lines.reduce((sum, line) => sum + line.cost, 0);
  return explain ? { cost, breakdown: mergeLines(lines) } : { cost };
}

// ---------------------------------------------------------------------------------------------
// Actual cost.

/**
 * What a group of selection sets (the nodes that share one response key) selects on each
 * object type, as execution collects it. Built on first use and shared by every value that
 * group meets: the twenty orders of a page are collected once, not twenty times.
 */
class SelectionGroup {
  private readonly byType = new Map<GraphQLObjectType, CollectedFields>();

  constructor(readonly selectionSets: readonly SelectionSetNode[]) {}

  fieldsOf(
    schema: GraphQLSchema,
    fragments: Record<string, FragmentDefinitionNode>,
    variables: Record<string, unknown>,
    type: GraphQLObjectType,
  ): CollectedFields {
    let collected = this.byType.get(type);
    if (!collected) {
      collected = collectGroup(schema, fragments, variables, type, this.selectionSets);
      this.byType.set(type, collected);
    }
    return collected;
  }
}

interface CollectedFields {
  /** Response key → the field nodes collected under it, in execution's order. */
  readonly nodes: ReadonlyMap<string, readonly FieldNode[]>;
  /** The keys that name a field of the type (not `__typename`) and can cost something. */
  readonly fields: readonly CollectedField[];
}

interface CollectedField {
  readonly key: string;
  readonly coordinate: string;
  readonly weight: number;
  readonly valueCost: number;
  /** For a field of composite type: that type and the group its values are counted with. */
  readonly below?: { type: GraphQLCompositeType; group: SelectionGroup };
}

function collectGroup(
  schema: GraphQLSchema,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  type: GraphQLObjectType,
  selectionSets: readonly SelectionSetNode[],
): CollectedFields {
  const nodes = new Map<string, FieldNode[]>();
  for (const selectionSet of selectionSets) {
    for (const [key, collected] of collectFields(
      schema,
      fragments,
      variables,
      type,
      selectionSet,
    )) {
      nodes.set(key, [...(nodes.get(key) ?? []), ...collected]);
    }
  }
  const fields: CollectedField[] = [];
  for (const [key, fieldNodes] of nodes) {
    const first = fieldNodes[0];
    const field = first && type.getFields()[first.name.value];
    if (!field) continue;
    const named = getNamedType(field.type);
    const { weight, valueCost } = fieldCostOf(schema, field);
    // A leaf without a weight adds nothing wherever it appears: not even looked at.
    if (weight <= 0 && !isCompositeType(named)) continue;
    const below = isCompositeType(named)
      ? {
          type: named,
          group: new SelectionGroup(
            fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : [])),
          ),
        }
      : undefined;
    fields.push({ key, coordinate: `${type.name}.${field.name}`, weight, valueCost, below });
  }
  return { nodes, fields };
}

/**
 * The group of an operation's root selection. Without @skip/@include anywhere in the document
 * nothing collected depends on variables, so the group (with everything it has collected) is
 * kept per operation and reused by every later result of it; otherwise it is built per result.
 */
const rootSelections = new WeakMap<
  GraphQLSchema,
  WeakMap<OperationDefinitionNode, SelectionGroup>
>();

function rootSelectionOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): SelectionGroup {
  if (usesConditionalDirectives(document)) return new SelectionGroup([operation.selectionSet]);
  let bySchema = rootSelections.get(schema);
  if (!bySchema) {
    bySchema = new WeakMap();
    rootSelections.set(schema, bySchema);
  }
  let group = bySchema.get(operation);
  if (!group) {
    group = new SelectionGroup([operation.selectionSet]);
    bySchema.set(operation, group);
  }
  return group;
}

const conditionalDirectives = new WeakMap<DocumentNode, boolean>();

/** Whether the document uses @skip or @include anywhere (their outcome depends on variables). */
function usesConditionalDirectives(document: DocumentNode): boolean {
  let uses = conditionalDirectives.get(document);
  if (uses === undefined) {
    uses = false;
    visit(document, {
      Directive(node) {
        if (node.name.value === 'skip' || node.name.value === 'include') {
          uses = true;
          return BREAK;
        }
        return undefined;
      },
    });
    conditionalDirectives.set(document, uses);
  }
  return uses;
}

/**
 * Walks `data` with the operation's selection, field by field as execution collected them
 * (graphql-js's own collectFields: fragments, type conditions, @skip/@include), so it counts
 * exactly what was returned. Without `explain` it only adds up: no lines, no paths.
 */
class ActualCounter {
  readonly lines: FieldCostLine[] = [];
  total = 0;
  private readonly explain: boolean;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Record<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown>,
    options: { explain: boolean },
  ) {
    this.explain = options.explain;
  }

  countObject(
    value: Record<string, unknown>,
    type: GraphQLCompositeType,
    group: SelectionGroup,
    path: string,
  ): void {
    const runtimeType = this.runtimeTypeOf(value, type, group);
    if (!runtimeType) return;
    for (const field of this.fieldsOf(runtimeType, group).fields) {
      if (!(field.key in value)) continue;
      const fieldPath = this.explain ? joinPath(path, field.key) : '';
      // The weight is paid once the field ran; each object it returned, below.
      if (field.weight > 0) this.charge(fieldPath, field.coordinate, field.weight);
      if (!field.below) continue;
      this.countValue(value[field.key], field.below.type, field.below.group, fieldPath, field);
    }
  }

  /** Every non-null object costs its value cost (1 by default); a list, what its items cost. */
  private countValue(
    value: unknown,
    type: GraphQLCompositeType,
    group: SelectionGroup,
    path: string,
    field: CollectedField,
  ): void {
    if (Array.isArray(value)) {
      for (const item of value) this.countValue(item, type, group, path, field);
    } else if (value !== null && typeof value === 'object') {
      if (field.valueCost > 0) this.charge(path, field.coordinate, field.valueCost);
      this.countObject(value as Record<string, unknown>, type, group, path);
    }
  }

  private charge(path: string, coordinate: string, cost: number): void {
    this.total += cost;
    if (this.explain) this.lines.push({ path, coordinate, cost });
  }

  private fieldsOf(type: GraphQLObjectType, group: SelectionGroup): CollectedFields {
    return group.fieldsOf(this.schema, this.fragments, this.variables, type);
  }

  /**
   * The concrete type of an object in the result. For an interface or union the response does
   * not say (unless `__typename` was selected), so it is the member whose selection produced
   * exactly these keys; when several fit, the dearest (the static model's maximum).
   */
  private runtimeTypeOf(
    value: Record<string, unknown>,
    type: GraphQLCompositeType,
    group: SelectionGroup,
  ): GraphQLObjectType | undefined {
    if (isObjectType(type)) return type;
    const keys = Object.keys(value);
    const candidates = this.schema.getPossibleTypes(type).filter((candidate) => {
      const { nodes } = this.fieldsOf(candidate, group);
      return keys.every((key) => {
        const collected = nodes.get(key);
        if (!collected) return false;
        const name = collected[0]?.name.value;
        return name !== '__typename' || value[key] === candidate.name;
      });
    });
    let dearest: GraphQLObjectType | undefined;
    let dearestCost = -1;
    for (const candidate of candidates) {
      const probe = new ActualCounter(this.schema, this.fragments, this.variables, {
        explain: false,
      });
      probe.countObject(value, candidate, group, '');
      if (probe.total > dearestCost) {
        dearest = candidate;
        dearestCost = probe.total;
      }
    }
    return dearest;
  }
}
