/**
 * `GET /readyz`: should a load balancer send this instance traffic? Yes (200) when the
 * database answers and has every migration this code expects; otherwise 503 with the reason
 * in a JSON body, and a Retry-After while the database is unreachable. `/healthz` is the other
 * question, "is the process alive", and never looks at the database: restarting a server
 * because its database is down would not bring the database back.
 *
 * The check goes through the database's circuit breaker, so while the circuit is open it
 * answers at once, and a probe arriving after the reset delay is what tries PostgreSQL again.
 */
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { migrationStatus } from '../db/migration-status.ts';
import { ErrorCode } from '../errors.ts';

export type ReadinessBody =
  | { status: 'ready' }
  | { status: 'unavailable'; reason: string; applied?: string | null; expected?: string };

export function createReadinessCheck(database: Database, logger: Logger, timeoutMs: number) {
  return async ({ fetchAPI }: { fetchAPI: { Response: typeof Response } }): Promise<Response> => {
    const reply = (status: number, body: ReadinessBody, headers: Record<string, string> = {}) =>
      new fetchAPI.Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      });
    let status: Awaited<ReturnType<typeof migrationStatus>>;
    try {
      status = await database.circuit.run(() => migrationStatus(database.db), { timeoutMs });
    } catch (error) {
      const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
      if (code !== ErrorCode.SERVICE_UNAVAILABLE) {
        // Anything else is a bug or a permissions problem: logged, and not shown to callers.
        logger.error({ err: error }, 'readiness check failed');
        return reply(503, { status: 'unavailable', reason: 'database check failed' });
      }
      return reply(
        503,
        { status: 'unavailable', reason: 'database unreachable' },
        { 'Retry-After': String(database.circuit.retryAfterSeconds()) },
      );
    }
    if (!status.upToDate) {
      return reply(503, {
        status: 'unavailable',
        reason: 'database not migrated',
        applied: status.applied,
        expected: status.expected,
      });
    }
    return reply(200, { status: 'ready' });
  };
}
