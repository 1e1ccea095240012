import { and, eq, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type Role, type UserRow, users } from '../db/schema.ts';
import type { KeysetPage, SortKey } from './pagination.ts';

export const USER_SORT_KEYS = {
  CREATED_AT: {
    name: 'createdAt',
    column: users.createdAt,
    kind: 'timestamp',
    value: (row) => row.createdAt,
  },
} as const satisfies Record<string, SortKey<UserRow>>;

export function userListConditions(tenantId: string, filter: { role?: Role | null }): SQL[] {
  const conditions = [eq(users.tenantId, tenantId)];
  if (filter.role) conditions.push(eq(users.role, filter.role));
  return conditions;
}

export function loadUsersPage(tx: Db, conditions: SQL[], page: KeysetPage): Promise<UserRow[]> {
  return tx
    .select()
    .from(users)
    .where(and(...conditions, page.where))
    .orderBy(...page.orderBy)
    .limit(page.limit)
    .prepare('users_page')
    .execute();
}
