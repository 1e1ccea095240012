/**
 * The requested-cost cache: a repeated operation (a persisted one: every request) is priced
 * once per distinct values of the few variables its cost depends on.
 */
import {
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
  visit,
} from 'graphql';

import { slicingArgumentNamesOf } from './field-costs.ts';

/** Distinct variable values priced per operation before the oldest prices are dropped. */
const MAX_PRICES_PER_OPERATION = 100;

export interface RequestedCostCache {
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
export function requestedCostCache(
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
