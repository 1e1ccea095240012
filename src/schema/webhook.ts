/**
 * Outbound webhooks (Standard Webhooks): a tenant's admin registers endpoints that receive the
 * tenant's order and product events, signed with the endpoint's secret. Events are written to
 * the outbox in the transaction of the change (webhooks/events.ts) and sent by the delivery
 * worker (webhooks/worker.ts). Everything here needs the admin role and `admin:webhooks`.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { type AuthRule, allows } from '../auth/rules.ts';
import type { ExecutionContext } from '../context.ts';
import {
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
  webhookDeliveries,
  webhookEndpoints,
} from '../db/schema.ts';
import { batched } from '../loaders/index.ts';
import { keysetConnection, type SortKey } from '../loaders/pagination.ts';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  type EndpointOutcome,
  redeliverWebhook,
  rotateWebhookSecret,
  SECRET_ROTATION_OVERLAP_MS,
  type UrlCheck,
  updateWebhookEndpoint,
  WEBHOOK_LIMITS,
} from '../services/webhooks.ts';
import type { WebhookEventType } from '../webhooks/events.ts';
import { auth } from './auth.ts';
import { type BuilderTypes, builder } from './builder.ts';
import { userErrorsField } from './common.ts';
import { connectionListSize, MUTATION_COST } from './cost-directives.ts';
import { runMutation } from './run-mutation.ts';
import { requireViewer } from './viewer-access.ts';

/** Who may see and manage webhooks. */
export const WEBHOOK_ADMINS: AuthRule = { requires: ['admin:webhooks'], roles: ['admin'] };

export const WebhookEventTypeEnum = builder.enumType('WebhookEventType', {
  description:
    'What happened. A delivery body\'s `type` is the wire name given with each value (`{"type": "order.created", "timestamp": …, "data": {…}}`).',
  values: {
    ORDER_CREATED: {
      value: 'order.created',
      description: 'An order was placed. Wire name `order.created`; `data.order` is the order.',
    },
    ORDER_CONFIRMED: {
      value: 'order.confirmed',
      description:
        'An order was confirmed. Wire name `order.confirmed`; `data.order` is the order.',
    },
    ORDER_CANCELLED: {
      value: 'order.cancelled',
      description:
        'An order was cancelled. Wire name `order.cancelled`; `data.order` is the order.',
    },
    PRODUCT_UPDATED: {
      value: 'product.updated',
      description:
        'A product was changed. Wire name `product.updated`; `data.product` is the product.',
    },
  } as const satisfies Record<string, { value: WebhookEventType; description: string }>,
});

const WebhookDeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  description: 'Where a delivery is.',
  values: {
    PENDING: { value: 'pending', description: 'Not delivered yet; the next attempt is scheduled.' },
    SUCCEEDED: { value: 'succeeded', description: 'The endpoint answered with a 2xx status.' },
    FAILED: {
      value: 'failed',
      description:
        'Given up: the retries were exhausted, or the endpoint refused it (a 4xx other than 429). `redeliverWebhook` sends it again.',
    },
  } as const,
});

function mayManageWebhooks(ctx: ExecutionContext): boolean {
  return allows(ctx.viewer, WEBHOOK_ADMINS);
}

export const WebhookEndpoint = builder.loadableNodeRef<WebhookEndpointRow>('WebhookEndpoint', {
  id: { resolve: (endpoint) => endpoint.id },
  // Without the rule an endpoint is "not found" (null), like another tenant's.
  load: batched(async (ids: string[], ctx) => {
    if (!ctx.viewer || !mayManageWebhooks(ctx)) return [];
    return ctx.tx
      .select()
      .from(webhookEndpoints)
      .where(
        and(eq(webhookEndpoints.tenantId, ctx.viewer.tenantId), inArray(webhookEndpoints.id, ids)),
      );
  }),
  toKey: (endpoint) => endpoint.id,
  sort: true,
});

export const WebhookDelivery = builder.loadableNodeRef<WebhookDeliveryRow>('WebhookDelivery', {
  id: { resolve: (delivery) => delivery.id },
  load: batched(async (ids: string[], ctx) => {
    if (!ctx.viewer || !mayManageWebhooks(ctx)) return [];
    return ctx.tx
      .select()
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.tenantId, ctx.viewer.tenantId),
          inArray(webhookDeliveries.id, ids),
        ),
      );
  }),
  toKey: (delivery) => delivery.id,
  sort: true,
});

const CREATED_AT_ENDPOINTS: SortKey<WebhookEndpointRow> = {
  name: 'createdAt',
  column: webhookEndpoints.createdAt,
  kind: 'timestamp',
  value: (row) => row.createdAt,
};

const CREATED_AT_DELIVERIES: SortKey<WebhookDeliveryRow> = {
  name: 'createdAt',
  column: webhookDeliveries.createdAt,
  kind: 'timestamp',
  value: (row) => row.createdAt,
};

WebhookEndpoint.implement({
  description:
    "A URL that receives the tenant's events, signed per Standard Webhooks with the endpoint's secret (see docs/webhooks.md). The secret is shown once, by createWebhookEndpoint and rotateWebhookSecret.",
  ...auth(WEBHOOK_ADMINS),
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Where events are POSTed.' }),
    description: t.exposeString('description', {
      description: `What the endpoint is for, at most ${WEBHOOK_LIMITS.maxDescription} characters; empty when not given.`,
    }),
    events: t.field({
      type: [WebhookEventTypeEnum],
      description: 'The event types it receives.',
      resolve: (endpoint) => endpoint.events as WebhookEventType[],
    }),
    enabled: t.exposeBoolean('enabled', {
      description:
        'Whether events are sent. Events of a disabled endpoint wait and are sent when it is enabled again.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was registered.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    deliveries: t.connection(
      {
        type: WebhookDelivery,
        description: 'Deliveries of events to this endpoint, newest first.',
        directives: connectionListSize,
        resolve: (endpoint, args, ctx) =>
          keysetConnection({
            args,
            limits: ctx.config.pagination,
            sort: CREATED_AT_DELIVERIES,
            direction: 'desc',
            idColumn: webhookDeliveries.id,
            fetch: (page) =>
              ctx.tx
                .select()
                .from(webhookDeliveries)
                .where(
                  and(
                    eq(webhookDeliveries.tenantId, endpoint.tenantId),
                    eq(webhookDeliveries.endpointId, endpoint.id),
                    page.where,
                  ),
                )
                .orderBy(...page.orderBy)
                .limit(page.limit),
          }),
      },
      { name: 'WebhookDeliveryConnection', description: 'A page of webhook deliveries.' },
      { name: 'WebhookDeliveryEdge', description: 'A webhook delivery and its cursor.' },
    ),
  }),
});

WebhookDelivery.implement({
  description:
    'One event sent (or to be sent) to one endpoint. Every attempt carries the same `webhook-id`: the event id.',
  ...auth(WEBHOOK_ADMINS),
  fields: (t) => ({
    eventId: t.exposeID('eventId', {
      description: 'The event (`msg_…`): the `webhook-id` header of every attempt.',
    }),
    eventType: t.field({
      type: WebhookEventTypeEnum,
      description: 'What happened.',
      resolve: (delivery) => delivery.eventType as WebhookEventType,
    }),
    status: t.expose('status', { type: WebhookDeliveryStatusEnum, description: 'Where it is.' }),
    attempts: t.exposeInt('attempts', { description: 'HTTP attempts made so far.' }),
    responseStatus: t.exposeInt('responseStatus', {
      nullable: true,
      description: "The HTTP status of the last attempt's response; null without one.",
    }),
    lastAttemptAt: t.expose('lastAttemptAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was last attempted; null before the first attempt.',
    }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it is attempted next; null once SUCCEEDED or FAILED.',
      resolve: (delivery) => (delivery.status === 'pending' ? delivery.nextAttemptAt : null),
    }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description:
        'Why the last attempt failed (`HTTP 503`, a network error, a timeout); null after a success.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

builder.queryFields((t) => ({
  webhookEndpoints: t.connection(
    {
      type: WebhookEndpoint,
      nullable: true,
      description:
        "Your tenant's webhook endpoints, newest first. Needs the admin role and `admin:webhooks`.",
      ...auth(WEBHOOK_ADMINS, connectionListSize),
      resolve: (_root, args, ctx) => {
        const viewer = requireViewer(ctx);
        return keysetConnection({
          args,
          limits: ctx.config.pagination,
          sort: CREATED_AT_ENDPOINTS,
          direction: 'desc',
          idColumn: webhookEndpoints.id,
          fetch: (page) =>
            ctx.tx
              .select()
              .from(webhookEndpoints)
              .where(and(eq(webhookEndpoints.tenantId, viewer.tenantId), page.where))
              .orderBy(...page.orderBy)
              .limit(page.limit),
        });
      },
    },
    { name: 'WebhookEndpointConnection', description: 'A page of webhook endpoints.' },
    { name: 'WebhookEndpointEdge', description: 'A webhook endpoint and its cursor.' },
  ),
}));

function urlCheckOf(ctx: ExecutionContext): UrlCheck {
  const { requireHttps, allowPrivateUrls } = ctx.config.webhooks;
  return { policy: { requireHttps, allowPrivate: allowPrivateUrls } };
}

type EndpointPayloadFieldBuilder = PothosSchemaTypes.ObjectFieldBuilder<
  BuilderTypes,
  EndpointOutcome
>;

function endpointPayload(name: string, description: string, withSecret: boolean) {
  return {
    name,
    description,
    outputFields: (t: EndpointPayloadFieldBuilder) => ({
      webhookEndpoint: t.field({
        type: WebhookEndpoint,
        nullable: true,
        description: 'The endpoint after the change; null when there are userErrors.',
        resolve: (payload: EndpointOutcome) => payload.webhookEndpoint,
      }),
      ...(withSecret && {
        signingSecret: t.string({
          nullable: true,
          description:
            'The signing secret (`whsec_…`), shown this once: store it where the receiver verifies signatures. Null when there are userErrors, and on a replay (a retry with the same clientMutationId), which never shows a secret again: if the first answer was lost, call rotateWebhookSecret.',
          resolve: (payload: EndpointOutcome) => payload.signingSecret,
        }),
      }),
      userErrors: userErrorsField(t),
    }),
  };
}

const ADMIN_ONLY = 'Needs the admin role and `admin:webhooks`.';

/** Payload fields that show a secret once: never kept in idempotency records. */
const SECRET_FIELDS = ['signingSecret'];

builder.relayMutationField(
  'createWebhookEndpoint',
  {
    name: 'CreateWebhookEndpointInput',
    description: 'A new webhook endpoint.',
    inputFields: (t) => ({
      url: t.string({
        required: true,
        description: `Where to POST events, at most ${WEBHOOK_LIMITS.maxUrl} characters. In production an https URL whose host resolves to public addresses only.`,
      }),
      events: t.field({
        type: [WebhookEventTypeEnum],
        required: true,
        description: 'The event types to receive (at least one).',
      }),
      description: t.string({
        description: `What the endpoint is for, at most ${WEBHOOK_LIMITS.maxDescription} characters.`,
      }),
    }),
  },
  {
    description: `Registers a webhook endpoint for your tenant and returns its signing secret, once. ${ADMIN_ONLY}`,
    nullable: true,
    ...auth(WEBHOOK_ADMINS, MUTATION_COST),
    resolve: (_root, { input }, ctx, info) => {
      return runMutation(
        ctx,
        { input, info, required: true, secretFields: SECRET_FIELDS },
        (tx, actor) => createWebhookEndpoint(tx, actor, input, urlCheckOf(ctx)),
      );
    },
  },
  endpointPayload('CreateWebhookEndpointPayload', 'The result of createWebhookEndpoint.', true),
);

builder.relayMutationField(
  'updateWebhookEndpoint',
  {
    name: 'UpdateWebhookEndpointInput',
    description: 'Changes to a webhook endpoint. Omitted fields keep their values.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The endpoint to change (`whep_…`).' }),
      url: t.string({ description: 'New URL (checked as at registration).' }),
      events: t.field({
        type: [WebhookEventTypeEnum],
        description: 'New event types (at least one); replaces the list.',
      }),
      description: t.string({ description: 'New description.' }),
      enabled: t.boolean({ description: 'Whether events are sent to it.' }),
    }),
  },
  {
    description: `Changes a webhook endpoint of your tenant. ${ADMIN_ONLY}`,
    nullable: true,
    ...auth(WEBHOOK_ADMINS, MUTATION_COST),
    resolve: (_root, { input }, ctx, info) => {
      return runMutation(ctx, { input, info }, (tx, actor) =>
        updateWebhookEndpoint(tx, actor, input, urlCheckOf(ctx)),
      );
    },
  },
  endpointPayload('UpdateWebhookEndpointPayload', 'The result of updateWebhookEndpoint.', false),
);

interface DeletePayload {
  deletedWebhookEndpointId: string | null;
  userErrors: EndpointOutcome['userErrors'];
}

builder.relayMutationField(
  'deleteWebhookEndpoint',
  {
    name: 'DeleteWebhookEndpointInput',
    description: 'The webhook endpoint to delete.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The endpoint (`whep_…`).' }),
    }),
  },
  {
    description: `Deletes a webhook endpoint and its pending deliveries. ${ADMIN_ONLY}`,
    nullable: true,
    ...auth(WEBHOOK_ADMINS, MUTATION_COST),
    resolve: (_root, { input }, ctx, info) => {
      return runMutation(ctx, { input, info }, (tx, actor) =>
        deleteWebhookEndpoint(tx, actor, input.id),
      );
    },
  },
  {
    name: 'DeleteWebhookEndpointPayload',
    description: 'The result of deleteWebhookEndpoint.',
    outputFields: (t) => ({
      deletedWebhookEndpointId: t.id({
        nullable: true,
        description: 'The id of the deleted endpoint; null when there are userErrors.',
        resolve: (payload: DeletePayload) => payload.deletedWebhookEndpointId,
      }),
      userErrors: userErrorsField(t),
    }),
  },
);

builder.relayMutationField(
  'rotateWebhookSecret',
  {
    name: 'RotateWebhookSecretInput',
    description: 'The webhook endpoint whose signing secret to replace.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The endpoint (`whep_…`).' }),
    }),
  },
  {
    description: `Gives a webhook endpoint a new signing secret, returned once. For the next ${SECRET_ROTATION_OVERLAP_MS / 3_600_000} hours deliveries carry two signatures, one per secret, so the receiver can switch without missing any. ${ADMIN_ONLY}`,
    nullable: true,
    ...auth(WEBHOOK_ADMINS, MUTATION_COST),
    resolve: (_root, { input }, ctx, info) => {
      return runMutation(ctx, { input, info, secretFields: SECRET_FIELDS }, (tx, actor) =>
        rotateWebhookSecret(tx, actor, input.id),
      );
    },
  },
  endpointPayload('RotateWebhookSecretPayload', 'The result of rotateWebhookSecret.', true),
);

interface RedeliverPayload {
  webhookDelivery: WebhookDeliveryRow | null;
  userErrors: EndpointOutcome['userErrors'];
}

builder.relayMutationField(
  'redeliverWebhook',
  {
    name: 'RedeliverWebhookInput',
    description: 'The delivery to send again.',
    inputFields: (t) => ({
      deliveryId: t.id({ required: true, description: 'The delivery (`whdl_…`).' }),
    }),
  },
  {
    description: `Sends a delivery's event to its endpoint again, as a new delivery with the same \`webhook-id\` (receivers that processed it already can tell). ${ADMIN_ONLY}`,
    nullable: true,
    ...auth(WEBHOOK_ADMINS, MUTATION_COST),
    resolve: (_root, { input }, ctx, info) => {
      return runMutation(ctx, { input, info }, (tx, actor) =>
        redeliverWebhook(tx, actor, input.deliveryId),
      );
    },
  },
  {
    name: 'RedeliverWebhookPayload',
    description: 'The result of redeliverWebhook.',
    outputFields: (t) => ({
      webhookDelivery: t.field({
        type: WebhookDelivery,
        nullable: true,
        description: 'The new delivery, pending; null when there are userErrors.',
        resolve: (payload: RedeliverPayload) => payload.webhookDelivery,
      }),
      userErrors: userErrorsField(t),
    }),
  },
);
