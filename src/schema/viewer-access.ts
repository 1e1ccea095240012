/**
 * Small helpers resolvers use to ask "who is calling, and in which tenant".
 * Anonymous callers have no tenant, so every tenant-scoped lookup finds nothing.
 */
import type { Scope } from '../auth/viewer.ts';
import type { ExecutionContext } from '../context.ts';
import { unauthenticated } from '../errors.ts';

export function tenantIdOf(ctx: ExecutionContext): string | null {
  return ctx.viewer?.tenantId ?? null;
}

export function requireViewer(ctx: ExecutionContext) {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}

export function hasScope(ctx: ExecutionContext, scope: Scope): boolean {
  return ctx.viewer?.scopes.has(scope) ?? false;
}
