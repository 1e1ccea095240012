/**
 * Field-level authorization rules: who may read a type or field, and the one decision
 * (`allows`) where a rule meets a viewer. schema/auth.ts turns a rule into both the `@auth`
 * directive and the scope-auth check; lists and loaders that filter rows instead of failing a
 * field ask `allows` directly.
 */
import type { Role } from '../db/schema.ts';
import type { Scope, Viewer } from './viewer.ts';

/** Who may read a type or field. Every part given must hold; an empty rule means "signed in". */
export interface AuthRule {
  /** Every one of these scopes (the role's defaults, narrowed by the token). */
  readonly requires?: readonly Scope[];
  /** One of these roles. */
  readonly roles?: readonly Role[];
}

/** A rule plus, for rules about someone's own data, how to find whose data a value is. */
export interface AuthDeclaration<Parent> extends AuthRule {
  /**
   * The user a value belongs to (a User's id, an Order's customer). When given, that user
   * passes without `requires` and `roles`: the SDL shows `allowSelf: true`.
   */
  readonly self?: (parent: Parent) => string;
}

/**
 * The arguments of the `@auth` directive, exactly as printed into schema.graphql. A type
 * alias, not an interface: Pothos wants directive arguments indexable by name.
 */
export type AuthDirectiveArgs = {
  requires?: Scope[];
  roles?: Role[];
  allowSelf?: boolean;
};

/** What the scope-auth loader `auth` evaluates: a rule and, when it allows self, the owner. */
export interface AuthCheck extends AuthRule {
  readonly ownerId?: string;
  /**
   * The rule as a string, made once per declaration: scope-auth caches each check's result per
   * request under `cacheKeyOf(check)`, which runs for every field of every object.
   */
  readonly ruleKey: string;
}

/** Equal checks (the same rule, the same owner) share one key, and so one result per request. */
export function cacheKeyOf(check: AuthCheck): string {
  return check.ownerId === undefined ? check.ruleKey : `${check.ruleKey}:${check.ownerId}`;
}

/** The decision itself: the one place where a rule meets a viewer. */
export function allows(viewer: Viewer | null, rule: AuthRule, ownerId?: string): boolean {
  if (viewer === null) return false;
  if (ownerId !== undefined && viewer.userId !== null && ownerId === viewer.userId) return true;
  const hasScopes = (rule.requires ?? []).every((scope) => viewer.scopes.has(scope));
  return hasScopes && hasRoleFor(viewer, rule);
}

/**
 * An API key has no role: it is held to its scopes alone (they never exceed its creating
 * admin's), so it passes a rule's `roles` when the rule requires scopes it holds, and never a
 * rule that names roles only (`Product.costPrice`): there is no scope it could hold for that.
 */
function hasRoleFor(viewer: Viewer, rule: AuthRule): boolean {
  if (rule.roles === undefined) return true;
  if (viewer.role === null) return (rule.requires?.length ?? 0) > 0;
  return rule.roles.includes(viewer.role);
}
