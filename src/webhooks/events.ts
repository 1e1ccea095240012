/**
 * The transactional outbox's write side. A mutation calls `emitWebhookEvent` with its own
 * transaction (the savepoint it changes rows in), so the event and the change commit or roll
 * back together: a refused mutation (userErrors roll its savepoint back) emits nothing, and an
 * idempotent replay, which does not execute, emits nothing new. One event row holds the body;
 * one delivery row per subscribed, enabled endpoint of the tenant is what the worker claims.
 */
import { and, arrayContains, eq } from 'drizzle-orm';
import { typeid } from 'typeid-js';
import type { Db } from '../db/client.ts';
import {
  type OrderRow,
  orderItems,
  type ProductRow,
  webhookDeliveries,
  webhookEndpoints,
  webhookEvents,
} from '../db/schema.ts';
import { IdPrefix, newId } from '../ids.ts';

/** Event types by their wire name (the `type` of a body). */
export const WEBHOOK_EVENT_TYPES = [
  'order.created',
  'order.confirmed',
  'order.cancelled',
  'product.updated',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * An event's id, the `webhook-id` of its deliveries: `msg_…`, as Standard Webhooks'
 * examples have it. Events are not Relay nodes (deliveries show their id), so it is no IdPrefix.
 */
export function newEventId(): string {
  return typeid('msg').toString();
}

/** The order as the API shows it to the tenant's admin (cost prices aside, which orders lack). */
export async function orderEventData(tx: Db, order: OrderRow) {
  const items = await tx
    .select()
    .from(orderItems)
    .where(and(eq(orderItems.tenantId, order.tenantId), eq(orderItems.orderId, order.id)))
    .orderBy(orderItems.id);
  const money = (amount: number) => ({ amount, currency: order.currency });
  return {
    order: {
      id: order.id,
      status: order.status,
      customer: { id: order.customerId },
      items: items.map((item) => ({
        id: item.id,
        product: { id: item.productId },
        quantity: item.quantity,
        unitPrice: money(item.unitPriceCents),
        subtotal: money(item.quantity * item.unitPriceCents),
      })),
      total: money(order.totalCents),
      note: order.note,
      version: order.version,
      createdAt: order.createdAt.toISOString(),
      updatedAt: order.updatedAt.toISOString(),
    },
  };
}

/** The product as the API shows it to the tenant's admin (with its cost price). */
export function productEventData(product: ProductRow) {
  return {
    product: {
      id: product.id,
      name: product.name,
      description: product.description,
      price: { amount: product.priceCents, currency: product.currency },
      costPrice: { amount: product.costCents, currency: product.currency },
      stock: product.stock,
      version: product.version,
      createdAt: product.createdAt.toISOString(),
      updatedAt: product.updatedAt.toISOString(),
    },
  };
}

/**
 * Writes the event and its deliveries in `tx`; nothing when no enabled endpoint of the tenant
 * subscribes to `type`. Returns the event id, or null.
 */
export async function emitWebhookEvent(
  tx: Db,
  tenantId: string,
  type: WebhookEventType,
  data: Record<string, unknown>,
): Promise<string | null> {
  const endpoints = await tx
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.tenantId, tenantId),
        eq(webhookEndpoints.enabled, true),
        arrayContains(webhookEndpoints.events, [type]),
      ),
    );
  if (endpoints.length === 0) return null;
  const id = newEventId();
  const createdAt = new Date();
  const payload = JSON.stringify({ type, timestamp: createdAt.toISOString(), data });
  await tx.insert(webhookEvents).values({ id, tenantId, type, payload, createdAt });
  await tx.insert(webhookDeliveries).values(
    endpoints.map((endpoint) => ({
      id: newId(IdPrefix.WebhookDelivery),
      tenantId,
      eventId: id,
      eventType: type,
      endpointId: endpoint.id,
      nextAttemptAt: createdAt,
      createdAt,
    })),
  );
  return id;
}
