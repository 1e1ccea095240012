import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type ApiKeyRow, apiKeys } from '../db/schema.ts';
import type { KeysetPage, SortKey } from './pagination.ts';

export const API_KEY_SORT_KEY = {
  name: 'createdAt',
  column: apiKeys.createdAt,
  kind: 'timestamp',
  value: (row) => row.createdAt,
} as const satisfies SortKey<ApiKeyRow>;

export function loadApiKeysPage(tx: Db, tenantId: string, page: KeysetPage): Promise<ApiKeyRow[]> {
  return tx
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), page.where))
    .orderBy(...page.orderBy)
    .limit(page.limit);
}

export async function loadApiKey(tx: Db, tenantId: string, id: string): Promise<ApiKeyRow | null> {
  const [row] = await tx
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id)))
    .limit(1);
  return row ?? null;
}
