/**
 * Drizzle tables: the source of truth for `drizzle/` migrations (`npm run db:generate`).
 * Every documented bound is a CHECK constraint too, so bad data cannot enter even through
 * a code path that forgot to validate. Every tenant table carries `tenant_id`; row-level
 * security over it is added by the hand-written migration `drizzle/*_row_level_security.sql`.
 * Indexes start with `tenant_id` and end with the keyset columns the connections sort by.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  foreignKey,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
} from 'drizzle-orm/pg-core';

export const planEnum = pgEnum('plan', ['free', 'pro', 'enterprise']);
export const roleEnum = pgEnum('role', ['viewer', 'member', 'admin']);
export const currencyEnum = pgEnum('currency', ['USD', 'EUR', 'INR']);
export const orderStatusEnum = pgEnum('order_status', [
  'pending',
  'confirmed',
  'shipped',
  'cancelled',
]);

/** Largest amount in minor units: GraphQL `Int` is 32-bit, and Money.amount is an Int. */
export const MAX_MONEY_CENTS = 2_147_483_647;

/**
 * Timestamps are kept at millisecond precision: keyset cursors carry them through JavaScript
 * dates, and a microsecond the cursor cannot express would repeat a row on the next page.
 */
const nowMs = sql`date_trunc('milliseconds', now())`;
const timestampMs = (name: string) =>
  timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });
const createdAt = () => timestampMs('created_at').notNull().default(nowMs);
const updatedAt = () => timestampMs('updated_at').notNull().default(nowMs);

export const tenants = pgTable(
  'tenants',
  {
    id: text('id').primaryKey(),
    slug: text('slug').notNull().unique(),
    name: text('name').notNull(),
    plan: planEnum('plan').notNull().default('free'),
    createdAt: createdAt(),
  },
  (t) => [
    check('tenants_slug_format', sql`${t.slug} ~ '^[a-z0-9][a-z0-9-]{1,62}$'`),
    check('tenants_name_length', sql`char_length(${t.name}) between 1 and 100`),
  ],
);

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    username: text('username').notNull(),
    email: text('email').notNull(),
    displayName: text('display_name').notNull().default(''),
    role: roleEnum('role').notNull().default('viewer'),
    createdAt: createdAt(),
    /** Set once by `eraseUser`: the row's personal data is a tombstone from then on. */
    erasedAt: timestampMs('erased_at'),
  },
  (t) => [
    unique('users_tenant_username_unique').on(t.tenantId, t.username),
    unique('users_tenant_email_unique').on(t.tenantId, t.email),
    // (tenant_id, id) is unique so that child rows can reference a user *within* a tenant.
    unique('users_tenant_id_id_unique').on(t.tenantId, t.id),
    index('users_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    check('users_username_format', sql`${t.username} ~ '^[a-z0-9_-]{3,32}$'`),
    check(
      'users_username_not_reserved',
      sql`${t.username} not in ('admin', 'root', 'null', 'undefined')`,
    ),
    check(
      'users_email_format',
      sql`char_length(${t.email}) <= 254 and ${t.email} = lower(btrim(${t.email})) and ${t.email} like '%_@_%'`,
    ),
    check('users_display_name_length', sql`char_length(${t.displayName}) <= 100`),
  ],
);

export const products = pgTable(
  'products',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    priceCents: integer('price_cents').notNull(),
    costCents: integer('cost_cents').notNull().default(0),
    currency: currencyEnum('currency').notNull(),
    stock: integer('stock').notNull().default(0),
    version: integer('version').notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('products_tenant_id_id_unique').on(t.tenantId, t.id),
    index('products_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    index('products_tenant_name_idx').on(t.tenantId, t.name, t.id),
    index('products_tenant_price_idx').on(t.tenantId, t.priceCents, t.id),
    check('products_name_length', sql`char_length(${t.name}) between 1 and 200`),
    check('products_description_length', sql`char_length(${t.description}) <= 2000`),
    check('products_price_nonnegative', sql`${t.priceCents} >= 0`),
    check('products_cost_nonnegative', sql`${t.costCents} >= 0`),
    check('products_stock_nonnegative', sql`${t.stock} >= 0`),
    check('products_version_positive', sql`${t.version} >= 1`),
  ],
);

export const orders = pgTable(
  'orders',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    customerId: text('customer_id').notNull(),
    status: orderStatusEnum('status').notNull().default('pending'),
    currency: currencyEnum('currency').notNull(),
    note: text('note'),
    totalCents: integer('total_cents').notNull(),
    version: integer('version').notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // The customer must belong to the order's tenant: a composite key makes that structural.
    foreignKey({
      name: 'orders_customer_fk',
      columns: [t.tenantId, t.customerId],
      foreignColumns: [users.tenantId, users.id],
    }),
    unique('orders_tenant_id_id_unique').on(t.tenantId, t.id),
    index('orders_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    index('orders_tenant_total_idx').on(t.tenantId, t.totalCents, t.id),
    index('orders_tenant_customer_created_idx').on(t.tenantId, t.customerId, t.createdAt, t.id),
    index('orders_tenant_status_created_idx').on(t.tenantId, t.status, t.createdAt, t.id),
    check('orders_note_length', sql`char_length(${t.note}) <= 280`),
    check('orders_total_nonnegative', sql`${t.totalCents} >= 0`),
    check('orders_version_positive', sql`${t.version} >= 1`),
  ],
);

export const orderItems = pgTable(
  'order_items',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    orderId: text('order_id').notNull(),
    productId: text('product_id').notNull(),
    quantity: integer('quantity').notNull(),
    unitPriceCents: integer('unit_price_cents').notNull(),
  },
  (t) => [
    foreignKey({
      name: 'order_items_order_fk',
      columns: [t.tenantId, t.orderId],
      foreignColumns: [orders.tenantId, orders.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'order_items_product_fk',
      columns: [t.tenantId, t.productId],
      foreignColumns: [products.tenantId, products.id],
    }),
    index('order_items_tenant_order_idx').on(t.tenantId, t.orderId, t.id),
    index('order_items_tenant_product_idx').on(t.tenantId, t.productId),
    check('order_items_quantity_range', sql`${t.quantity} between 1 and 1000`),
    check('order_items_unit_price_nonnegative', sql`${t.unitPriceCents} >= 0`),
  ],
);

/**
 * Idempotent mutations (src/idempotency/): the first request with a key claims its row and,
 * in the same transaction as its writes, stores the payload it answered; retries with the
 * same key replay it. `response` is the payload's JSON text (not jsonb, which reorders keys),
 * null while the first request is still running.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    userId: text('user_id').notNull(),
    mutation: text('mutation').notNull(),
    key: text('key').notNull(),
    fingerprint: text('fingerprint').notNull(),
    response: text('response'),
    createdAt: createdAt(),
    expiresAt: timestampMs('expires_at').notNull(),
  },
  (t) => [
    unique('idempotency_keys_scope_unique').on(t.tenantId, t.userId, t.mutation, t.key),
    index('idempotency_keys_expires_idx').on(t.expiresAt),
    check('idempotency_keys_key_length', sql`char_length(${t.key}) between 1 and 255`),
  ],
);

/**
 * The allow-list of operations registered at run time (`registerPersistedOperation`), per
 * tenant: a tenant's admin widens that tenant's list only, so rows are a tenant table under RLS
 * like every other (the committed manifest holds the operations every tenant may run).
 * `id` is the sha256 of the document text; `md5` and `sha1` are kept so that Relay's and
 * GraphQL Code Generator's default ids find the same document. Each id is unique within its
 * tenant, which is what a lookup (tenant, digest) uses; two tenants may register one document.
 */
export const persistedOperations = pgTable(
  'persisted_operations',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    id: text('id').notNull(),
    md5: text('md5').notNull(),
    sha1: text('sha1').notNull(),
    document: text('document').notNull(),
    operationName: text('operation_name'),
    operationType: text('operation_type').notNull(),
    cost: integer('cost').notNull(),
    depth: integer('depth').notNull(),
    /** The admin who registered it (a user id, `usr_…`). */
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'persisted_operations_pkey', columns: [t.tenantId, t.id] }),
    unique('persisted_operations_tenant_md5_unique').on(t.tenantId, t.md5),
    unique('persisted_operations_tenant_sha1_unique').on(t.tenantId, t.sha1),
    check('persisted_operations_id_format', sql`${t.id} ~ '^[0-9a-f]{64}$'`),
    check('persisted_operations_md5_format', sql`${t.md5} ~ '^[0-9a-f]{32}$'`),
    check('persisted_operations_sha1_format', sql`${t.sha1} ~ '^[0-9a-f]{40}$'`),
    check(
      'persisted_operations_type',
      sql`${t.operationType} in ('query', 'mutation', 'subscription')`,
    ),
    check('persisted_operations_cost', sql`${t.cost} >= 0`),
    check('persisted_operations_depth', sql`${t.depth} >= 0`),
  ],
);

export const webhookDeliveryStatusEnum = pgEnum('webhook_delivery_status', [
  'pending',
  'succeeded',
  'failed',
]);

/**
 * Where a tenant's events are POSTed (src/webhooks/). `secret` signs the deliveries (it has to
 * be kept readable: an HMAC needs the key); after a rotation `previous_secret` keeps signing
 * alongside it until `previous_secret_expires_at`, so receivers can switch without a gap.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    /** Wire names of the event types it subscribes to (`order.created`, …). */
    events: text('events').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestampMs('previous_secret_expires_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('webhook_endpoints_tenant_id_id_unique').on(t.tenantId, t.id),
    index('webhook_endpoints_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    check('webhook_endpoints_url_length', sql`char_length(${t.url}) between 1 and 2048`),
    check('webhook_endpoints_description_length', sql`char_length(${t.description}) <= 500`),
    check('webhook_endpoints_events_present', sql`cardinality(${t.events}) >= 1`),
  ],
);

/**
 * The outbox: one row per event, written in the transaction of the change it reports, so a
 * committed change always has its event and a rolled-back one never does. `id` is the
 * `webhook-id` every delivery of the event carries; `payload` is the exact body (JSON text).
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    type: text('type').notNull(),
    payload: text('payload').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('webhook_events_tenant_id_id_unique').on(t.tenantId, t.id),
    index('webhook_events_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
  ],
);

/**
 * One event to one endpoint: what the delivery worker claims. A claim is a lease
 * (`locked_until`), not a status: a worker that dies mid-delivery leaves a lease that
 * expires, and the delivery is claimed again. `lease_token` fences a worker whose lease
 * expired from recording over a newer claim.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    eventId: text('event_id').notNull(),
    /** The event's type, copied so that listing deliveries needs no join. */
    eventType: text('event_type').notNull(),
    endpointId: text('endpoint_id').notNull(),
    status: webhookDeliveryStatusEnum('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestampMs('next_attempt_at').notNull().default(nowMs),
    lockedUntil: timestampMs('locked_until'),
    leaseToken: text('lease_token'),
    lastAttemptAt: timestampMs('last_attempt_at'),
    responseStatus: integer('response_status'),
    lastError: text('last_error'),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey({
      name: 'webhook_deliveries_event_fk',
      columns: [t.tenantId, t.eventId],
      foreignColumns: [webhookEvents.tenantId, webhookEvents.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'webhook_deliveries_endpoint_fk',
      columns: [t.tenantId, t.endpointId],
      foreignColumns: [webhookEndpoints.tenantId, webhookEndpoints.id],
    }).onDelete('cascade'),
    index('webhook_deliveries_tenant_endpoint_created_idx').on(
      t.tenantId,
      t.endpointId,
      t.createdAt,
      t.id,
    ),
    // What the worker scans: due pending deliveries, across tenants.
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    check('webhook_deliveries_attempts_nonnegative', sql`${t.attempts} >= 0`),
  ],
);

/**
 * API keys of server-to-server clients (docs/api-keys.md). The secret is never stored: only its
 * SHA-256 (`secret_hash`), which is what a request's key is looked up by, and its first
 * characters (`prefix`) so that people can recognise their keys.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    secretHash: text('secret_hash').notNull(),
    scopes: text('scopes').array().notNull(),
    /** The admin who created it (a user id, `usr_…`). */
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    expiresAt: timestampMs('expires_at'),
    lastUsedAt: timestampMs('last_used_at'),
    revokedAt: timestampMs('revoked_at'),
  },
  (t) => [
    unique('api_keys_secret_hash_unique').on(t.secretHash),
    unique('api_keys_tenant_id_id_unique').on(t.tenantId, t.id),
    index('api_keys_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    index('api_keys_tenant_created_by_idx').on(t.tenantId, t.createdBy),
    check('api_keys_name_length', sql`char_length(${t.name}) between 1 and 100`),
    check('api_keys_secret_hash_format', sql`${t.secretHash} ~ '^[0-9a-f]{64}$'`),
  ],
);

/**
 * Who did what to which object, and when (docs/privacy.md). Ids only, never personal data:
 * an erased user's events still name their id, which now leads to a tombstone.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    /** The user (`usr_…`) or API key (`key_…`) that acted. */
    actorId: text('actor_id').notNull(),
    action: text('action').notNull(),
    /** The object acted on (an id), when there is one. */
    targetId: text('target_id'),
    requestId: text('request_id').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('audit_events_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    check('audit_events_action_format', sql`${t.action} ~ '^[a-z_]+\\.[a-z_]+$'`),
  ],
);

export type TenantRow = typeof tenants.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type ProductRow = typeof products.$inferSelect;
export type OrderRow = typeof orders.$inferSelect;
export type OrderItemRow = typeof orderItems.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type AuditEventRow = typeof auditEvents.$inferSelect;
export type PersistedOperationRow = typeof persistedOperations.$inferSelect;
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookEventRow = typeof webhookEvents.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatusEnum.enumValues)[number];
export type Plan = (typeof planEnum.enumValues)[number];
export type Role = (typeof roleEnum.enumValues)[number];
export type Currency = (typeof currencyEnum.enumValues)[number];
export type OrderStatus = (typeof orderStatusEnum.enumValues)[number];
