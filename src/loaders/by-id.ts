/**
 * Rows by primary key, for the Pothos loadable types. Rows come back in any order and
 * missing ids are simply absent: the loadable refs declare `toKey` and `sort: true`, so the
 * dataloader plugin puts results in key order and fills the gaps with null.
 */
import { and, eq, getTableColumns, getTableName, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { preparedSelect } from '../db/prepared.ts';
import {
  type OrderItemRow,
  type OrderRow,
  orderItems,
  orders,
  products,
  type TenantRow,
  tenants,
  users,
} from '../db/schema.ts';

export async function loadTenants(
  tx: Db,
  tenantId: string | null,
  ids: readonly string[],
): Promise<TenantRow[]> {
  if (!tenantId) return [];
  // A viewer can only ever see its own tenant.
  if (!ids.includes(tenantId)) return [];
  return tx.select().from(tenants).where(eq(tenants.id, tenantId));
}

/** Placeholders of the prepared statements below: the caller's tenant and the keys. */
interface TenantAndKeys extends Record<string, unknown> {
  tenantId: string;
  ids: string[];
}

const tenantParam = sql.placeholder('tenantId');
const idsParam = sql.placeholder('ids');

/** A loader of one tenant table by id: what users, products and orders have in common. */
function byIdInTenant<Table extends typeof users | typeof products | typeof orders>(table: Table) {
  const select = preparedSelect<TenantAndKeys, Table['$inferSelect']>(
    `${getTableName(table)}_by_id`,
    (db) =>
      db
        .select()
        .from(table as typeof users)
        .where(and(eq(table.tenantId, tenantParam), sql`${table.id} = any(${idsParam})`)),
  );
  return async (
    tx: Db,
    tenantId: string | null,
    ids: readonly string[],
  ): Promise<Table['$inferSelect'][]> => {
    if (!tenantId) return [];
    return select(tx, { tenantId, ids: [...ids] });
  };
}

export const loadUsers = byIdInTenant(users);
export const loadProducts = byIdInTenant(products);
export const loadOrders = byIdInTenant(orders);

/**
 * Order items carry their order's currency, which their prices are in, and its customer,
 * who decides whether an item looked up by id is visible (the same rule as its order).
 */
export type OrderItemWithCurrency = OrderItemRow & {
  currency: OrderRow['currency'];
  orderCustomerId: OrderRow['customerId'];
};

const itemWithCurrency = {
  ...getTableColumns(orderItems),
  currency: orders.currency,
  orderCustomerId: orders.customerId,
};

function selectItems(db: Db, which: SQL) {
  return db
    .select(itemWithCurrency)
    .from(orderItems)
    .innerJoin(orders, eq(orders.id, orderItems.orderId))
    .where(and(eq(orderItems.tenantId, tenantParam), which));
}

const selectItemsById = preparedSelect<TenantAndKeys, OrderItemWithCurrency>(
  'order_items_by_id',
  (db) => selectItems(db, sql`${orderItems.id} = any(${idsParam})`),
);

const selectItemsOfOrders = preparedSelect<TenantAndKeys, OrderItemWithCurrency>(
  'order_items_by_order',
  (db) =>
    selectItems(db, sql`${orderItems.orderId} = any(${idsParam})`).orderBy(
      orderItems.orderId,
      orderItems.id,
    ),
);

export async function loadOrderItems(
  tx: Db,
  tenantId: string | null,
  ids: readonly string[],
): Promise<OrderItemWithCurrency[]> {
  if (!tenantId) return [];
  return selectItemsById(tx, { tenantId, ids: [...ids] });
}

/** All items of the given orders, flat; the caller groups them by `orderId`. */
export async function loadItemsOfOrders(
  tx: Db,
  tenantId: string | null,
  orderIds: readonly string[],
): Promise<OrderItemWithCurrency[]> {
  if (!tenantId) return [];
  return selectItemsOfOrders(tx, { tenantId, ids: [...orderIds] });
}
