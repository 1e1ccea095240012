/**
 * How a mutation field runs its work: at most once per idempotency key (withIdempotency),
 * in a savepoint of its own that a userError rolls back (inSavepoint), as the request's
 * principal (the actor its audit events name). The resolver only says what the work is.
 */
import type { ExecutionContext } from '../context.ts';
import type { Db } from '../db/client.ts';
import type { MutationOutcome } from '../errors.ts';
import { type IdempotentMutation, withIdempotency } from '../idempotency/with-idempotency.ts';
import type { AuditActor } from '../services/audit.ts';
import { inSavepoint } from '../services/mutation.ts';
import { requireViewer } from './viewer-access.ts';

export function runMutation<T extends MutationOutcome>(
  ctx: ExecutionContext,
  call: IdempotentMutation,
  work: (tx: Db, actor: AuditActor) => Promise<T>,
): Promise<T> {
  const actor: AuditActor = { viewer: requireViewer(ctx), requestId: ctx.requestId };
  return withIdempotency(ctx, call, (idempotent) =>
    inSavepoint(idempotent, (tx) => work(tx, actor)),
  );
}
