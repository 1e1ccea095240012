/**
 * Field-level authorization, declared once. A type or field spreads `auth({...})` into its
 * Pothos options; that one call yields both the `@auth` directive printed into schema.graphql
 * (what clients and reviewers read) and the scope-auth check that runs (what is enforced),
 * built from the same data, so the two cannot say different things. The rule itself, and the
 * decision, are in src/auth/rules.ts.
 */
import type { AuthScopeMap } from '@pothos/plugin-scope-auth';
import type { AuthCheck, AuthDeclaration, AuthDirectiveArgs, AuthRule } from '../auth/rules.ts';
import type { BuilderTypes } from './builder.ts';

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
