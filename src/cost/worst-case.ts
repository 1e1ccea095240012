/**
 * The static cost of an operation whatever variables a client sends: what the manifest of
 * persisted operations records, so an operation is registered only if every request for it
 * would pass the cost limit. It is not a second set of rules: the cost model
 * (static-cost.ts) prices the operation with the most expensive variables a client could send,
 * generated from the operation's variable definitions.
 *
 * The model reads only two kinds of variable values; the rest merely has to coerce:
 * - sizes. Slicing arguments (`first`, `last`: Int; `nodes(ids:)`: a list) size lists. Every
 *   number is `maxPageSize`, the most a client may ask for (more is refused, not clamped), and
 *   a list-typed variable has `maxListSize` items (`nodes(ids:)` takes up to 100 ids whatever
 *   the page size). A nullable `$first` gets it too: null would
 *   be charged the default page size, which config keeps at most the maximum. Numbers used
 *   elsewhere (a price filter, a quantity) do not change the cost, whatever their value.
 * - conditions. Boolean variables in `@include`/`@skip` (see `flagAssignments`).
 * - everything else: an enum's first value, a string for String and ID, an input object with
 *   its required fields (a @oneOf input with one field), for a custom scalar the first of a few
 *   candidates its `parseValue` accepts. Lists inside a variable's value stay empty: only the
 *   variable's own length can size a list, and it keeps the value finite.
 */
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  GraphQLIncludeDirective,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLNullableType,
  type GraphQLScalarType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInputType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  type OperationDefinitionNode,
  print,
  typeFromAST,
  visit,
} from 'graphql';
import { operationOf, requestedCostOf } from './static-cost.ts';

export interface WorstCaseOptions {
  /** The operation to price when the document holds several. */
  operationName?: string | null;
  /** The largest page a client may ask for (`config.pagination.maxSize`, PAGE_SIZE_MAX). */
  maxPageSize: number;
  /**
   * The page size when neither `first` nor `last` is given (`config.pagination.defaultSize`,
   * PAGE_SIZE_DEFAULT), as the cost analysis charges it.
   */
  defaultPageSize: number;
  /**
   * Items in a list-typed variable (a list-valued slicing argument such as `nodes(ids:)`,
   * capped by its own limit, not by the page size); default `maxPageSize`.
   */
  maxListSize?: number;
}

/**
 * Boolean variables used both in `@include` and in `@skip` whose every combination is priced
 * (2^6 = 64 evaluations at most); past this many, see `flagAssignments`.
 */
export const MAX_ENUMERATED_FLAGS = 6;

/**
 * The static cost of an operation whatever variables a client sends.
 *
 * Throws a GraphQLError for an unknown operation name (or several operations and no name), a
 * variable of an unknown type, or a required variable no value can be made for (a custom
 * scalar accepting none of the candidates); `TooManySelectionsError` as the cost model does.
 */
export function worstCaseCostOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  options: WorstCaseOptions,
): number {
  const operation = operationOf(document, options.operationName);
  const values = new WorstValues(options.maxPageSize, options.maxListSize ?? options.maxPageSize);
  const fixed: Record<string, unknown> = {};
  const flags: string[] = [];
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type);
    if (!type || !isInputType(type)) {
      throw new GraphQLError(
        `Variable "$${name}" has the unknown or non-input type "${print(definition.type)}".`,
        { nodes: definition },
      );
    }
    if (isBoolean(getNullableType(type))) {
      flags.push(name);
      continue;
    }
    const value = values.of(type);
    if (value === undefined) {
      throw new GraphQLError(
        `Cannot price variable "$${name}" of type "${String(type)}": a custom scalar in it accepts none of the values tried.`,
        { nodes: definition },
      );
    }
    fixed[name] = value;
  }
  let worst = 0;
  for (const assignment of flagAssignments(flags, flagUses(document, operation))) {
    const { cost } = requestedCostOf(schema, document, {
      operationName: options.operationName,
      variables: { ...fixed, ...assignment },
      defaultPageSize: options.defaultPageSize,
    });
    worst = Math.max(worst, cost);
  }
  return worst;
}

// ---------------------------------------------------------------------------------------------
// Conditions.

type FlagUse = 'include' | 'skip';

/** For each variable, whether it is the condition of an `@include`, of a `@skip`, or both. */
function flagUses(
  document: DocumentNode,
  operation: OperationDefinitionNode,
): Map<string, Set<FlagUse>> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  const uses = new Map<string, Set<FlagUse>>();
  // Only the operation and the fragments it reaches: another operation's conditions are not
  // this one's, even with the same variable names.
  const reached = new Set<string>();
  const pending: (OperationDefinitionNode | FragmentDefinitionNode)[] = [operation];
  for (let node = pending.pop(); node; node = pending.pop()) {
    visit(node, {
      Directive(directive) {
        const use =
          directive.name.value === GraphQLIncludeDirective.name
            ? 'include'
            : directive.name.value === GraphQLSkipDirective.name
              ? 'skip'
              : undefined;
        const condition = directive.arguments?.find((argument) => argument.name.value === 'if');
        if (!use || condition?.value.kind !== Kind.VARIABLE) return;
        const name = condition.value.name.value;
        uses.set(name, new Set([...(uses.get(name) ?? []), use]));
      },
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (!fragment || reached.has(fragment.name.value)) return;
        reached.add(fragment.name.value);
        pending.push(fragment);
      },
    });
  }
  return uses;
}

/**
 * The values of the Boolean variables to price the operation with; the cost is the largest.
 *
 * Including a selection never lowers the cost (every field adds a non-negative amount, with
 * the schema's non-negative weights; an interface takes the maximum of its members). So a
 * variable used only as `@include(if:)` costs most when true, one used only as `@skip(if:)`
 * when false, and when every variable is used one way only, that single assignment is the
 * exact worst case. It also bounds what the simpler "all true or all false" would find, and
 * is right where that is not: `a @include(if: $x)` with `b @skip(if: $y)` is worst at
 * x = true, y = false, which neither of those tries.
 *
 * A variable used both ways includes one selection or the other: every combination of those
 * is priced, up to MAX_ENUMERATED_FLAGS of them. Past that (no real operation needs it), they
 * are all true or all false, the worst case of the common pattern where one flag switches a
 * whole view, but not a bound for arbitrary mixes.
 */
function flagAssignments(
  flags: readonly string[],
  uses: ReadonlyMap<string, ReadonlySet<FlagUse>>,
): Record<string, boolean>[] {
  const settled: Record<string, boolean> = {};
  const mixed: string[] = [];
  for (const name of flags) {
    const use = uses.get(name);
    if (use?.has('include') && use.has('skip')) mixed.push(name);
    // Unused in a condition, the value cannot change the cost: true as well as false.
    else settled[name] = !use?.has('skip');
  }
  const all = (value: boolean) => Object.fromEntries(mixed.map((name) => [name, value]));
  if (mixed.length > MAX_ENUMERATED_FLAGS) {
    return [
      { ...settled, ...all(true) },
      { ...settled, ...all(false) },
    ];
  }
  return Array.from({ length: 2 ** mixed.length }, (_, bits) => ({
    ...settled,
    ...Object.fromEntries(mixed.map((name, i) => [name, ((bits >> i) & 1) === 1])),
  }));
}

function isBoolean(type: GraphQLNullableType): boolean {
  return isScalarType(type) && type.name === 'Boolean';
}

// ---------------------------------------------------------------------------------------------
// Values.

/** What a string-like variable (String, ID, a custom scalar's fallback) is given. */
const SOME_STRING = 'worst-case';

class WorstValues {
  /** Input objects being built: a @oneOf input may refer to itself, so it chooses another field. */
  private readonly building = new Set<string>();
  /**
   * Tried in order on a custom scalar: a number first (an integer scalar such as PositiveInt
   * could be a slicing argument), then what graphql-scalars' common scalars accept (DateTime,
   * Date, Time, UUID, EmailAddress, URL), then anything.
   */
  private readonly candidates: readonly unknown[];

  constructor(
    private readonly maxPageSize: number,
    private readonly maxListSize: number,
  ) {
    this.candidates = [
      maxPageSize,
      '1970-01-01T00:00:00.000Z',
      '1970-01-01',
      '00:00:00.000Z',
      '00000000-0000-0000-0000-000000000000',
      'worst-case@example.com',
      'https://example.com/',
      SOME_STRING,
      true,
      {},
      [],
    ];
  }

  /**
   * A variable's value (its own list sized to the maximum), or undefined when none can be made
   * for a required one; a nullable one falls back to null.
   */
  of(type: GraphQLInputType): unknown {
    return this.value(type, true);
  }

  private value(type: GraphQLInputType, outermost: boolean): unknown {
    if (isNonNullType(type)) return this.nonNull(type.ofType, outermost);
    return this.nonNull(type, outermost) ?? null;
  }

  private nonNull(type: GraphQLInputType, outermost: boolean): unknown {
    if (isListType(type)) {
      if (!outermost) return [];
      const item = this.value(type.ofType, false);
      return item === undefined ? undefined : Array.from({ length: this.maxListSize }, () => item);
    }
    if (isEnumType(type)) return type.getValues()[0]?.name;
    if (isInputObjectType(type)) return this.inputObject(type);
    if (isScalarType(type)) return this.scalar(type);
    return undefined;
  }

  private scalar(type: GraphQLScalarType): unknown {
    switch (type.name) {
      case 'Int':
      case 'Float':
        return this.maxPageSize;
      case 'String':
      case 'ID':
        return SOME_STRING;
      case 'Boolean':
        return true;
      default:
        return this.candidates.find((candidate) => accepts(type, candidate));
    }
  }

  private inputObject(type: GraphQLInputObjectType): Record<string, unknown> | undefined {
    if (this.building.has(type.name)) return undefined;
    this.building.add(type.name);
    try {
      const fields = Object.values(type.getFields());
      if (type.isOneOf) {
        for (const field of fields) {
          const value = this.nonNull(getNullableType(field.type), false);
          if (value !== undefined) return { [field.name]: value };
        }
        return undefined;
      }
      const object: Record<string, unknown> = {};
      for (const field of fields) {
        if (!isNonNullType(field.type) || field.defaultValue !== undefined) continue;
        const value = this.nonNull(field.type.ofType, false);
        if (value === undefined) return undefined;
        object[field.name] = value;
      }
      return object;
    } finally {
      this.building.delete(type.name);
    }
  }
}

function accepts(type: GraphQLScalarType, value: unknown): boolean {
  try {
    return type.parseValue(value) !== undefined;
  } catch {
    return false;
  }
}
