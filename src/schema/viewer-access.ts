/**
 * Small helpers resolvers use to ask "who is calling, and in which tenant".
 * Anonymous callers have no tenant, so every tenant-scoped lookup finds nothing.
 */

import type { Viewer } from '../auth/viewer.ts';
import type { ExecutionContext } from '../context.ts';
import { apiError, ErrorCode, unauthenticated } from '../errors.ts';

export function tenantIdOf(ctx: ExecutionContext): string | null {
  return ctx.viewer?.tenantId ?? null;
}

export function requireViewer(ctx: ExecutionContext) {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}

/** The calling user's id; FORBIDDEN for an API key, for what only a user can do. */
export function requireUser(viewer: Viewer, message: string): string {
  if (viewer.userId === null) throw apiError(ErrorCode.FORBIDDEN, message);
  return viewer.userId;
}
