/**
 * Counts the SQL statements one transaction sends, and the time they take, so tests and
 * benchmarks can pin "statements per request" without timing, and Server-Timing can report
 * `db`. Drizzle gives each transaction a session of its own, and each savepoint a session made
 * from that one's options; counting swaps the transaction session's logger (which sees every
 * statement before it is sent) for one that counts. Per transaction, not per async context: an
 * AsyncLocalStorage would put a hook on every promise of every request. The statement-count
 * tests fail if a Drizzle upgrade moves these fields.
 *
 * Time: Drizzle's logger sees a statement only before it is sent, so the driver's prepared
 * query class (postgres.js or PGlite, each one shared by all of its statements) has its
 * `execute` and `all` wrapped once per process, on the first transaction that counts: a
 * statement whose logger is a counting one adds to its counter, any other (migrations, the
 * readiness check) runs as it would without the wrapper. `ms` is the time with at least one
 * of the transaction's statements in flight, so statements that overlap (DataLoader batches
 * of one level) count once, and the transaction's own BEGIN and COMMIT are not in it.
 */
import type { Logger } from 'drizzle-orm/logger';
import type { Db } from './client.ts';

export interface StatementCount {
  count: number;
  /** Milliseconds with at least one statement in flight (statements overlapping count once). */
  ms: number;
  /** Statements sent and not answered yet; `since` is when the oldest of them was sent. */
  inFlight: number;
  since: number;
}

/** A counter at zero (one shape for all, so the wrapped `execute` stays monomorphic). */
export function newStatementCount(): StatementCount {
  return { count: 0, ms: 0, inFlight: 0, since: 0 };
}

/** The parts of Drizzle's session (postgres.js and PGlite alike) that hold its logger. */
interface SessionWithLogger {
  logger: Logger;
  options: { logger?: Logger };
  prepareQuery(
    query: { sql: string; params: unknown[] },
    fields: undefined,
    name: undefined,
    isResponseInArrayMode: false,
  ): object;
}

/** The methods of Drizzle's prepared queries that send a statement. */
type Send = (this: { logger?: unknown }, ...args: unknown[]) => Promise<unknown>;

class CountingLogger implements Logger {
  constructor(readonly counter: StatementCount) {}
  logQuery() {
    this.counter.count += 1;
  }
}

/** Session classes whose prepared queries are timed already. */
const timedSessions = new WeakSet<object>();

/** From now on, every statement `tx` (or a savepoint within it) sends adds one to `counter`. */
export function countStatementsOf(tx: Db, counter: StatementCount): void {
  const session = (tx as unknown as { session: SessionWithLogger }).session;
  if (!timedSessions.has(session.constructor)) timePreparedQueriesOf(session);
  const logger = new CountingLogger(counter);
  session.logger = logger;
  session.options = { ...session.options, logger };
}

/** Wraps the sending methods of the prepared query class `session` makes. */
function timePreparedQueriesOf(session: SessionWithLogger): void {
  const prototype = Object.getPrototypeOf(
    session.prepareQuery({ sql: '', params: [] }, undefined, undefined, false),
  ) as Record<string, Send>;
  for (const method of ['execute', 'all'] as const) {
    const send = prototype[method];
    if (typeof send === 'function') prototype[method] = timed(send);
  }
  timedSessions.add(session.constructor);
}

function timed(send: Send): Send {
  return function timedSend(...args) {
    const logger = this.logger;
    if (!(logger instanceof CountingLogger)) return send.apply(this, args);
    const counter = logger.counter;
    if (counter.inFlight++ === 0) counter.since = performance.now();
    return send.apply(this, args).finally(() => {
      if (--counter.inFlight === 0) counter.ms += performance.now() - counter.since;
    });
  };
}
