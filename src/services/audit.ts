/**
 * The audit log (docs/privacy.md): one row per security-relevant change, written in the same
 * transaction as the change itself, so an event is recorded exactly when its change commits.
 * Ids only: who acted (a user or an API key), what they did, to which object; never personal
 * data, which an erasure could not reach here.
 */
import { principalIdOf, type Viewer } from '../auth/viewer.ts';
import type { Db } from '../db/client.ts';
import { auditEvents } from '../db/schema.ts';
import { newId, OtherIdPrefix } from '../ids.ts';

/** Every action the log records; the names are public (`AuditEvent.action`). */
export const AUDIT_ACTIONS = {
  'api_key.created': 'An API key was created.',
  'api_key.revoked': 'An API key was revoked.',
  'persisted_operation.registered': "An operation was added to the tenant's allow-list.",
  'webhook_endpoint.created': 'A webhook endpoint was registered.',
  'webhook_endpoint.updated': 'A webhook endpoint was changed.',
  'webhook_endpoint.deleted': 'A webhook endpoint was deleted.',
  'webhook_endpoint.secret_rotated': "A webhook endpoint's signing secret was rotated.",
  'webhook_delivery.redelivered': "A webhook delivery's event was sent again (redeliverWebhook).",
  'user.exported': "A user's data was exported (dataExport).",
  'user.erased': "A user's personal data was erased (eraseUser).",
} as const;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

/**
 * Query fields that write an audit event: a query selecting one runs in a READ WRITE
 * transaction (plugins/tenant-transaction.ts), so the event commits with the read it records.
 */
export const AUDITED_QUERY_FIELDS: ReadonlySet<string> = new Set(['dataExport']);

export interface AuditActor {
  readonly viewer: Viewer;
  readonly requestId: string;
}

export async function recordAuditEvent(
  tx: Db,
  actor: AuditActor,
  action: AuditAction,
  targetId: string | null,
): Promise<void> {
  await tx.insert(auditEvents).values({
    id: newId(OtherIdPrefix.AuditEvent),
    tenantId: actor.viewer.tenantId,
    actorId: principalIdOf(actor.viewer),
    action,
    targetId,
    requestId: actor.requestId,
  });
}
