/**
 * Small helpers resolvers use to ask "who is calling, and in which tenant".
 * Anonymous callers have no tenant, so every tenant-scoped lookup finds nothing.
 */
import type { ExecutionContext } from '../context.ts';
import { unauthenticated } from '../errors.ts';

export function tenantIdOf(ctx: ExecutionContext): string | null {
  return ctx.viewer?.tenantId ?? null;
}

export function requireViewer(ctx: ExecutionContext) {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}
