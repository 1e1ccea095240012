/**
 * Field-level authorization, declared once. A type or field spreads `auth({...})` into its
 * Pothos options; that one call yields both the `@auth` directive printed into schema.graphql
 * (what clients and reviewers read) and the scope-auth check that runs (what is enforced),
 * built from the same data, so the two cannot say different things. The same rule object can
 * also be asked directly (`allows`), for lists and loaders that filter rows instead of
 * failing a field.
 */
import type { AuthScopeMap } from '@pothos/plugin-scope-auth';
import type { Role } from '../db/schema.ts';
import type { BuilderTypes } from '../schema/builder.ts';
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
  if (ownerId !== undefined && ownerId === viewer.userId) return true;
  const hasScopes = (rule.requires ?? []).every((scope) => viewer.scopes.has(scope));
  const hasRole = rule.roles === undefined || rule.roles.includes(viewer.role);
  return hasScopes && hasRole;
}

type AuthScopes<Parent> =
  | AuthScopeMap<BuilderTypes>
  | ((parent: Parent) => AuthScopeMap<BuilderTypes>);

/**
 * Which directive arguments each runtime check was built from. The schema test reads it to
 * prove that every `@auth` in the SDL is enforced, and every check is printed.
 */
const declared = new WeakMap<object, AuthDirectiveArgs>();

export function authDirectiveArgsOf(authScopes: unknown): AuthDirectiveArgs | undefined {
  return typeof authScopes === 'object' || typeof authScopes === 'function'
    ? declared.get(authScopes as object)
    : undefined;
}

/**
 * Options to spread into a type's or field's Pothos options: `authScopes` (the runtime check)
 * and `directives.auth` (the SDL). Other directives of the same field go in `directives`, so
 * that one spread carries them all and nothing after it can drop `@auth`.
 */
export function auth<Parent = unknown, Directives extends object = object>(
  declaration: AuthDeclaration<Parent>,
  directives?: Directives,
): { authScopes: AuthScopes<Parent>; directives: Directives & { auth: AuthDirectiveArgs } } {
  const rule: AuthRule = {
    ...(declaration.requires && { requires: declaration.requires }),
    ...(declaration.roles && { roles: declaration.roles }),
  };
  const args: AuthDirectiveArgs = {
    ...(rule.requires && { requires: [...rule.requires] }),
    ...(rule.roles && { roles: [...rule.roles] }),
    ...(declaration.self && { allowSelf: true }),
  };
  const { self } = declaration;
  const check: AuthCheck = { ...rule, ruleKey: JSON.stringify(rule) };
  const authScopes: AuthScopes<Parent> = self
    ? (parent: Parent) => ({ auth: { ...check, ownerId: self(parent) } })
    : { auth: check };
  declared.set(authScopes, args);
  return { authScopes, directives: { ...(directives as Directives), auth: args } };
}
