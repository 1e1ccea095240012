/**
 * Runs each operation's execution inside one database transaction that first sets the
 * caller's tenant (`app.tenant_id`, transaction-local) and switches to the non-superuser
 * role `orders_app`. Row-level security then holds for every statement, even one that
 * forgets its tenant filter. Queries run READ ONLY; mutations READ WRITE, each mutation
 * field in its own savepoint (services/mutation.ts).
 *
 * Isolation is READ COMMITTED: writes that must not race are guarded in the statement
 * itself (`stock >= wanted`, `version = expected`, `FOR UPDATE`), which Postgres re-checks
 * on the locked row, so the stronger levels would only add serialization failures.
 */
import { sql } from 'drizzle-orm';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import { isConnectionFailure } from '../db/circuit-breaker.ts';
import { APP_ROLE, type Database, type Db } from '../db/client.ts';
import { preparedStatement } from '../db/prepared.ts';
import {
  countStatementsOf,
  newStatementCount,
  type StatementCount,
} from '../db/statement-counter.ts';
import {
  completeIdempotentMutations,
  IDEMPOTENT_REPLAYED_HEADER,
  wasReplayed,
} from '../idempotency/with-idempotency.ts';

export interface TenantTransactionOptions {
  database: Database;
  /**
   * Add `X-SQL-Statements` (statements this request sent) to responses. For tests and
   * benchmarks; off in production, where it would tell callers about internals.
   */
  exposeStatementCount: boolean;
}

export const SQL_STATEMENTS_HEADER = 'X-SQL-Statements';

const setUpTransaction = preparedStatement<{ tenantId: string; role: string; readOnly: string }>(
  'set_up_request_transaction',
  sql`select set_config('app.tenant_id', ${sql.placeholder('tenantId')}, true), set_config('role', ${sql.placeholder('role')}, true), set_config('transaction_read_only', ${sql.placeholder('readOnly')}, true)`,
);

/** Per request: the statements its transactions sent, and the time they took. */
const counts = new WeakMap<Request, StatementCount>();

/** Milliseconds the request's SQL statements were in flight (Server-Timing `db`); 0 if none. */
export function databaseTimeOf(request: Request): number {
  return counts.get(request)?.ms ?? 0;
}

export function useTenantTransaction(options: TenantTransactionOptions): Plugin<RequestContext> {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((args) => {
        const context = args.contextValue as RequestContext;
        const operation = getOperationAST(args.document, args.operationName);
        const readOnly = operation?.operation !== 'mutation';
        // An empty tenant matches no row: anonymous callers see nothing.
        const tenantId = context.viewer?.tenantId ?? '';
        const counter = counts.get(context.request) ?? newStatementCount();
        counts.set(context.request, counter);
        let executed: Awaited<ReturnType<typeof executeFn>> | undefined;
        // Through the circuit breaker: while PostgreSQL is unreachable this fails at once
        // with 503 SERVICE_UNAVAILABLE and a Retry-After instead of waiting for a connection.
        return options.database.circuit.run(async () => {
          const result = await transaction();
          // A connection lost in the middle of a query fails the fields that were reading
          // (their errors are in the result), not the transaction: the answer is partial,
          // and the outage is the breaker's to count and to report as a 503.
          const lost =
            result && 'errors' in result ? result.errors?.find(isConnectionFailure) : undefined;
          if (lost) throw lost;
          return result;
        });

        async function transaction() {
          try {
            return await options.database.db.transaction(async (tx) => {
              countStatementsOf(tx as unknown as Db, counter);
              // One round trip sets up the whole transaction: the tenant, the role RLS
              // applies to, and read-only for queries. (Drizzle's own transaction options
              // would add a SET TRANSACTION statement; READ COMMITTED is the default.)
              await setUpTransaction(tx as unknown as Db, {
                tenantId,
                role: APP_ROLE,
                readOnly: readOnly ? 'on' : 'off',
              });
              Object.assign(context, { tx });
              executed = await executeFn(args);
              // Idempotency keys: store the payloads claimed keys answered, in this same
              // transaction as the writes; put replayed payloads in place.
              if (!readOnly && executed && !(Symbol.asyncIterator in executed)) {
                await completeIdempotentMutations(context, tx as unknown as Db, executed);
              }
              return executed;
            });
          } catch (error) {
            // Fix: a statement that failed during a query aborts the transaction; PostgreSQL
            // then answers COMMIT with ROLLBACK, which PGlite (not postgres.js) turns into an
            // error. That error replaced the whole result, so the real failure was never
            // masked, logged or reported at its path. A read-only operation has nothing to
            // commit: its result, with the failing fields' errors, is still the answer.
            if (readOnly && executed !== undefined) return executed;
            throw error;
          }
        }
      });
    },
    onResponse({ request, response }) {
      if (wasReplayed(request)) response.headers.set(IDEMPOTENT_REPLAYED_HEADER, 'true');
      const counter = counts.get(request);
      if (options.exposeStatementCount && counter) {
        response.headers.set(SQL_STATEMENTS_HEADER, String(counter.count));
      }
    },
  };
}
