/**
 * Webhook endpoint writes: registration (with the SSRF check of webhooks/url-policy.ts, which
 * resolves the host), changes, deletion, secret rotation and redelivery. Each returns
 * userErrors for refused input, like every mutation, and runs in the caller's savepoint. Each
 * change that succeeds is an audit event, written in that savepoint (services/audit.ts).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import {
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
  webhookDeliveries,
  webhookEndpoints,
} from '../db/schema.ts';
import { type UserErrorShape, userError } from '../errors.ts';
import { IdPrefix, isIdOf, newId } from '../ids.ts';
import { cleanMultiline, textLength } from '../validation.ts';
import type { WebhookEventType } from '../webhooks/events.ts';
import { newSigningSecret } from '../webhooks/signing.ts';
import {
  parseWebhookUrl,
  type Resolver,
  resolveWebhookAddress,
  type UrlPolicy,
  UrlRefusedError,
} from '../webhooks/url-policy.ts';
import { type AuditActor, recordAuditEvent } from './audit.ts';

export const WEBHOOK_LIMITS = { maxUrl: 2048, maxDescription: 500 };

/** How long the previous secret keeps signing after a rotation. */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

export interface EndpointOutcome {
  webhookEndpoint: WebhookEndpointRow | null;
  /** Returned by creation and rotation only, and never again. */
  signingSecret: string | null;
  userErrors: UserErrorShape[];
}

export interface UrlCheck {
  policy: UrlPolicy;
  resolve?: Resolver;
}

async function checkUrl(url: string, check: UrlCheck): Promise<UserErrorShape | null> {
  const field = ['input', 'url'];
  if (textLength(url) > WEBHOOK_LIMITS.maxUrl) {
    return userError(
      'BAD_USER_INPUT',
      `A URL is at most ${WEBHOOK_LIMITS.maxUrl} characters.`,
      field,
    );
  }
  try {
    await resolveWebhookAddress(parseWebhookUrl(url, check.policy), check.policy, check.resolve);
    return null;
  } catch (error) {
    if (!(error instanceof UrlRefusedError)) throw error;
    return userError('BAD_USER_INPUT', error.message, field);
  }
}

function checkEvents(events: readonly WebhookEventType[]): UserErrorShape | null {
  return events.length === 0
    ? userError('BAD_USER_INPUT', 'Subscribe to at least one event type.', ['input', 'events'])
    : null;
}

function cleanDescription(description: string | null | undefined): string | UserErrorShape {
  const cleaned = description == null ? '' : cleanMultiline(description);
  return textLength(cleaned) > WEBHOOK_LIMITS.maxDescription
    ? userError(
        'BAD_USER_INPUT',
        `A description is at most ${WEBHOOK_LIMITS.maxDescription} characters.`,
        ['input', 'description'],
      )
    : cleaned;
}

const notFound = (field = 'id') =>
  userError('NOT_FOUND', 'No such webhook endpoint.', ['input', field]);

export async function createWebhookEndpoint(
  tx: Db,
  actor: AuditActor,
  input: { url: string; events: readonly WebhookEventType[]; description?: string | null },
  check: UrlCheck,
): Promise<EndpointOutcome> {
  const description = cleanDescription(input.description);
  const errors = [
    await checkUrl(input.url, check),
    checkEvents(input.events),
    typeof description === 'string' ? null : description,
  ].filter((error): error is UserErrorShape => error !== null);
  if (errors.length > 0) return { webhookEndpoint: null, signingSecret: null, userErrors: errors };
  const secret = newSigningSecret();
  const [row] = await tx
    .insert(webhookEndpoints)
    .values({
      id: newId(IdPrefix.WebhookEndpoint),
      tenantId: actor.viewer.tenantId,
      url: input.url,
      description: description as string,
      events: [...new Set(input.events)],
      secret,
    })
    .returning();
  await recordAuditEvent(tx, actor, 'webhook_endpoint.created', row!.id);
  return { webhookEndpoint: row!, signingSecret: secret, userErrors: [] };
}

export async function updateWebhookEndpoint(
  tx: Db,
  actor: AuditActor,
  input: {
    id: string;
    url?: string | null;
    events?: readonly WebhookEventType[] | null;
    description?: string | null;
    enabled?: boolean | null;
  },
  check: UrlCheck,
): Promise<EndpointOutcome> {
  if (!isIdOf(IdPrefix.WebhookEndpoint, input.id)) {
    return {
      webhookEndpoint: null,
      signingSecret: null,
      userErrors: [userError('BAD_USER_INPUT', 'Not a webhook endpoint id.', ['input', 'id'])],
    };
  }
  const description = input.description != null ? cleanDescription(input.description) : null;
  const errors = [
    input.url != null ? await checkUrl(input.url, check) : null,
    input.events != null ? checkEvents(input.events) : null,
    description !== null && typeof description !== 'string' ? description : null,
  ].filter((error): error is UserErrorShape => error !== null);
  if (errors.length > 0) return { webhookEndpoint: null, signingSecret: null, userErrors: errors };
  const tenantId = actor.viewer.tenantId;
  const [row] = await tx
    .update(webhookEndpoints)
    .set({
      ...(input.url != null && { url: input.url }),
      ...(input.events != null && { events: [...new Set(input.events)] }),
      ...(typeof description === 'string' && { description }),
      ...(input.enabled != null && { enabled: input.enabled }),
      updatedAt: new Date(),
    })
    .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, input.id)))
    .returning();
  if (!row) return { webhookEndpoint: null, signingSecret: null, userErrors: [notFound()] };
  await recordAuditEvent(tx, actor, 'webhook_endpoint.updated', row.id);
  return { webhookEndpoint: row, signingSecret: null, userErrors: [] };
}

export async function deleteWebhookEndpoint(
  tx: Db,
  actor: AuditActor,
  id: string,
): Promise<{ deletedWebhookEndpointId: string | null; userErrors: UserErrorShape[] }> {
  if (!isIdOf(IdPrefix.WebhookEndpoint, id)) {
    return {
      deletedWebhookEndpointId: null,
      userErrors: [userError('BAD_USER_INPUT', 'Not a webhook endpoint id.', ['input', 'id'])],
    };
  }
  // Its deliveries go with it (ON DELETE CASCADE): nothing is sent to a deleted endpoint.
  const deleted = await tx
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, actor.viewer.tenantId), eq(webhookEndpoints.id, id)))
    .returning({ id: webhookEndpoints.id });
  if (deleted.length === 0) return { deletedWebhookEndpointId: null, userErrors: [notFound()] };
  await recordAuditEvent(tx, actor, 'webhook_endpoint.deleted', id);
  return { deletedWebhookEndpointId: id, userErrors: [] };
}

/** A new secret; the current one keeps signing next to it for SECRET_ROTATION_OVERLAP_MS. */
export async function rotateWebhookSecret(
  tx: Db,
  actor: AuditActor,
  id: string,
): Promise<EndpointOutcome> {
  if (!isIdOf(IdPrefix.WebhookEndpoint, id)) {
    return {
      webhookEndpoint: null,
      signingSecret: null,
      userErrors: [userError('BAD_USER_INPUT', 'Not a webhook endpoint id.', ['input', 'id'])],
    };
  }
  const secret = newSigningSecret();
  const [row] = await tx
    .update(webhookEndpoints)
    .set({
      previousSecret: sql`${webhookEndpoints.secret}`,
      previousSecretExpiresAt: new Date(Date.now() + SECRET_ROTATION_OVERLAP_MS),
      secret,
      updatedAt: new Date(),
    })
    .where(and(eq(webhookEndpoints.tenantId, actor.viewer.tenantId), eq(webhookEndpoints.id, id)))
    .returning();
  if (!row) return { webhookEndpoint: null, signingSecret: null, userErrors: [notFound()] };
  await recordAuditEvent(tx, actor, 'webhook_endpoint.secret_rotated', row.id);
  return { webhookEndpoint: row, signingSecret: secret, userErrors: [] };
}

/**
 * Sends a delivery's event to its endpoint again, as a new delivery with fresh attempts (the
 * old one keeps its history). The event id, and so the `webhook-id`, stays the same: a
 * receiver that processed it already recognises it.
 */
export async function redeliverWebhook(
  tx: Db,
  actor: AuditActor,
  deliveryId: string,
): Promise<{ webhookDelivery: WebhookDeliveryRow | null; userErrors: UserErrorShape[] }> {
  const tenantId = actor.viewer.tenantId;
  const field = ['input', 'deliveryId'];
  if (!isIdOf(IdPrefix.WebhookDelivery, deliveryId)) {
    return {
      webhookDelivery: null,
      userErrors: [userError('BAD_USER_INPUT', 'Not a webhook delivery id.', field)],
    };
  }
  const [original] = await tx
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.id, deliveryId)));
  if (!original) {
    return {
      webhookDelivery: null,
      userErrors: [userError('NOT_FOUND', 'No such webhook delivery.', field)],
    };
  }
  const now = new Date();
  const [row] = await tx
    .insert(webhookDeliveries)
    .values({
      id: newId(IdPrefix.WebhookDelivery),
      tenantId,
      eventId: original.eventId,
      eventType: original.eventType,
      endpointId: original.endpointId,
      nextAttemptAt: now,
      createdAt: now,
    })
    .returning();
  // Recorded against the delivery asked for; the new one shares its event.
  await recordAuditEvent(tx, actor, 'webhook_delivery.redelivered', deliveryId);
  return { webhookDelivery: row!, userErrors: [] };
}
