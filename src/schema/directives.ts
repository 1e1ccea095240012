/**
 * Directives that are part of the public contract: they are printed into schema.graphql so
 * clients can see the rules that apply to each field, and the server reads the very same
 * declarations at run time (cost analysis, field rate limits), so the two cannot drift.
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

export const SCHEMA_DIRECTIVES = [costDirective, listSizeDirective, rateLimitDirective];
