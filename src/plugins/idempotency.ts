/**
 * Idempotent mutations keyed by `clientMutationId` (idempotency/with-idempotency.ts holds the
 * rules). Resolvers claim their key as they run; this plugin finishes the job around them:
 *
 * - in the mutation's own transaction, before COMMIT (`beforeCommit` of the tenant
 *   transaction), it stores the payload each claimed key answered and puts stored payloads in
 *   place of replayed fields, so a key and the writes it guards commit together or not at all;
 * - on the response, `Idempotent-Replayed: true` when any field was answered from its record.
 *
 * Listed right after the tenant transaction, whose extension point it uses.
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import {
  completeIdempotentMutations,
  IDEMPOTENT_REPLAYED_HEADER,
  wasReplayed,
} from '../idempotency/with-idempotency.ts';
import { beforeCommit } from './tenant-transaction.ts';

export function useIdempotency(): Plugin<RequestContext> {
  return {
    onExecute({ args }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      const context = args.contextValue as RequestContext;
      beforeCommit(context, (tx, result) => completeIdempotentMutations(context, tx, result));
    },
    onResponse({ request, response }) {
      if (wasReplayed(request)) response.headers.set(IDEMPOTENT_REPLAYED_HEADER, 'true');
    },
  };
}
