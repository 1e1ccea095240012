/**
 * Data export and erasure (docs/privacy.md). An export is every row about one user in the
 * tenant as one JSON document; an erasure replaces the user's personal data with a tombstone,
 * keeps their orders (the accounts need them), deletes their stored idempotency payloads and
 * revokes the API keys they created. Both are audit events. A user's tokens are refused from
 * the erasure on by the request transaction's set-up statement (`request_principal_active`).
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { apiKeys, idempotencyKeys, orderItems, orders, type UserRow, users } from '../db/schema.ts';
import { type UserErrorShape, userError } from '../errors.ts';
import { isIdOf } from '../ids.ts';
import { revokeApiKeysCreatedBy } from './api-keys.ts';
import { type AuditActor, recordAuditEvent } from './audit.ts';

/** The most orders one export holds (its cost is priced for them); more are marked truncated. */
export const EXPORT_MAX_ORDERS = 500;

export interface DataExportShape {
  readonly generatedAt: Date;
  readonly json: string;
}

/** The user of the tenant with this id, or null (another tenant's user does not exist here). */
export async function findUser(tx: Db, tenantId: string, id: string): Promise<UserRow | null> {
  if (!isIdOf('usr', id)) return null;
  const [row] = await tx
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.id, id)))
    .limit(1);
  return row ?? null;
}

export async function exportUserData(
  tx: Db,
  actor: AuditActor,
  user: UserRow,
): Promise<DataExportShape> {
  const tenantId = user.tenantId;
  const userOrders = await tx
    .select()
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), eq(orders.customerId, user.id)))
    .orderBy(asc(orders.createdAt), asc(orders.id))
    .limit(EXPORT_MAX_ORDERS + 1);
  const truncated = userOrders.length > EXPORT_MAX_ORDERS;
  const exported = userOrders.slice(0, EXPORT_MAX_ORDERS);
  const items = exported.length
    ? await tx
        .select()
        .from(orderItems)
        .where(
          and(
            eq(orderItems.tenantId, tenantId),
            inArray(
              orderItems.orderId,
              exported.map((order) => order.id),
            ),
          ),
        )
        .orderBy(asc(orderItems.id))
    : [];
  const idempotencyRecords = await tx
    .select({
      mutation: idempotencyKeys.mutation,
      key: idempotencyKeys.key,
      response: idempotencyKeys.response,
      createdAt: idempotencyKeys.createdAt,
      expiresAt: idempotencyKeys.expiresAt,
    })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.userId, user.id)))
    .orderBy(asc(idempotencyKeys.createdAt));
  const keys = await tx
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      scopes: apiKeys.scopes,
      createdAt: apiKeys.createdAt,
      expiresAt: apiKeys.expiresAt,
      lastUsedAt: apiKeys.lastUsedAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.createdBy, user.id)))
    .orderBy(asc(apiKeys.createdAt));
  const generatedAt = new Date();
  const document = {
    generatedAt,
    user: {
      id: user.id,
      tenantId,
      username: user.username,
      email: user.email,
      displayName: user.displayName,
      role: user.role,
      createdAt: user.createdAt,
      erasedAt: user.erasedAt,
    },
    orders: exported.map((order) => ({
      ...order,
      items: items.filter((item) => item.orderId === order.id),
    })),
    ordersTruncated: truncated,
    idempotencyRecords,
    apiKeys: keys,
  };
  await recordAuditEvent(tx, actor, 'user.exported', user.id);
  return { generatedAt, json: JSON.stringify(document) };
}

/** `erased-` and the random end of the user's id: unique in the tenant, and says nothing. */
export function tombstoneOf(userId: string): string {
  return `erased-${userId.slice(-25)}`;
}

export interface EraseOutcome {
  user: UserRow | null;
  userErrors: UserErrorShape[];
}

export async function eraseUser(tx: Db, actor: AuditActor, id: string): Promise<EraseOutcome> {
  const tenantId = actor.viewer.tenantId;
  // Locked, so that two erasures of one user run one after the other.
  const [user] = isIdOf('usr', id)
    ? await tx
        .select()
        .from(users)
        .where(and(eq(users.tenantId, tenantId), eq(users.id, id)))
        .for('update')
        .limit(1)
    : [];
  if (!user) {
    return {
      user: null,
      userErrors: [userError('NOT_FOUND', 'No user with this id in your tenant.', ['input', 'id'])],
    };
  }
  if (actor.viewer.userId === user.id) {
    return {
      user: null,
      userErrors: [
        userError('INVALID_STATE', 'You cannot erase yourself: ask another admin.', [
          'input',
          'id',
        ]),
      ],
    };
  }
  // Erased already: the same state again, nothing written (idempotent).
  if (user.erasedAt !== null) return { user, userErrors: [] };
  const tombstone = tombstoneOf(user.id);
  const [erased] = await tx
    .update(users)
    .set({
      username: tombstone,
      email: `${tombstone}@erased.invalid`,
      displayName: tombstone,
      erasedAt: new Date(),
    })
    .where(and(eq(users.tenantId, tenantId), eq(users.id, user.id)))
    .returning();
  await tx
    .delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.userId, user.id)));
  await revokeApiKeysCreatedBy(tx, tenantId, user.id);
  await recordAuditEvent(tx, actor, 'user.erased', user.id);
  return { user: erased!, userErrors: [] };
}
