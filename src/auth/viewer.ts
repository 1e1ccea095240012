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

export interface Viewer {
  readonly userId: string;
  readonly tenantId: string;
  readonly role: Role;
  readonly scopes: ReadonlySet<Scope>;
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
