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
 *
 * Every wait on the database is bounded, whatever the network does:
 * - the transaction must start (a pooled connection, opening one, BEGIN) within `poolTimeoutMs`
 *   and the execution deadline, or the request gets 503 SERVICE_UNAVAILABLE;
 * - once started, it must end (statements, then COMMIT or ROLLBACK) by the execution deadline
 *   plus a margin, or the request gets 504 TIMEOUT. The execution timeout has already stopped
 *   the resolvers by then, so what is still waiting is the database;
 * - either way the transaction is abandoned: if BEGIN arrives later the transaction rolls back
 *   at once, and one that finished executing rolls back instead of committing. Only a COMMIT
 *   already sent has an unknown outcome; the idempotency record written in the same transaction
 *   tells a retry with the same key which it was (idempotency/with-idempotency.ts);
 * - the connection that stopped answering is destroyed by its socket's answer timeout
 *   (db/watched-socket.ts), never handed to another request.
 * Both answers carry a Retry-After. The circuit breaker counts what the database did in the end:
 * a connect timeout, a connection destroyed for not answering, or a late success.
 */
import { sql } from 'drizzle-orm';
import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
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
import { apiError, ErrorCode } from '../errors.ts';
import { AUDITED_QUERY_FIELDS } from '../services/audit.ts';
import { tokenRejected } from './authentication.ts';
import { timeoutError } from './execution-timeout.ts';

export interface TenantTransactionOptions {
  database: Database;
  /**
   * Add `X-SQL-Statements` (statements this request sent) to responses. For tests and
   * benchmarks; off in production, where it would tell callers about internals.
   */
  exposeStatementCount: boolean;
  /** The execution deadline, from the start of execution (`config.timeouts.executionMs`). */
  executionTimeoutMs: number;
  /** Most milliseconds until the transaction has started (`config.timeouts.poolMs`). */
  poolTimeoutMs: number;
}

/**
 * How long past the execution deadline a started transaction may take to end. The execution
 * timeout answers at the deadline itself; this covers its ROLLBACK on a healthy connection.
 */
const END_MARGIN_MS = 250;

const COMMIT_UNCONFIRMED = 'The database did not confirm the commit';
const RETRY_ADVICE =
  'so whether it applied is unknown. Retry with the same clientMutationId: a mutation that applied is answered from its record, never applied twice.';

function isUnavailable(error: unknown): boolean {
  return error instanceof GraphQLError && error.extensions.code === ErrorCode.SERVICE_UNAVAILABLE;
}

/** The breaker's 503 for a connection lost under COMMIT, saying what that means. */
function commitOutcomeUnknown(unavailable: GraphQLError): GraphQLError {
  return apiError(
    ErrorCode.SERVICE_UNAVAILABLE,
    `${COMMIT_UNCONFIRMED}: the connection failed, ${RETRY_ADVICE}`,
    unavailable.extensions,
  );
}

/** Where a request's transaction is: which timeout applies, and what a timeout means. */
type Phase = 'starting' | 'running' | 'committing' | 'ended';

export const SQL_STATEMENTS_HEADER = 'X-SQL-Statements';

/**
 * Also asks whether the caller still may act (drizzle/0012 `request_principal_active`): false
 * once its user was erased or its API key revoked or expired, which a verified token or key
 * kept in memory (auth/jwt.ts, auth/api-keys.ts) cannot know. Folded in here, it costs no round
 * trip; the caller then gets the same 401 as for a bad token.
 */
const setUpTransaction = preparedStatement<{
  tenantId: string;
  userId: string;
  apiKeyId: string;
  role: string;
  readOnly: string;
}>(
  'set_up_request_transaction',
  sql`select request_principal_active(${sql.placeholder('tenantId')}, ${sql.placeholder('userId')}, ${sql.placeholder('apiKeyId')}) as active, set_config('app.tenant_id', ${sql.placeholder('tenantId')}, true), set_config('role', ${sql.placeholder('role')}, true), set_config('transaction_read_only', ${sql.placeholder('readOnly')}, true)`,
);

function isActive(result: unknown): boolean {
  const rows = Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? []);
  return (rows[0] as { active?: unknown } | undefined)?.active !== false;
}

/** True when a query selects a root field that records an audit event (`dataExport`). */
function selectsAuditedField(
  operation: OperationDefinitionNode | null | undefined,
  document: DocumentNode,
): boolean {
  if (!operation) return false;
  const fragments = new Map(
    document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION
        ? [[definition.name.value, definition.selectionSet] as const]
        : [],
    ),
  );
  const seen = new Set<string>();
  const visit = (selectionSet: SelectionSetNode): boolean =>
    selectionSet.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return AUDITED_QUERY_FIELDS.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return visit(selection.selectionSet);
      const name = selection.name.value;
      if (seen.has(name)) return false;
      seen.add(name);
      const fragment = fragments.get(name);
      return fragment ? visit(fragment) : false;
    });
  return visit(operation.selectionSet);
}

/** Per request: the statements its transactions sent, and the time they took. */
const counts = new WeakMap<Request, StatementCount>();

/**
 * Work that must commit or roll back with a mutation's writes, run in its transaction after
 * execution and before COMMIT (plugins/idempotency.ts stores its payloads this way).
 */
export type BeforeCommit = (tx: Db, result: ExecutionResult) => Promise<void>;

const beforeCommitOf = new WeakMap<RequestContext, BeforeCommit[]>();

/**
 * Registers `work` for the mutation `context` is executing; call it from an `onExecute` hook
 * (before execution starts). Read-only operations have nothing to commit and never run it.
 */
export function beforeCommit(context: RequestContext, work: BeforeCommit): void {
  const list = beforeCommitOf.get(context);
  if (list) list.push(work);
  else beforeCommitOf.set(context, [work]);
}

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
        const readOnly =
          operation?.operation !== 'mutation' && !selectsAuditedField(operation, args.document);
        // An empty tenant matches no row: anonymous callers see nothing.
        const tenantId = context.viewer?.tenantId ?? '';
        const counter = counts.get(context.request) ?? newStatementCount();
        counts.set(context.request, counter);
        let executed: Awaited<ReturnType<typeof executeFn>> | undefined;
        let phase: Phase = 'starting';
        let abandoned: GraphQLError | undefined;
        const circuit = options.database.circuit;
        // Through the circuit breaker: while PostgreSQL is unreachable this fails at once
        // with 503 SERVICE_UNAVAILABLE and a Retry-After instead of waiting for a connection.
        // The breaker counts what the database really did, even after the request was
        // answered; the request's answer does not wait for that (`answerInTime`).
        const attempt = circuit.run(async () => {
          const result = await transaction();
          // A connection lost in the middle of a query fails the fields that were reading
          // (their errors are in the result), not the transaction: the answer is partial,
          // and the outage is the breaker's to count and to report as a 503.
          const lost =
            result && 'errors' in result ? result.errors?.find(isConnectionFailure) : undefined;
          if (lost) throw lost;
          return result;
        });
        return answerInTime(attempt);

        /** `attempt`'s outcome, or the error of the first bound it overruns (file comment). */
        function answerInTime<T>(pending: Promise<T>): Promise<T> {
          return new Promise<T>((resolve, reject) => {
            const abandon = (error: GraphQLError) => {
              abandoned = error;
              reject(error);
            };
            const retryAfter = () => ({ 'Retry-After': String(circuit.retryAfterSeconds()) });
            const poolBinds = options.poolTimeoutMs < options.executionTimeoutMs;
            const startBy = setTimeout(
              () => {
                if (phase !== 'starting') return;
                abandon(
                  poolBinds
                    ? apiError(
                        ErrorCode.SERVICE_UNAVAILABLE,
                        `No database connection was ready within ${options.poolTimeoutMs} ms; retry after ${circuit.retryAfterSeconds()} s.`,
                        {
                          retryAfterSeconds: circuit.retryAfterSeconds(),
                          http: { status: 503, headers: retryAfter() },
                        },
                      )
                    : timeoutError(options.executionTimeoutMs, retryAfter()),
                );
              },
              Math.min(options.poolTimeoutMs, options.executionTimeoutMs),
            );
            const endBy = setTimeout(() => {
              // Not started: `startBy`, which is never later, has answered already.
              if (phase === 'starting') return;
              abandon(
                phase === 'committing'
                  ? apiError(ErrorCode.TIMEOUT, `${COMMIT_UNCONFIRMED} in time, ${RETRY_ADVICE}`, {
                      limit: options.executionTimeoutMs,
                      http: { status: 504, headers: retryAfter() },
                    })
                  : timeoutError(options.executionTimeoutMs, retryAfter()),
              );
            }, options.executionTimeoutMs + END_MARGIN_MS);
            pending
              .then(resolve, (error: unknown) => {
                // The connection failed under the COMMIT: it may have applied or not.
                const unknown = phase === 'committing' && isUnavailable(error);
                reject(unknown ? commitOutcomeUnknown(error as GraphQLError) : error);
              })
              .finally(() => {
                phase = 'ended';
                clearTimeout(startBy);
                clearTimeout(endBy);
              });
          });
        }

        async function transaction() {
          try {
            return await options.database.db.transaction(async (tx) => {
              if (abandoned) throw abandoned;
              phase = 'running';
              countStatementsOf(tx as unknown as Db, counter);
              // One round trip sets up the whole transaction: the tenant, the role RLS
              // applies to, and read-only for queries. (Drizzle's own transaction options
              // would add a SET TRANSACTION statement; READ COMMITTED is the default.)
              const setUp = await setUpTransaction(tx as unknown as Db, {
                tenantId,
                userId: context.viewer?.userId ?? '',
                apiKeyId: context.viewer?.apiKeyId ?? '',
                role: APP_ROLE,
                readOnly: readOnly ? 'on' : 'off',
              });
              if (!isActive(setUp)) throw tokenRejected();
              Object.assign(context, { tx });
              executed = await executeFn(args);
              // What other plugins must commit with the writes (idempotency records).
              if (!readOnly && executed && !(Symbol.asyncIterator in executed)) {
                for (const work of beforeCommitOf.get(context) ?? []) {
                  await work(tx as unknown as Db, executed);
                }
              }
              // The request was answered already: roll back rather than commit unseen.
              if (abandoned) throw abandoned;
              phase = 'committing';
              return executed;
            });
          } catch (error) {
            // A statement that failed during a query aborts the transaction; PostgreSQL then
            // answers COMMIT with ROLLBACK, which PGlite (not postgres.js) turns into an error.
            // That error must not replace the result, whose failing fields carry the real
            // failure at their paths: a read-only operation has nothing to commit, so its
            // result is still the answer.
            if (readOnly && executed !== undefined) return executed;
            throw error;
          }
        }
      });
    },
    onResponse({ request, response }) {
      const counter = counts.get(request);
      if (options.exposeStatementCount && counter) {
        response.headers.set(SQL_STATEMENTS_HEADER, String(counter.count));
      }
    },
  };
}
