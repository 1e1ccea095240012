/**
 * Orders and their lines as GraphQL types: Order, OrderItem, their sort and filter inputs and
 * the connection. Lists are in order-lists.ts, mutations in order-mutations.ts.
 */
import { type AuthRule, allows } from '../auth/rules.ts';
import type { ExecutionContext } from '../context.ts';
import type { OrderRow } from '../db/schema.ts';
import {
  batched,
  loadItemsOfOrders,
  loadOrderItems,
  loadOrders,
  type OrderItemWithCurrency,
} from '../loaders/index.ts';
import { ORDER_LIMITS } from '../services/orders.ts';
import { auth } from './auth.ts';
import { builder } from './builder.ts';
import { Money, OrderDirectionEnum, OrderStatusEnum } from './common.ts';
import { assumedListSize, ORDER_ITEMS_ASSUMED_SIZE } from './cost-directives.ts';
import { Product } from './product.ts';
import { User } from './user.ts';
import { tenantIdOf } from './viewer-access.ts';

/**
 * Who may read other customers' orders: `read:orders` and at least the member role. Your own
 * orders are always visible (allowSelf on Order and User.orders).
 */
export const ORDER_READERS: AuthRule = { requires: ['read:orders'], roles: ['member', 'admin'] };

/** The same rule as Order's `@auth`, for loaders and lists that hide rows instead of failing. */
function mayReadOrderOf(ctx: ExecutionContext, customerId: string): boolean {
  return allows(ctx.viewer, ORDER_READERS, customerId);
}

export const Order = builder.loadableNodeRef<OrderRow>('Order', {
  id: { resolve: (order) => order.id },
  // An order the viewer may not read is "not found" (null), like another tenant's: a
  // FORBIDDEN error from the type's authScopes would confirm that the id exists.
  load: batched(async (ids: string[], ctx) =>
    (await loadOrders(ctx.tx, tenantIdOf(ctx), ids)).filter((order) =>
      mayReadOrderOf(ctx, order.customerId),
    ),
  ),
  toKey: (order) => order.id,
  sort: true,
});

/** An item carries its order's currency (for Money) and customer (for visibility). */
type OrderItemShape = OrderItemWithCurrency;

export const OrderItem = builder.loadableNodeRef<OrderItemShape>('OrderItem', {
  id: { resolve: (item) => item.id },
  // By id (node/nodes), an item is visible exactly when its order is, so the lines of other
  // customers' orders cannot be read through `node(id: "item_…")`.
  load: batched(async (ids: string[], ctx) =>
    (await loadOrderItems(ctx.tx, tenantIdOf(ctx), ids)).filter((item) =>
      mayReadOrderOf(ctx, item.orderCustomerId),
    ),
  ),
  toKey: (item) => item.id,
  sort: true,
});

Order.implement({
  description:
    "A customer order. Everyone sees their own orders; members and admins with `read:orders` see the tenant's.",
  ...auth({ ...ORDER_READERS, self: (order: OrderRow) => order.customerId }),
  fields: (t) => ({
    status: t.expose('status', { type: OrderStatusEnum, description: 'Where the order is.' }),
    customer: t.field({
      type: User,
      description: 'Who placed the order.',
      resolve: (order) => order.customerId,
    }),
    items: t.loadableGroup({
      type: OrderItem,
      description: `The ordered products and quantities (${ORDER_LIMITS.minItems}–${ORDER_LIMITS.maxItems} lines).`,
      directives: assumedListSize(ORDER_ITEMS_ASSUMED_SIZE),
      load: batched((orderIds: string[], ctx) =>
        loadItemsOfOrders(ctx.tx, tenantIdOf(ctx), orderIds),
      ),
      group: (item) => (item as OrderItemShape).orderId,
      resolve: (order) => order.id,
    }),
    total: t.field({
      type: Money,
      description: 'Sum of the item subtotals, computed by the server.',
      resolve: (order) => ({ amount: order.totalCents, currency: order.currency }),
    }),
    note: t.exposeString('note', {
      nullable: true,
      description: `The customer note, at most ${ORDER_LIMITS.maxNote} characters.`,
    }),
    version: t.exposeInt('version', {
      description: 'Incremented by every change; pass it as `expectedVersion`.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was placed.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

OrderItem.implement({
  description: 'One line of an order.',
  fields: (t) => ({
    product: t.field({
      type: Product,
      nullable: true,
      description: 'The product ordered (null if you may not read products).',
      resolve: (item) => item.productId,
    }),
    quantity: t.exposeInt('quantity', {
      description: `Units ordered, ${ORDER_LIMITS.minQuantity}–${ORDER_LIMITS.maxQuantity}.`,
    }),
    unitPrice: t.field({
      type: Money,
      description: 'Price of one unit when the order was placed.',
      resolve: (item) => ({ amount: item.unitPriceCents, currency: item.currency }),
    }),
    subtotal: t.field({
      type: Money,
      description: 'quantity × unitPrice.',
      resolve: (item) => ({ amount: item.quantity * item.unitPriceCents, currency: item.currency }),
    }),
  }),
});

const OrderOrderField = builder.enumType('OrderOrderField', {
  description: 'What orders can be sorted by.',
  values: {
    CREATED_AT: { value: 'CREATED_AT', description: 'When the order was placed.' },
    TOTAL: { value: 'TOTAL', description: 'Total amount.' },
  } as const,
});

export const OrderOrder = builder.inputType('OrderOrder', {
  description: 'How to sort orders. Ties are broken by id, so pages never overlap.',
  fields: (t) => ({
    field: t.field({ type: OrderOrderField, required: true, description: 'Sort key.' }),
    direction: t.field({
      type: OrderDirectionEnum,
      required: true,
      defaultValue: 'desc',
      description: 'Sort direction.',
    }),
  }),
});

export const OrderFilter = builder.inputType('OrderFilter', {
  description: 'Narrows an order list. All given conditions must hold.',
  fields: (t) => ({
    status: t.field({
      type: [OrderStatusEnum],
      description: 'Only orders in one of these statuses.',
    }),
    customerId: t.id({ description: 'Only orders placed by this user (`usr_…`).' }),
    createdAfter: t.field({
      type: 'DateTime',
      description: 'Only orders placed at or after this time.',
    }),
    createdBefore: t.field({
      type: 'DateTime',
      description: 'Only orders placed before this time.',
    }),
  }),
});

export const OrderConnection = builder.connectionObject(
  { type: Order, name: 'OrderConnection', description: 'A page of orders.' },
  { name: 'OrderEdge', description: 'An order and its cursor.' },
);
