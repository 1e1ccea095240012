/**
 * The order mutations: createOrder, confirmOrder and cancelOrder. Each is idempotent by its
 * client key and runs in a savepoint; the business rules are in services/orders.ts.
 */

import { allows } from '../auth/rules.ts';
import type { ExecutionContext } from '../context.ts';
import { userError } from '../errors.ts';
import { withIdempotency } from '../idempotency/with-idempotency.ts';
import { isIdOf } from '../ids.ts';
import { inSavepoint } from '../services/mutation.ts';
import {
  createOrder,
  ORDER_LIMITS,
  type OrderOutcome,
  transitionOrder,
} from '../services/orders.ts';
import { emitWebhookEvent, orderEventData } from '../webhooks/events.ts';
import { auth } from './auth.ts';
import { type BuilderTypes, builder } from './builder.ts';
import { userErrorsField } from './common.ts';
import { CREATE_ORDER_RATE_LIMIT, MUTATION_COST } from './cost-directives.ts';
import { ORDER_READERS, Order } from './order.ts';
import { runMutation } from './run-mutation.ts';
import { requireUser, requireViewer } from './viewer-access.ts';

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
      const customerId = requireUser(viewer, 'An API key places no orders: an order is a user’s.');
      return runMutation(ctx, { input, info, required: true }, async (tx) => {
        const outcome = await createOrder(tx, viewer.tenantId, customerId, input);
        // In the savepoint: refused (userErrors) or rolled back, the event goes too.
        if (outcome.order && outcome.userErrors.length === 0) {
          await emitWebhookEvent(
            tx,
            viewer.tenantId,
            'order.created',
            await orderEventData(tx, outcome.order),
          );
        }
        return outcome;
      });
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
    if (!visible) {
      return {
        order: null,
        userErrors: [userError('NOT_FOUND', 'No such order.', ['input', 'id'])],
      };
    }
    if (outcome.order && outcome.userErrors.length === 0) {
      await emitWebhookEvent(
        tx,
        viewer.tenantId,
        kind === 'confirm' ? 'order.confirmed' : 'order.cancelled',
        await orderEventData(tx, outcome.order),
      );
    }
    return outcome;
  });
}
