/**
 * The request pipeline, in order. Reading this array top to bottom is DESIGN.md's
 * "Request pipeline": each later issue adds its plugin at its place in the list.
 */
import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../auth/jwt.ts';
import type { Config } from '../config.ts';
import type { RequestContext } from '../context.ts';
import type { Database } from '../db/client.ts';
import { useAuthentication } from './authentication.ts';
import { useRequestId } from './request-id.ts';
import { useTenantTransaction } from './tenant-transaction.ts';

export interface PipelineDeps {
  config: Config;
  database: Database;
  verifier: TokenVerifier;
  logger: Logger;
  /** Shared counters when REDIS_URL is set (budgets, field rate limits); else in memory. */
  redis?: Redis;
}

export function createPlugins(deps: PipelineDeps): Plugin<RequestContext>[] {
  return [
    // Before GraphQL: every response and error carries the request id.
    useRequestId() as Plugin<RequestContext>,
    // 2. Bearer JWT → viewer (or 401).
    useAuthentication({ verifier: deps.verifier, logger: deps.logger }),
    // 3. OPERATION LIMITS (issue 3): size, tokens, depth, aliases, root fields, directives.
    // 4. COST ANALYSIS (issue 3): static cost with the request's real variables.
    // 5. COST BUDGET (issue 3): leaky bucket per viewer; extensions.cost; rate-limit headers.
    // 6. FIELD RATE LIMITS (issue 3): @rateLimit directives.
    // 7. One transaction per operation: tenant set, non-superuser role, RLS enforced.
    useTenantTransaction({
      database: deps.database,
      exposeStatementCount: !deps.config.isProduction,
    }),
  ];
}
