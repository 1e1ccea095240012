/**
 * Order writes. Totals are computed here from the prices in the database, never taken from
 * the client; stock is checked and decremented by one guarded UPDATE, so two orders racing
 * for the last units cannot both succeed (the row lock makes the second re-check the guard).
 * createOrder locks its product rows in id order before updating them, so concurrent orders
 * for the same products queue up instead of deadlocking.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import {
  MAX_MONEY_CENTS,
  type OrderRow,
  type OrderStatus,
  orderItems,
  orders,
  products,
} from '../db/schema.ts';
import { type UserErrorShape, userError, versionConflict } from '../errors.ts';
import { isIdOf, newId } from '../ids.ts';
import { cleanMultiline, textLength } from '../validation.ts';

export const ORDER_LIMITS = {
  minItems: 1,
  maxItems: 50,
  minQuantity: 1,
  maxQuantity: 1000,
  maxNote: 280,
};

export interface OrderOutcome {
  order: OrderRow | null;
  userErrors: UserErrorShape[];
}

export interface CreateOrderInput {
  items: readonly { productId: string; quantity: number }[];
  note?: string | null;
}

function checkOrderInput(input: CreateOrderInput): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  const { items } = input;
  if (items.length < ORDER_LIMITS.minItems || items.length > ORDER_LIMITS.maxItems) {
    errors.push(
      userError(
        'BAD_USER_INPUT',
        `An order has ${ORDER_LIMITS.minItems}–${ORDER_LIMITS.maxItems} items; got ${items.length}.`,
        ['input', 'items'],
      ),
    );
  }
  items.forEach((item, index) => {
    if (!isIdOf('prod', item.productId)) {
      errors.push(
        userError('BAD_USER_INPUT', 'Not a product id.', [
          'input',
          'items',
          String(index),
          'productId',
        ]),
      );
    }
    if (item.quantity < ORDER_LIMITS.minQuantity || item.quantity > ORDER_LIMITS.maxQuantity) {
      errors.push(
        userError(
          'BAD_USER_INPUT',
          `Quantity must be ${ORDER_LIMITS.minQuantity}–${ORDER_LIMITS.maxQuantity}; got ${item.quantity}.`,
          ['input', 'items', String(index), 'quantity'],
        ),
      );
    }
  });
  if (input.note != null && textLength(cleanMultiline(input.note)) > ORDER_LIMITS.maxNote) {
    errors.push(
      userError('BAD_USER_INPUT', `A note is at most ${ORDER_LIMITS.maxNote} characters.`, [
        'input',
        'note',
      ]),
    );
  }
  return errors;
}

export async function createOrder(
  tx: Db,
  tenantId: string,
  customerId: string,
  input: CreateOrderInput,
): Promise<OrderOutcome> {
  const inputErrors = checkOrderInput(input);
  if (inputErrors.length > 0) return { order: null, userErrors: inputErrors };

  // The same product may appear on several lines; stock is checked against the sum.
  const wanted = new Map<string, number>();
  for (const item of input.items) {
    wanted.set(item.productId, (wanted.get(item.productId) ?? 0) + item.quantity);
  }
  const found = await tx
    .select({
      id: products.id,
      priceCents: products.priceCents,
      currency: products.currency,
      stock: products.stock,
    })
    .from(products)
    .where(and(eq(products.tenantId, tenantId), inArray(products.id, [...wanted.keys()])))
    // The products are locked in one fixed order (by id) before any of them is updated. The
    // guarded UPDATE below locks rows in whatever order its plan meets them, so two orders
    // for the same products (A, B and B, A) could each hold one lock and wait for the other:
    // a deadlock, which Postgres breaks by failing one of them with an internal error.
    .orderBy(products.id)
    .for('update');
  const byId = new Map(found.map((product) => [product.id, product]));

  const errors: UserErrorShape[] = [];
  input.items.forEach((item, index) => {
    const product = byId.get(item.productId);
    const field = ['input', 'items', String(index), 'productId'];
    if (!product) errors.push(userError('NOT_FOUND', 'No such product.', field));
    else if (product.stock < (wanted.get(item.productId) ?? 0)) {
      errors.push(
        userError('INSUFFICIENT_STOCK', `Only ${product.stock} left of this product.`, [
          'input',
          'items',
          String(index),
          'quantity',
        ]),
      );
    }
  });
  const currencies = new Set(found.map((product) => product.currency));
  if (currencies.size > 1) {
    // Named alphabetically, so the message does not depend on which product came first.
    const names = [...currencies].sort().join(' and ');
    errors.push(
      userError('CURRENCY_MISMATCH', `Items are priced in ${names}.`, ['input', 'items']),
    );
  }
  if (errors.length > 0) return { order: null, userErrors: errors };

  // The guard `stock >= wanted` is re-evaluated on the locked row, so a concurrent order
  // that took the stock first makes this UPDATE skip the row instead of going negative.
  const decrements = [...wanted].map(([id, quantity]) => sql`(${id}::text, ${quantity}::int)`);
  const decremented = await tx.execute<{ id: string }>(sql`
    update ${products} set stock = ${products.stock} - wanted.quantity
    from (values ${sql.join(decrements, sql`, `)}) as wanted(id, quantity)
    where ${products.tenantId} = ${tenantId} and ${products.id} = wanted.id
      and ${products.stock} >= wanted.quantity
    returning ${products.id}`);
  if (rowCount(decremented) !== wanted.size) {
    return {
      order: null,
      userErrors: [
        userError('INSUFFICIENT_STOCK', 'Another order took the remaining stock.', [
          'input',
          'items',
        ]),
      ],
    };
  }

  const lines = input.items.map((item) => ({
    ...item,
    unitPriceCents: byId.get(item.productId)!.priceCents,
  }));
  const total = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
  if (total > MAX_MONEY_CENTS) {
    return {
      order: null,
      userErrors: [
        userError('BAD_USER_INPUT', `The order total exceeds ${MAX_MONEY_CENTS} minor units.`, [
          'input',
          'items',
        ]),
      ],
    };
  }
  const now = new Date();
  const [order] = await tx
    .insert(orders)
    .values({
      id: newId('ord'),
      tenantId,
      customerId,
      status: 'pending',
      currency: found[0]!.currency,
      note: input.note != null ? cleanMultiline(input.note) || null : null,
      totalCents: total,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  await tx.insert(orderItems).values(
    lines.map((line) => ({
      id: newId('item'),
      tenantId,
      orderId: order!.id,
      productId: line.productId,
      quantity: line.quantity,
      unitPriceCents: line.unitPriceCents,
    })),
  );
  return { order: order!, userErrors: [] };
}

/** Which statuses each transition may start from. */
const TRANSITIONS = {
  confirm: { from: ['pending'], to: 'confirmed' },
  cancel: { from: ['pending', 'confirmed'], to: 'cancelled' },
} as const satisfies Record<string, { from: readonly OrderStatus[]; to: OrderStatus }>;

export async function transitionOrder(
  tx: Db,
  tenantId: string,
  input: { id: string; expectedVersion?: number | null },
  transition: keyof typeof TRANSITIONS,
): Promise<OrderOutcome> {
  const { from, to } = TRANSITIONS[transition];
  const [current] = await tx
    .select()
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), eq(orders.id, input.id)))
    .for('update');
  if (!current) {
    return { order: null, userErrors: [userError('NOT_FOUND', 'No such order.', ['input', 'id'])] };
  }
  if (input.expectedVersion != null && current.version !== input.expectedVersion) {
    return {
      order: current,
      userErrors: [versionConflict('order', input.expectedVersion, current.version)],
    };
  }
  if (!(from as readonly OrderStatus[]).includes(current.status)) {
    return {
      order: current,
      userErrors: [
        userError('INVALID_STATE', `A ${current.status} order cannot be ${to}.`, ['input', 'id']),
      ],
    };
  }
  const [updated] = await tx
    .update(orders)
    .set({ status: to, version: current.version + 1, updatedAt: new Date() })
    .where(and(eq(orders.tenantId, tenantId), eq(orders.id, current.id)))
    .returning();
  if (transition === 'cancel') {
    // Cancelling returns the order's units to stock. The products are locked in id order
    // first, as createOrder does, so a cancellation and an order can never deadlock.
    await tx
      .select({ id: products.id })
      .from(products)
      .where(
        and(
          eq(products.tenantId, tenantId),
          inArray(
            products.id,
            tx
              .select({ productId: orderItems.productId })
              .from(orderItems)
              .where(and(eq(orderItems.tenantId, tenantId), eq(orderItems.orderId, current.id))),
          ),
        ),
      )
      .orderBy(products.id)
      .for('update');
    await tx.execute(sql`
      update ${products} set stock = ${products.stock} + returned.quantity
      from (
        select ${orderItems.productId} as product_id, sum(${orderItems.quantity})::int as quantity
        from ${orderItems}
        where ${orderItems.tenantId} = ${tenantId} and ${orderItems.orderId} = ${current.id}
        group by ${orderItems.productId}
      ) as returned
      where ${products.tenantId} = ${tenantId} and ${products.id} = returned.product_id`);
  }
  return { order: updated!, userErrors: [] };
}

/** Row count of a raw `execute`, whose result shape differs between postgres.js and PGlite. */
function rowCount(result: unknown): number {
  if (Array.isArray(result)) return result.length;
  return (result as { rows: unknown[] }).rows.length;
}
