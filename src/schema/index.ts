/**
 * The executable schema. Each domain file registers its types on the builder when imported;
 * the import order does not matter. `schema.graphql` is printed from this (npm run
 * schema:print) and a test fails when the committed file is stale.
 */
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { lexicographicSortSchema, specifiedDirectives } from 'graphql';
import { builder } from './builder.ts';
import { SCHEMA_DIRECTIVES } from './directives.ts';
import './common.ts';
import './tenant.ts';
import './user.ts';
import './product.ts';
import './order.ts';
import './order-lists.ts';
import './order-mutations.ts';
import './viewer.ts';
import './rate-limit.ts';
import './persisted-operation.ts';
import './webhook.ts';
import './api-key.ts';
import './privacy.ts';

// The schema's directives are graphql-js's own (@skip, @include, @deprecated, @specifiedBy) and
// ours: a list of ours alone would replace the specified ones, and every operation using @skip
// or @include would fail validation as an unknown directive.
export const schema = builder.toSchema({
  sortSchema: false,
  directives: [...specifiedDirectives, ...SCHEMA_DIRECTIVES],
});

/**
 * The SDL clients see, with the applied directives (@cost, @listSize, @rateLimit) that
 * graphql-js's own printer leaves out, in a stable order so diffs show real changes only.
 */
export function printSchemaSdl(): string {
  return `${printSchemaWithDirectives(lexicographicSortSchema(schema))}\n`;
}
