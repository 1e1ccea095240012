/**
 * The one Pothos SchemaBuilder. Domain files (`product.ts`, `order.ts`, ...) add types to it
 * and `index.ts` imports them for their side effects, then builds the schema.
 *
 * Plugins: scope-auth (authorization declared on each field), relay (Node interface,
 * connections, Relay mutations), dataloader (per-request batching of every relation).
 */
import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import DirectivesPlugin from '@pothos/plugin-directives';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver } from 'graphql-scalars';
import { type AuthCheck, type AuthDirectiveArgs, allows, cacheKeyOf } from '../auth/rules.ts';
import type { ExecutionContext } from '../context.ts';
import { apiError, badUserInput, ErrorCode } from '../errors.ts';
import { MAX_NODES_IDS, parseId } from '../ids.ts';
import { nodesListSize } from './cost-directives.ts';

export interface AuthScopes {
  /**
   * The only scope loader: a rule declared with `auth({...})` (src/schema/auth.ts), which also
   * prints it as `@auth`. Nothing else should build scope maps by hand.
   */
  auth: AuthCheck;
}

export const builder = new SchemaBuilder<{
  Context: ExecutionContext;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string };
  };
  // Declared in directives.ts, printed into schema.graphql, read at run time.
  Directives: {
    cost: {
      locations: 'FIELD_DEFINITION' | 'OBJECT' | 'ARGUMENT_DEFINITION' | 'INPUT_FIELD_DEFINITION';
      args: { weight: string };
    };
    listSize: {
      locations: 'FIELD_DEFINITION';
      args: {
        assumedSize?: number;
        slicingArguments?: string[];
        sizedFields?: string[];
        requireOneSlicingArgument?: boolean;
      };
    };
    rateLimit: {
      locations: 'FIELD_DEFINITION';
      args: { max: number; window: string; message?: string };
    };
    auth: {
      locations: 'FIELD_DEFINITION' | 'OBJECT';
      args: AuthDirectiveArgs;
    };
  };
}>({
  // scope-auth must come first so its checks wrap every other plugin's resolvers.
  plugins: [ScopeAuthPlugin, RelayPlugin, DataloaderPlugin, DirectivesPlugin],
  defaultFieldNullability: false,
  // graphql-tools (schema printing, the rate limiter) expects directives keyed by name.
  directives: { useGraphQLToolsUnorderedDirectives: true },
  scopeAuth: {
    authScopes: (ctx) => ({ auth: (check) => allows(ctx.viewer, check, check.ownerId) }),
    // Checks are plain data (a rule and maybe an owner id): equal checks share one result per
    // request instead of being cached by object identity.
    cacheKey: (check) => cacheKeyOf(check as AuthCheck),
    // Anonymous callers are told to authenticate; authenticated ones that lack a scope are
    // forbidden. Either way the rest of the response is still returned.
    unauthorizedError: (_parent, ctx, _info, result) =>
      ctx.viewer === null
        ? apiError(ErrorCode.UNAUTHENTICATED, 'Authentication is required for this field.')
        : apiError(ErrorCode.FORBIDDEN, result.message || 'Not authorized for this field.'),
  },
  relay: {
    clientMutationId: 'optional',
    cursorType: 'String',
    // TypeIDs are already globally unique and typed by their prefix, so they are the
    // global ids as they are: no base64 wrapping clients would have to undo.
    encodeGlobalID: (_typename, id) => String(id),
    decodeGlobalID: (globalID) => {
      const parsed = parseId(globalID);
      if (!parsed) throw badUserInput(`"${truncate(globalID)}" is not a valid ID.`);
      return parsed;
    },
    nodeQueryOptions: {
      description: 'Fetches any object by its ID. Null when it does not exist or is not visible.',
      args: { id: { description: 'The ID of the object (any type).' } },
    },
    nodesQueryOptions: {
      description: `Fetches up to ${MAX_NODES_IDS} objects by ID, in the order given; null for each one that does not exist or is not visible.`,
      args: { ids: { description: `The IDs of the objects, at most ${MAX_NODES_IDS}.` } },
      directives: nodesListSize,
      resolve: (_root, args, _ctx, _info, resolveNodes) => {
        if (args.ids.length > MAX_NODES_IDS) {
          throw badUserInput(
            `nodes(ids:) takes at most ${MAX_NODES_IDS} ids; got ${args.ids.length}.`,
            ['ids'],
          );
        }
        return resolveNodes(args.ids);
      },
    },
    nodeTypeOptions: {
      description: 'An object with a globally unique ID (a TypeID whose prefix names its type).',
    },
    pageInfoTypeOptions: { description: 'Where a page sits in its connection (Relay spec).' },
    hasNextPageFieldOptions: { description: 'True when more items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'True when items precede this page.' },
    startCursorFieldOptions: { description: 'Cursor of the first item of the page.' },
    endCursorFieldOptions: { description: 'Cursor of the last item of the page.' },
    pageInfoFieldOptions: { description: 'Pagination state of this page.' },
    edgesFieldOptions: { description: 'The items of this page with their cursors.' },
    nodesOnConnection: { description: 'The items of this page (the same as edges.node).' },
    cursorFieldOptions: {
      description: 'Opaque cursor of this item; pass it as `after` or `before`.',
    },
    nodeFieldOptions: { description: 'The item.' },
    firstArgOptions: {
      description:
        'Return the first n items (0–100; default 20 when neither first nor last is given).',
    },
    lastArgOptions: { description: 'Return the last n items (0–100).' },
    afterArgOptions: { description: 'Return items after this cursor.' },
    beforeArgOptions: { description: 'Return items before this cursor.' },
    mutationInputArgOptions: { description: "The mutation's input." },
    clientMutationIdInputOptions: {
      description:
        'A client-chosen id for this call, echoed in the payload, and its idempotency key (1–255 printable characters): a retry with the same key and input returns the first answer without running again. Required by createOrder and createProduct.',
    },
    clientMutationIdFieldOptions: { description: 'The clientMutationId of the input, echoed.' },
    idFieldOptions: {
      description: 'Globally unique ID (a TypeID such as `prod_01h455vb4pex5vsknk084sn02q`).',
    },
  },
});

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'A point in time, serialized as an ISO 8601 string in UTC.',
});

builder.queryType({ description: "Reads. Every field is scoped to the caller's tenant." });
builder.mutationType({
  description: 'Writes. Each takes one `input` and returns a payload with `userErrors`.',
});

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

/** The builder's type parameters, for helpers that build fields outside a callback. */
export type BuilderTypes =
  typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;
