/**
 * Lists of orders: Query.order and Query.orders, User.orders, and what they share with
 * Viewer.orders (the arguments, the filter's validation, and the batch function that loads
 * one page of orders for many customers in one statement).
 */
import type { ArgBuilder } from '@pothos/core';
import { eq } from 'drizzle-orm';
import { allows } from '../auth/rules.ts';
import type { ExecutionContext } from '../context.ts';
import { type OrderRow, orders, type UserRow } from '../db/schema.ts';
import { badUserInput } from '../errors.ts';
import { isIdOf } from '../ids.ts';
import {
  batched,
  loadOrderPagesByCustomer,
  loadOrdersPage,
  ORDER_SORT_KEYS,
  type OrderListFilter,
  orderListConditions,
} from '../loaders/index.ts';
import { keysetConnection, planKeysetPage } from '../loaders/pagination.ts';
import { auth } from './auth.ts';
import { type BuilderTypes, builder } from './builder.ts';
import { connectionListSize } from './cost-directives.ts';
import { ORDER_READERS, Order, OrderConnection, OrderFilter, OrderOrder } from './order.ts';
import { User } from './user.ts';
import { requireViewer } from './viewer-access.ts';

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
      // (An API key is no customer: without the rule it sees none.)
      if (!allows(viewer, ORDER_READERS)) {
        conditions.push(eq(orders.customerId, viewer.userId ?? ''));
      }
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

builder.objectField(User, 'orders', (t) =>
  t.loadable({
    type: OrderConnection,
    nullable: true,
    description:
      'Orders this user placed, newest first by default. Needs `read:orders` and the member or admin role, or being this user.',
    ...auth({ ...ORDER_READERS, self: (user: UserRow) => user.id }, connectionListSize),
    // byPath: every user at the same place in the query shares the same arguments, so all
    // of them are loaded by one statement (see loadOrderPagesByCustomer).
    byPath: true,
    args: orderListArgs(t.arg),
    load: batched((userIds: string[], ctx, args) =>
      loadOrderConnectionsOfUsers(ctx, userIds, args),
    ),
    resolve: (user) => user.id,
  }),
);
