/**
 * Field rate limits: `@rateLimit(max, window)` on a field definition in the schema allows each
 * caller at most `max` calls of that field per `window` (e.g. createOrder: 30 per minute). A
 * caller is the user (`tenantId:userId`) when authenticated, else the client address (the TCP
 * peer, or X-Forwarded-For only from a trusted proxy; see http/client-address.ts).
 *
 * @envelop/rate-limiter reads the directives, walks each operation before execution, counts
 * the calls in our store and, when a field is over its limit, stops the whole operation with
 * its own errors: nothing runs, not even the other fields. Those errors would reach the client
 * as HTTP 200 with `Retry-After: 1m` (the window, not the wait; and under an `http.statusCode`
 * key that Yoga ignores), so this plugin replaces them with RATE_LIMITED errors that carry HTTP
 * 429, a numeric Retry-After (whole seconds until the window frees a call) and the limit's state.
 *
 * Why the whole response is 429: Yoga takes the highest `extensions.http.status` of a result's
 * errors, whether `data` is present or not. A refusal stops the operation before anything
 * executes (there is no partial `data`), so the operation as a whole was refused, and 429 with
 * Retry-After is what tells any HTTP client or proxy to back off and when.
 */

import { useRateLimiter } from '@envelop/rate-limiter';
import { getDirectiveExtensions } from '@graphql-tools/utils';
import {
  BREAK,
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  isInterfaceType,
  isObjectType,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import ms from 'ms';
import type { Logger } from 'pino';
import { principalIdOf } from '../../auth/viewer.ts';
import type { RequestContext } from '../../context.ts';
import { ErrorCode } from '../../errors.ts';
import { createClientAddressResolver, type NodeServerContext } from '../../http/client-address.ts';
import { MemoryFieldRateLimitStore } from './memory-store.ts';
import { RedisFieldRateLimitStore } from './redis-store.ts';
import type { FieldLimit, FieldRateLimitStore, RateLimitIdentity } from './store.ts';

export interface FieldRateLimitsOptions {
  /** Proxies (addresses or CIDR ranges) whose X-Forwarded-For names an anonymous caller. */
  trustedProxies: readonly string[];
  /**
   * Keep the counters in Redis, so several instances enforce one limit. `failureMode`: what an
   * unreachable Redis does to limited fields — `closed` refuses them (503), `open` lets them
   * through; either way the outage is logged once. Default: counters in process memory.
   */
  redis?: { client: Redis; failureMode: 'open' | 'closed' } | undefined;
  logger: Logger;
}

interface Refusal {
  identity: RateLimitIdentity;
  limit: FieldLimit;
}

export function useFieldRateLimits(options: FieldRateLimitsOptions): Plugin<RequestContext> {
  const clientAddress = createClientAddressResolver(options.trustedProxies);
  // Filled from the schema's directives before the first request (onSchemaChange).
  let limits = new Map<string, FieldLimit>();
  let limitedNames: ReadonlySet<string> = new Set();
  const limitOf = (fieldName: string) => limits.get(fieldName);
  const store: FieldRateLimitStore = options.redis
    ? new RedisFieldRateLimitStore({
        redis: options.redis.client,
        failureMode: options.redis.failureMode,
        logger: options.logger,
        limitOf,
      })
    : new MemoryFieldRateLimitStore(limitOf, () =>
        Math.max(0, ...[...limits.values()].map((limit) => limit.windowMs)),
      );
  // Per operation (its context object): the fields refused, reported after the library stops it.
  const refusals = new WeakMap<object, Refusal[]>();

  const callerOf = (context: RequestContext & NodeServerContext): string =>
    context.viewer
      ? `user:${context.viewer.tenantId}:${principalIdOf(context.viewer)}`
      : `address:${clientAddress(context.request, context)}`;

  return {
    onSchemaChange({ schema }) {
      limits = fieldLimitsOf(schema);
      limitedNames = rateLimitedFieldNames(schema);
    },
    onPluginInit({ addPlugin }) {
      // Added right after this plugin, so our onExecuteDone sees the result it stops with.
      addPlugin(
        onlyWhereLimited(
          () => limitedNames,
          useRateLimiter({
            identifyFn: (context) => callerOf(context as RequestContext & NodeServerContext),
            store,
            formatError: ({ fieldName, max, window }) =>
              `Too many calls of ${fieldName}: at most ${max} per ${ms(window, { long: true })}.`,
            onRateLimitError: ({ context, field, identifier }) => {
              const limit = limitOf(field.name);
              if (!limit || typeof context !== 'object' || context === null) return;
              // `identifier` is our identifyFn's answer, which is also the store key's caller.
              const identity = { contextIdentity: identifier, fieldIdentity: field.name };
              refusals.set(context, [...(refusals.get(context) ?? []), { identity, limit }]);
            },
          }) as Plugin<RequestContext>,
        ),
      );
    },
    onExecute() {
      return {
        onExecuteDone({ args, result, setResult }) {
          const refused = refusals.get(args.contextValue);
          if (!refused || !('errors' in result)) return;
          const stopped = result.errors ?? [];
          return Promise.all(refused.map(({ identity }) => store.retryAfterMs(identity))).then(
            (waits) => {
              // One header for the response: the longest wait, so a retry then finds every
              // refused field free again.
              const retryAfter = Math.max(...waits.map(wholeSeconds));
              setResult({
                ...result,
                errors: refused.map(({ limit }, index) =>
                  rateLimited(stopped[index], limit, retryAfter),
                ),
              });
            },
          );
        },
      };
    },
  };
}

/**
 * The library walks every operation's document with type information before execution, to
 * find the fields that carry @rateLimit. A document that selects no field of a limited name
 * (under any alias, in any fragment) cannot reach one, so for it the walk is skipped; whether
 * a document does is a plain syntactic scan, done once per document (Yoga's caches and the
 * persisted operations hand back the same DocumentNode for the same text).
 */
function onlyWhereLimited(
  limitedNamesOf: () => ReadonlySet<string>,
  limiter: Plugin<RequestContext>,
): Plugin<RequestContext> {
  const { onExecute } = limiter;
  if (!onExecute) return limiter;
  const verdicts = new WeakMap<DocumentNode, { names: ReadonlySet<string>; may: boolean }>();
  const mayReachLimit = (document: DocumentNode): boolean => {
    const names = limitedNamesOf();
    const known = verdicts.get(document);
    // Keyed by the names too: they are read again when the schema changes.
    if (known?.names === names) return known.may;
    let may = false;
    if (names.size > 0) {
      visit(document, {
        Field(node) {
          if (!names.has(node.name.value)) return undefined;
          may = true;
          return BREAK;
        },
      });
    }
    verdicts.set(document, { names, may });
    return may;
  };
  return {
    ...limiter,
    onExecute(payload) {
      if (!mayReachLimit(payload.args.document)) return;
      return onExecute(payload);
    },
  };
}

/**
 * The names of the fields, on object and interface types alike, that carry @rateLimit: what the
 * library looks for (it reads the directive of whichever field definition a selection names).
 */
function rateLimitedFieldNames(schema: GraphQLSchema): ReadonlySet<string> {
  const names = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      if (getDirectiveExtensions(field, schema).rateLimit?.length) names.add(field.name);
    }
  }
  return names;
}

/** At least 1: `Retry-After: 0` would invite an immediate retry into the same refusal. */
function wholeSeconds(milliseconds: number): number {
  return Math.max(1, Math.ceil(milliseconds / 1000));
}

function rateLimited(
  stopped: GraphQLError | undefined,
  limit: FieldLimit,
  retryAfter: number,
): GraphQLError {
  return new GraphQLError(stopped?.message ?? 'Too many calls.', {
    nodes: stopped?.nodes,
    path: stopped?.path,
    extensions: {
      code: ErrorCode.RATE_LIMITED,
      limit: limit.max,
      window: limit.window,
      retryAfter,
      http: { status: 429, headers: { 'Retry-After': String(retryAfter) } },
    },
  });
}

/**
 * Every field's @rateLimit, by field name: the library counts a field's calls under its name
 * alone, so two fields of the same name on different types share one count, and must
 * therefore declare the same limit.
 */
function fieldLimitsOf(schema: GraphQLSchema): Map<string, FieldLimit> {
  const limits = new Map<string, FieldLimit>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const directive = getDirectiveExtensions<{
        rateLimit: { max?: number; window?: string };
      }>(field, schema).rateLimit?.[0];
      if (!directive) continue;
      const coordinate = `${type.name}.${field.name}`;
      const windowMs =
        directive.window === undefined ? Number.NaN : ms(directive.window as ms.StringValue);
      if (!(Number(directive.max) > 0) || !(windowMs > 0)) {
        throw new Error(`${coordinate}: @rateLimit needs a positive max and window.`);
      }
      const limit = { max: Number(directive.max), window: directive.window!, windowMs };
      const known = limits.get(field.name);
      if (known && (known.max !== limit.max || known.windowMs !== limit.windowMs)) {
        throw new Error(`${coordinate}: @rateLimit differs from another field named the same.`);
      }
      limits.set(field.name, limit);
    }
  }
  return limits;
}
