import { and, eq, gte, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type OrderRow, type OrderStatus, orders } from '../db/schema.ts';
import type { KeysetPage, SortKey } from './pagination.ts';

export const ORDER_SORT_KEYS = {
  CREATED_AT: {
    name: 'createdAt',
    column: orders.createdAt,
    kind: 'timestamp',
    value: (row) => row.createdAt,
  },
  TOTAL: { name: 'total', column: orders.totalCents, kind: 'int', value: (row) => row.totalCents },
} as const satisfies Record<string, SortKey<OrderRow>>;

export interface OrderListFilter {
  statuses?: readonly OrderStatus[] | null;
  customerId?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

/** WHERE conditions for an order list: always the tenant, then the caller's filters. */
export function orderListConditions(tenantId: string, filter: OrderListFilter): SQL[] {
  const conditions: (SQL | undefined)[] = [
    eq(orders.tenantId, tenantId),
    filter.statuses?.length ? inArray(orders.status, [...filter.statuses]) : undefined,
    filter.customerId ? eq(orders.customerId, filter.customerId) : undefined,
    filter.createdAfter ? gte(orders.createdAt, filter.createdAfter) : undefined,
    filter.createdBefore ? lt(orders.createdAt, filter.createdBefore) : undefined,
  ];
  return conditions.filter((condition): condition is SQL => condition !== undefined);
}

export function loadOrdersPage(tx: Db, conditions: SQL[], page: KeysetPage): Promise<OrderRow[]> {
  return tx
    .select()
    .from(orders)
    .where(and(...conditions, page.where))
    .orderBy(...page.orderBy)
    .limit(page.limit)
    .prepare('orders_page')
    .execute();
}

/**
 * The same page of orders for many customers in one statement: rank each customer's
 * orders with a window function and keep the first `limit` of each. This is what keeps
 * `users { orders(first: 10) }` at one query however many users the page has.
 */
export async function loadOrderPagesByCustomer(
  tx: Db,
  conditions: SQL[],
  customerIds: readonly string[],
  page: KeysetPage,
): Promise<OrderRow[][]> {
  const ranked = tx
    .select({
      id: orders.id,
      rank: sql<number>`row_number() over (partition by ${orders.customerId} order by ${sql.join(page.orderBy, sql`, `)})`.as(
        'rank',
      ),
    })
    .from(orders)
    .where(
      and(
        ...conditions,
        sql`${orders.customerId} = any(${sql.param([...customerIds])})`,
        page.where,
      ),
    )
    .as('ranked');
  const rows = await tx
    .select({ order: orders })
    .from(ranked)
    .innerJoin(orders, eq(orders.id, ranked.id))
    .where(sql`${ranked.rank} <= ${page.limit}`)
    .orderBy(ranked.rank);
  const byCustomer = new Map<string, OrderRow[]>(customerIds.map((id) => [id, []]));
  for (const { order } of rows) byCustomer.get(order.customerId)?.push(order);
  return customerIds.map((id) => byCustomer.get(id) ?? []);
}
