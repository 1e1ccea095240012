/**
 * The one switch between batched loading and the naive reference that benchmarks compare
 * against (`createApp({ batching: false })`). Every batch function the schema hands to the
 * Pothos dataloader plugin goes through `batched`, so the reference differs from the real
 * server in nothing but how many keys each SQL statement loads.
 */
import type { ExecutionContext } from '../context.ts';

/**
 * A batch function as given, or, when the request's context says `batching: false`, the same
 * function called once per key: one SQL statement per key, the N+1 pattern of a server whose
 * resolvers each fetch their own row. The calls are issued together, as sibling resolvers
 * issue theirs; the transaction's connection runs them one after another.
 *
 * DataLoader still removes repeated keys within a request (a customer of several orders is
 * loaded once), so the reference sends fewer statements than a server with no loaders at all.
 * Results keep the batch's order: every batch function answers key by key, or with rows that
 * the dataloader plugin matches to keys itself (`toKey`, `group`).
 */
export function batched<Key, Result, Rest extends unknown[]>(
  load: (keys: Key[], ctx: ExecutionContext, ...rest: Rest) => Promise<readonly Result[]>,
): (keys: Key[], ctx: ExecutionContext, ...rest: Rest) => Promise<readonly Result[]> {
  return async (keys, ctx, ...rest) => {
    if (ctx.batching !== false) return load(keys, ctx, ...rest);
    const perKey = await Promise.all(keys.map((key) => load([key], ctx, ...rest)));
    return perKey.flat();
  };
}
