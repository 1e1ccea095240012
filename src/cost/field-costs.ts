/**
 * The cost annotations of the schema (`@cost`, `@listSize`), read once per schema field and
 * kept: the weight a field adds, and the size a list field has for given arguments. Both the
 * static cost (static-cost.ts) and the actual cost (actual-cost.ts) price fields by these.
 */
import { getDirective } from '@graphql-tools/utils';
import {
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
} from 'graphql';

export interface ListSize {
  assumedSize: number | undefined;
  slicingArguments: readonly string[];
  sizedFields: ReadonlySet<string> | undefined;
}

export interface FieldCost {
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

export function fieldCostOf(
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
): FieldCost {
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
export function sizeOf(listSize: ListSize, args: Record<string, unknown>, defaultPageSize: number) {
  const given = listSize.slicingArguments
    .map((name) => args[name])
    .filter((value) => value != null)
    .map((value) => (Array.isArray(value) ? value.length : Math.max(0, Number(value) || 0)));
  if (given.length > 0) return Math.max(...given);
  const unsliced = listSize.slicingArguments.length > 0 ? defaultPageSize : 0;
  return Math.max(listSize.assumedSize ?? 1, unsliced);
}

const slicingArgumentNames = new WeakMap<GraphQLSchema, ReadonlySet<string>>();

/** Every argument name that some field's @listSize slices by. */
export function slicingArgumentNamesOf(schema: GraphQLSchema): ReadonlySet<string> {
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
