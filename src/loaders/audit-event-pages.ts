import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type AuditEventRow, auditEvents } from '../db/schema.ts';
import type { KeysetPage, SortKey } from './pagination.ts';

export const AUDIT_EVENT_SORT_KEY = {
  name: 'createdAt',
  column: auditEvents.createdAt,
  kind: 'timestamp',
  value: (row) => row.createdAt,
} as const satisfies SortKey<AuditEventRow>;

export function loadAuditEventsPage(
  tx: Db,
  tenantId: string,
  page: KeysetPage,
): Promise<AuditEventRow[]> {
  return tx
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.tenantId, tenantId), page.where))
    .orderBy(...page.orderBy)
    .limit(page.limit);
}
