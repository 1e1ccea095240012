/**
 * The shape of each operation in a document, measured in one walk: depth, introspection
 * depth, aliases, root fields and directives, with fragments and inline fragments followed.
 *
 * Why not graphql-depth-limit (DESIGN.md's pick) for the depth: version 1.1.0 re-walks a
 * fragment at every spread, so spreads of spreads are exponential (20 fragments that each
 * spread the next three times, about 250 tokens, would take minutes), it crashes on an
 * unknown fragment and recurses forever on `fragment A on Query { ...A }` (both a 500 instead
 * of graphql-js's own validation error), it skips every field whose name starts with `__`,
 * so introspection is unbounded, and it reports no code and no measured depth. Here each
 * fragment is measured once and its numbers reused at every spread (so the walk is linear in
 * the document while a fragment spread ten times still counts ten times), a fragment cycle
 * or unknown fragment counts as empty (graphql-js's NoFragmentCycles / KnownFragmentNames
 * reject the document anyway), and only the real introspection entry points are special:
 * `__schema` / `__type` at the root, matched by field name (an alias or a fragment named
 * `__schema` is just a name). Their subtrees are measured separately, because the standard
 * introspection query is deeper than any sensible limit for data (see
 * plugins/operation-limits.ts).
 *
 * Depth is graphql-depth-limit's: a field with a selection set is one level, a leaf none, so
 * `{ viewer { user { username } } }` has depth 2.
 */
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getIntrospectionQuery,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
} from 'graphql';

export interface OperationShape {
  readonly operation: OperationDefinitionNode;
  /** Deepest nesting of fields outside introspection. */
  readonly depth: number;
  /** Deepest nesting under `__schema` / `__type` (those fields included); 0 when none. */
  readonly introspectionDepth: number;
  /** Every alias, counted once per place it lands in the result (fragments expanded). */
  readonly aliases: number;
  /** Distinct response keys at the root once fragments are merged. */
  readonly rootFields: number;
  /** Every directive use, counted like aliases. */
  readonly directives: number;
}

interface Counts {
  depth: number;
  aliases: number;
  directives: number;
}

interface RootCounts extends Counts {
  introspectionDepth: number;
  keys: Set<string>;
}

const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);
const EMPTY: Counts = { depth: 0, aliases: 0, directives: 0 };

/** Counts grow multiplicatively with nested spreads; saturate instead of reaching Infinity. */
function add(a: number, b: number): number {
  return Math.min(a + b, Number.MAX_SAFE_INTEGER);
}

export function measureDocument(document: DocumentNode): OperationShape[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  // `null` marks a fragment being measured: meeting it again is a cycle.
  const nested = new Map<string, Counts | null>();
  const atRoot = new Map<string, RootCounts | null>();

  function fragmentCounts(name: string): Counts {
    const known = nested.get(name);
    if (known !== undefined) return known ?? EMPTY;
    const fragment = fragments.get(name);
    if (!fragment) return EMPTY;
    nested.set(name, null);
    const counts = selectionCounts(fragment.selectionSet);
    counts.directives = add(counts.directives, fragment.directives?.length ?? 0);
    nested.set(name, counts);
    return counts;
  }

  function selectionCounts(selectionSet: SelectionSetNode): Counts {
    const counts: Counts = { depth: 0, aliases: 0, directives: 0 };
    for (const selection of selectionSet.selections) {
      counts.directives = add(counts.directives, selection.directives?.length ?? 0);
      let inner: Counts;
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) counts.aliases = add(counts.aliases, 1);
        if (!selection.selectionSet) continue;
        inner = selectionCounts(selection.selectionSet);
        inner = { ...inner, depth: inner.depth + 1 };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = selectionCounts(selection.selectionSet);
      } else {
        inner = fragmentCounts(selection.name.value);
      }
      counts.depth = Math.max(counts.depth, inner.depth);
      counts.aliases = add(counts.aliases, inner.aliases);
      counts.directives = add(counts.directives, inner.directives);
    }
    return counts;
  }

  function rootFragmentCounts(name: string): RootCounts | undefined {
    const known = atRoot.get(name);
    if (known !== undefined) return known ?? undefined;
    const fragment = fragments.get(name);
    if (!fragment) return undefined;
    atRoot.set(name, null);
    const counts = rootCounts(fragment.selectionSet);
    counts.directives = add(counts.directives, fragment.directives?.length ?? 0);
    atRoot.set(name, counts);
    return counts;
  }

  function rootCounts(selectionSet: SelectionSetNode): RootCounts {
    const counts: RootCounts = {
      depth: 0,
      introspectionDepth: 0,
      aliases: 0,
      directives: 0,
      keys: new Set(),
    };
    for (const selection of selectionSet.selections) {
      counts.directives = add(counts.directives, selection.directives?.length ?? 0);
      if (selection.kind === Kind.FIELD) {
        counts.keys.add(selection.alias?.value ?? selection.name.value);
        if (selection.alias) counts.aliases = add(counts.aliases, 1);
        if (!selection.selectionSet) continue;
        const inner = selectionCounts(selection.selectionSet);
        const depth = inner.depth + 1;
        if (INTROSPECTION_ROOTS.has(selection.name.value)) {
          counts.introspectionDepth = Math.max(counts.introspectionDepth, depth);
        } else {
          counts.depth = Math.max(counts.depth, depth);
        }
        counts.aliases = add(counts.aliases, inner.aliases);
        counts.directives = add(counts.directives, inner.directives);
        continue;
      }
      const inner =
        selection.kind === Kind.INLINE_FRAGMENT
          ? rootCounts(selection.selectionSet)
          : rootFragmentCounts(selection.name.value);
      if (!inner) continue;
      counts.depth = Math.max(counts.depth, inner.depth);
      counts.introspectionDepth = Math.max(counts.introspectionDepth, inner.introspectionDepth);
      counts.aliases = add(counts.aliases, inner.aliases);
      counts.directives = add(counts.directives, inner.directives);
      for (const key of inner.keys) counts.keys.add(key);
    }
    return counts;
  }

  const shapes: OperationShape[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const counts = rootCounts(definition.selectionSet);
    shapes.push({
      operation: definition,
      depth: counts.depth,
      introspectionDepth: counts.introspectionDepth,
      aliases: counts.aliases,
      rootFields: counts.keys.size,
      directives: add(counts.directives, definition.directives?.length ?? 0),
    });
  }
  return shapes;
}

/** The depth of graphql-js's full standard introspection query, which GraphiQL sends. */
export const STANDARD_INTROSPECTION_DEPTH = Math.max(
  ...measureDocument(
    parse(
      getIntrospectionQuery({
        descriptions: true,
        specifiedByUrl: true,
        directiveIsRepeatable: true,
        schemaDescription: true,
        inputValueDeprecation: true,
        oneOf: true,
      }),
    ),
  ).map((shape) => shape.introspectionDepth),
);
