/**
 * The actual cost: what an execution result really cost, by the rules of the static cost
 * (static-cost.ts): each non-null object in `data` costs 1 plus the weights of the fields
 * present, and lists count their real length. The cost budget calls it after execution to
 * refund the difference. It never throws for a result of this document; `breakdown` only when
 * `explain` is true.
 */
import {
  BREAK,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isCompositeType,
  isObjectType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  visit,
} from 'graphql';
import { collectFields } from 'graphql/execution/collectFields.js';
import { costFrom, mergeLines, type OperationCost } from './cost-breakdown.ts';
import { fieldCostOf } from './field-costs.ts';
import type { FieldCostLine } from './request-cost.ts';
import { fragmentsOf, joinPath } from './selections.ts';

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
