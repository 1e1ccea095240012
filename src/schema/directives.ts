/**
 * Directives that are part of the public contract: they are printed into schema.graphql so
 * clients can see the rules that apply to each field, and the server reads the very same
 * declarations at run time (cost analysis, field rate limits, authorization), so the two
 * cannot drift.
 *
 * `@cost` and `@listSize` follow the IBM GraphQL Cost Directive specification (also used by
 * Apollo's demand control), so a client can compute the cost of an operation itself.
 */
import {
  DirectiveLocation,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
} from 'graphql';
import { SCOPES } from '../auth/viewer.ts';
import { roleEnum } from '../db/schema.ts';

export const costDirective = new GraphQLDirective({
  name: 'cost',
  description:
    'On a field: the cost of resolving it, added to the cost of what it returns (objects 1, scalars and enums 0; mutations carry 10). On a type: what each value of the type costs, instead of that default (e.g. 0 for a free type). IBM cost specification.',
  locations: [
    DirectiveLocation.ARGUMENT_DEFINITION,
    DirectiveLocation.ENUM,
    DirectiveLocation.FIELD_DEFINITION,
    DirectiveLocation.INPUT_FIELD_DEFINITION,
    DirectiveLocation.OBJECT,
    DirectiveLocation.SCALAR,
  ],
  args: {
    weight: {
      type: new GraphQLNonNull(GraphQLString),
      description: 'The cost, as a string holding a number (e.g. "10").',
    },
  },
});

export const listSizeDirective = new GraphQLDirective({
  name: 'listSize',
  description:
    'How many items a list field returns, for cost analysis: its selection is multiplied by this size. IBM cost specification.',
  locations: [DirectiveLocation.FIELD_DEFINITION],
  args: {
    assumedSize: {
      type: GraphQLInt,
      description: 'The size assumed when no slicing argument is given.',
    },
    slicingArguments: {
      type: new GraphQLList(new GraphQLNonNull(GraphQLString)),
      description: 'Arguments whose value is the size of the list (e.g. first, last).',
    },
    sizedFields: {
      type: new GraphQLList(new GraphQLNonNull(GraphQLString)),
      description:
        'Fields of the returned object that are the sized lists (e.g. edges, nodes of a connection).',
    },
    requireOneSlicingArgument: {
      type: GraphQLBoolean,
      defaultValue: true,
      description: 'Whether exactly one slicing argument must be given.',
    },
  },
});

export const rateLimitDirective = new GraphQLDirective({
  name: 'rateLimit',
  description:
    'At most `max` calls of this field per `window` per caller (the user, or the client address when anonymous). Over the limit the request is refused with HTTP 429 RATE_LIMITED and a Retry-After header.',
  locations: [DirectiveLocation.FIELD_DEFINITION],
  args: {
    max: { type: GraphQLInt, description: 'Calls allowed per window.' },
    window: { type: GraphQLString, description: 'The window, e.g. "1m" or "30s".' },
    message: { type: GraphQLString, description: 'The error message when the limit is hit.' },
  },
});

/**
 * Written by `auth({...})` (src/schema/auth.ts), which also builds the runtime check from the
 * same arguments. Scopes and roles are strings here because scope names (`read:orders`) are
 * not valid GraphQL enum values; the TypeScript types of `auth()` admit only real ones.
 */
export const authDirective = new GraphQLDirective({
  name: 'auth',
  description:
    "Who may read this type or field (on a mutation: call it). Every argument given must hold; with none, any authenticated caller may. Otherwise the field resolves to null with a FORBIDDEN error at its path (UNAUTHENTICATED without a token) and the rest of the response is returned. Another tenant's objects are never FORBIDDEN: they do not exist for you.",
  locations: [DirectiveLocation.FIELD_DEFINITION, DirectiveLocation.OBJECT],
  args: {
    requires: {
      type: new GraphQLList(new GraphQLNonNull(GraphQLString)),
      description: `Scopes the caller must all have (its role's defaults, narrowed by the token's \`scope\` claim): ${SCOPES.join(', ')}.`,
    },
    roles: {
      type: new GraphQLList(new GraphQLNonNull(GraphQLString)),
      description: `Roles of which the caller must have one: ${roleEnum.enumValues.join(', ')}.`,
    },
    allowSelf: {
      type: GraphQLBoolean,
      description:
        'When true, the user the value belongs to (a User itself, the customer of an Order) may read it without `requires` and `roles`.',
    },
  },
});

export const SCHEMA_DIRECTIVES = [
  costDirective,
  listSizeDirective,
  rateLimitDirective,
  authDirective,
];
