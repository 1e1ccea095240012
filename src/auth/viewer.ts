/**
 * Who is asking: the viewer built from a verified token's claims, and what each role may do.
 * A token's `scope` claim can narrow its role's scopes, never widen them.
 */
import type { Role } from '../db/schema.ts';

export const SCOPES = [
  'read:products',
  'write:products',
  'read:orders',
  'write:orders',
  'read:users',
  'read:pii',
  'admin:persisted-operations',
  'admin:webhooks',
  'admin:api-keys',
  'admin:privacy',
] as const;

export type Scope = (typeof SCOPES)[number];

/**
 * Default scopes of each role. A viewer reads products and its own orders; a member also
 * places orders and reads the tenant's orders; an admin may do everything.
 */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  viewer: ['read:products'],
  member: ['read:products', 'read:orders', 'write:orders'],
  admin: SCOPES,
};

/**
 * A user (from a JWT) or a service principal (an API key, docs/api-keys.md): exactly one of
 * `userId` and `apiKeyId` is set. A key has no role: it may do what its scopes allow.
 */
export interface Viewer {
  readonly userId: string | null;
  readonly apiKeyId: string | null;
  readonly tenantId: string;
  readonly role: Role | null;
  readonly scopes: ReadonlySet<Scope>;
}

/** Who pays and who is limited: the user's or the key's id (cost budgets, rate limits). */
export function principalIdOf(viewer: Viewer): string {
  return (viewer.userId ?? viewer.apiKeyId) as string;
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** The role's scopes, intersected with the token's `scope` claim when it has one. */
export function effectiveScopes(role: Role, requested: readonly string[] | undefined): Set<Scope> {
  const granted = ROLE_SCOPES[role];
  if (requested === undefined) return new Set(granted);
  return new Set(granted.filter((scope) => requested.includes(scope)));
}
