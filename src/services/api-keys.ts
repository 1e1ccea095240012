/**
 * Creating and revoking API keys (docs/api-keys.md): validation into userErrors, the scope
 * rule (a key never holds a scope its creator lacks), and the audit events, in the request's
 * transaction.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { generateApiKeySecret } from '../auth/api-keys.ts';
import { isScope, type Scope } from '../auth/viewer.ts';
import type { Db } from '../db/client.ts';
import { type ApiKeyRow, apiKeys } from '../db/schema.ts';
import { type UserErrorShape, userError } from '../errors.ts';
import { isOtherIdOf, newId, OtherIdPrefix } from '../ids.ts';
import { cleanLine, textLength } from '../validation.ts';
import { type AuditActor, recordAuditEvent } from './audit.ts';

export const API_KEY_NAME_MAX_LENGTH = 100;

export interface CreateApiKeyInput {
  readonly name: string;
  readonly scopes?: readonly string[] | null;
  readonly expiresAt?: Date | null;
}

export interface ApiKeyOutcome {
  apiKey: ApiKeyRow | null;
  /** The secret, only when this call created the key. */
  secret: string | null;
  userErrors: UserErrorShape[];
}

const failed = (userErrors: UserErrorShape[]): ApiKeyOutcome => ({
  apiKey: null,
  secret: null,
  userErrors,
});

export async function createApiKey(
  tx: Db,
  actor: AuditActor & { readonly userId: string },
  input: CreateApiKeyInput,
): Promise<ApiKeyOutcome> {
  const { viewer } = actor;
  const name = cleanLine(input.name);
  const errors: UserErrorShape[] = [];
  if (textLength(name) < 1 || textLength(name) > API_KEY_NAME_MAX_LENGTH) {
    errors.push(
      userError('BAD_USER_INPUT', `The name must be 1 to ${API_KEY_NAME_MAX_LENGTH} characters.`, [
        'input',
        'name',
      ]),
    );
  }
  const requested = input.scopes == null ? [...viewer.scopes] : [...new Set(input.scopes)];
  const unknown = requested.filter((scope) => !isScope(scope));
  if (unknown.length > 0) {
    errors.push(
      userError('BAD_USER_INPUT', `Unknown scope: ${namedInMessage(unknown)}.`, [
        'input',
        'scopes',
      ]),
    );
  }
  const beyond = requested.filter((scope) => isScope(scope) && !viewer.scopes.has(scope));
  if (beyond.length > 0) {
    errors.push(
      userError(
        'FORBIDDEN_SCOPE',
        `A key cannot hold a scope you do not have: ${beyond.join(', ')}.`,
        ['input', 'scopes'],
      ),
    );
  }
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    errors.push(
      userError('BAD_USER_INPUT', 'expiresAt must be in the future.', ['input', 'expiresAt']),
    );
  }
  if (errors.length > 0) return failed(errors);

  const generated = generateApiKeySecret();
  const [row] = await tx
    .insert(apiKeys)
    .values({
      id: newId(OtherIdPrefix.ApiKey),
      tenantId: viewer.tenantId,
      name,
      prefix: generated.prefix,
      secretHash: generated.hash,
      scopes: (requested as Scope[]).sort(),
      createdBy: actor.userId,
      expiresAt: input.expiresAt ?? null,
    })
    .returning();
  await recordAuditEvent(tx, actor, 'api_key.created', row!.id);
  return { apiKey: row!, secret: generated.secret, userErrors: [] };
}

/** Revokes a key of the caller's tenant; revoking a revoked key returns it unchanged. */
export async function revokeApiKey(tx: Db, actor: AuditActor, id: string): Promise<ApiKeyOutcome> {
  const notFound = () =>
    failed([userError('NOT_FOUND', 'No API key with this id in your tenant.', ['input', 'id'])]);
  if (!isOtherIdOf(OtherIdPrefix.ApiKey, id)) return notFound();
  const tenantId = actor.viewer.tenantId;
  const [revoked] = await tx
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning();
  if (revoked) {
    await recordAuditEvent(tx, actor, 'api_key.revoked', revoked.id);
    return { apiKey: revoked, secret: null, userErrors: [] };
  }
  const [existing] = await tx
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id)))
    .limit(1);
  return existing ? { apiKey: existing, secret: null, userErrors: [] } : notFound();
}

/** Revokes every key a user created (their erasure); returns how many were revoked. */
export async function revokeApiKeysCreatedBy(tx: Db, tenantId: string, userId: string) {
  const revoked = await tx
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(
      and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.createdBy, userId), isNull(apiKeys.revokedAt)),
    )
    .returning({ id: apiKeys.id });
  return revoked.length;
}

/**
 * Names for an error message: at most 5, each at most 64 characters, so that a message never
 * echoes a large input back.
 */
function namedInMessage(values: readonly string[]): string {
  const MAX_NAMES = 5;
  const MAX_NAME_LENGTH = 64;
  const named = values
    .slice(0, MAX_NAMES)
    .map((value) =>
      textLength(value) > MAX_NAME_LENGTH
        ? `${[...value].slice(0, MAX_NAME_LENGTH).join('')}…`
        : value,
    );
  const more = values.length - named.length;
  return more > 0 ? `${named.join(', ')} and ${more} more` : named.join(', ');
}
