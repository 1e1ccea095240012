import type { ArgBuilder } from '@pothos/core';
import { eq } from 'drizzle-orm';
import { type AuthRule, allows, auth } from '../auth/rules.ts';
import type { ExecutionContext } from '../context.ts';
import { type OrderRow, orders } from '../db/schema.ts';
import { badUserInput } from '../errors.ts';
import { withIdempotency } from '../idempotency/with-idempotency.ts';
import { isIdOf } from '../ids.ts';
import {
  batched,
  loadItemsOfOrders,
  loadOrderItems,
  loadOrderPagesByCustomer,
  loadOrders,
  loadOrdersPage,
  ORDER_SORT_KEYS,
  type OrderItemWithCurrency,
  type OrderListFilter,
  orderListConditions,
} from '../loaders/index.ts';
import { inSavepoint } from '../services/mutation.ts';
import {
  createOrder,
  ORDER_LIMITS,
  type OrderOutcome,
  transitionOrder,
} from '../services/orders.ts';
import { type BuilderTypes, builder } from './builder.ts';
import {
  Money,
  OrderDirectionEnum,
  OrderStatusEnum,
  userError,
  userErrorsField,
} from './common.ts';
import {
  assumedListSize,
  CREATE_ORDER_RATE_LIMIT,
  connectionListSize,
  MUTATION_COST,
  ORDER_ITEMS_ASSUMED_SIZE,
} from './cost-directives.ts';
import { keysetConnection, planKeysetPage } from './pagination.ts';
import { Product } from './product.ts';
import { User } from './user.ts';
import { requireViewer, tenantIdOf } from './viewer-access.ts';

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

const OrderItemInput = builder.inputType('OrderItemInput', {
  description: 'One line of a new order.',
  fields: (t) => ({
    productId: t.id({ required: true, description: 'The product (`prod_…`).' }),
    quantity: t.int({
      required: true,
      description: `Units, ${ORDER_LIMITS.minQuantity}–${ORDER_LIMITS.maxQuantity}.`,
    }),
  }),
});

export const OrderConnection = builder.connectionObject(
  { type: Order, name: 'OrderConnection', description: 'A page of orders.' },
  { name: 'OrderEdge', description: 'An order and its cursor.' },
);

export interface OrderListArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  filter?: {
    status?: OrderRow['status'][] | null;
    customerId?: string | null;
    createdAfter?: Date | null;
    createdBefore?: Date | null;
  } | null;
  orderBy?: { field: keyof typeof ORDER_SORT_KEYS; direction: 'asc' | 'desc' } | null;
}

/** Validates the filter arguments shared by every order list. */
export function orderListFilter(args: OrderListArgs): OrderListFilter {
  const filter = args.filter ?? {};
  if (filter.customerId != null && !isIdOf('usr', filter.customerId)) {
    throw badUserInput('`customerId` is not a user id.', ['filter', 'customerId']);
  }
  return { ...filter, statuses: filter.status };
}

export function orderSort(args: OrderListArgs) {
  return {
    sort: ORDER_SORT_KEYS[args.orderBy?.field ?? 'CREATED_AT'],
    direction: args.orderBy?.direction ?? ('desc' as const),
  };
}

/** The arguments of every order list: Query.orders, User.orders, Viewer.orders. */
export function orderListArgs(arg: ArgBuilder<BuilderTypes>) {
  return {
    ...arg.connectionArgs(),
    filter: arg({ type: OrderFilter, description: 'Conditions orders must meet.' }),
    orderBy: arg({ type: OrderOrder, description: 'Sort order (default: newest first).' }),
  };
}

/**
 * The same page of orders for each of many customers, in one statement: the batch function
 * behind User.orders and Viewer.orders.
 */
export async function loadOrderConnectionsOfUsers(
  ctx: ExecutionContext,
  userIds: readonly string[],
  args: OrderListArgs,
) {
  const viewer = requireViewer(ctx);
  const { page, toConnection } = planKeysetPage({
    args,
    limits: ctx.config.pagination,
    ...orderSort(args),
    idColumn: orders.id,
  });
  const conditions = orderListConditions(viewer.tenantId, orderListFilter(args));
  const pages = await loadOrderPagesByCustomer(ctx.tx, conditions, userIds, page);
  return Promise.all(pages.map(toConnection));
}

builder.queryFields((t) => ({
  order: t.field({
    type: Order,
    nullable: true,
    description: 'An order of your tenant by id; null when there is no such order.',
    ...auth({}),
    args: { id: t.arg.id({ required: true, description: 'The order id (`ord_…`).' }) },
    resolve: (_root, args) => (isIdOf('ord', args.id) ? args.id : null),
  }),
  orders: t.field({
    type: OrderConnection,
    nullable: true,
    description:
      "Your tenant's orders (members and admins with `read:orders`) or your own orders (everyone else), newest first by default.",
    ...auth({}, connectionListSize),
    args: orderListArgs(t.arg),
    resolve: (_root, args, ctx) => {
      const viewer = requireViewer(ctx);
      const filter = orderListFilter(args);
      const conditions = orderListConditions(viewer.tenantId, filter);
      // Without Order's rule a caller's list is its own orders, whatever the filter says.
      if (!allows(viewer, ORDER_READERS)) conditions.push(eq(orders.customerId, viewer.userId));
      return keysetConnection({
        args,
        limits: ctx.config.pagination,
        ...orderSort(args),
        idColumn: orders.id,
        fetch: (page) => loadOrdersPage(ctx.tx, conditions, page),
      });
    },
  }),
}));

/** Payload fields shared by the order mutations. */
function orderPayloadOptions(name: string, description: string) {
  return {
    name,
    description,
    outputFields: (t: OrderPayloadFieldBuilder) => ({
      order: t.field({
        type: Order,
        nullable: true,
        description: 'The order after the change; on CONFLICT or INVALID_STATE, its current state.',
        resolve: (payload: OrderOutcome) => payload.order,
      }),
      userErrors: userErrorsField(t),
    }),
  };
}
type OrderPayloadFieldBuilder = PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, OrderOutcome>;

const OrderTransitionInputFields = (
  t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>,
) => ({
  id: t.id({ required: true, description: 'The order to change (`ord_…`).' }),
  expectedVersion: t.int({
    description: 'Apply only if the order is still at this version (optimistic concurrency).',
  }),
});

builder.relayMutationField(
  'createOrder',
  {
    name: 'CreateOrderInput',
    description: `A new order for the caller: ${ORDER_LIMITS.minItems}–${ORDER_LIMITS.maxItems} lines of products in one currency.`,
    inputFields: (t) => ({
      items: t.field({
        type: [OrderItemInput],
        required: true,
        description: `The lines of the order, ${ORDER_LIMITS.minItems}–${ORDER_LIMITS.maxItems}.`,
      }),
      note: t.string({
        description: `A note to the seller, at most ${ORDER_LIMITS.maxNote} characters.`,
      }),
    }),
  },
  {
    description:
      'Places an order for the caller. Checks and reserves stock atomically; the total is computed by the server. Needs `write:orders`.',
    // Nullable so that a denied mutation is null at its path, not the whole response
    // (later mutations of the same document still run).
    nullable: true,
    ...auth(
      { requires: ['write:orders'] },
      { rateLimit: CREATE_ORDER_RATE_LIMIT, ...MUTATION_COST },
    ),
    resolve: (_root, { input }, ctx, info) => {
      const viewer = requireViewer(ctx);
      return withIdempotency(ctx, { input, info, required: true }, (idempotent) =>
        inSavepoint(idempotent, (tx) => createOrder(tx, viewer.tenantId, viewer.userId, input)),
      );
    },
  },
  orderPayloadOptions('CreateOrderPayload', 'The result of createOrder.'),
);

builder.relayMutationField(
  'confirmOrder',
  {
    name: 'ConfirmOrderInput',
    description: 'Which pending order to confirm.',
    inputFields: OrderTransitionInputFields,
  },
  {
    description:
      "Confirms a pending order. Needs `write:orders`; someone else's order is NOT_FOUND unless you may read it.",
    nullable: true,
    ...auth({ requires: ['write:orders'] }, MUTATION_COST),
    resolve: (_root, { input }, ctx, info) =>
      withIdempotency(ctx, { input, info }, (tx) => transition(ctx, tx, input, 'confirm')),
  },
  orderPayloadOptions('ConfirmOrderPayload', 'The result of confirmOrder.'),
);

builder.relayMutationField(
  'cancelOrder',
  {
    name: 'CancelOrderInput',
    description: 'Which order to cancel.',
    inputFields: OrderTransitionInputFields,
  },
  {
    description:
      'Cancels a pending or confirmed order and returns its units to stock. Shipped orders cannot be cancelled. Needs `write:orders`.',
    nullable: true,
    ...auth({ requires: ['write:orders'] }, MUTATION_COST),
    resolve: (_root, { input }, ctx, info) =>
      withIdempotency(ctx, { input, info }, (tx) => transition(ctx, tx, input, 'cancel')),
  },
  orderPayloadOptions('CancelOrderPayload', 'The result of cancelOrder.'),
);

function transition(
  ctx: ExecutionContext,
  idempotent: ExecutionContext['tx'],
  input: { id: string; expectedVersion?: number | null },
  kind: 'confirm' | 'cancel',
): Promise<OrderOutcome> {
  const viewer = requireViewer(ctx);
  if (!isIdOf('ord', input.id)) {
    return Promise.resolve({
      order: null,
      userErrors: [userError('BAD_USER_INPUT', 'Not an order id.', ['input', 'id'])],
    });
  }
  return inSavepoint(idempotent, async (tx) => {
    const outcome = await transitionOrder(tx, viewer.tenantId, input, kind);
    // Someone else's order is "not found" unless the viewer may read the tenant's orders.
    const visible =
      outcome.order === null || allows(viewer, ORDER_READERS, outcome.order.customerId);
    return visible
      ? outcome
      : { order: null, userErrors: [userError('NOT_FOUND', 'No such order.', ['input', 'id'])] };
  });
}
