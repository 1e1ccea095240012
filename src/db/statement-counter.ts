/**
 * Counts the SQL statements one transaction sends, so tests and benchmarks can pin "statements
 * per request" without timing. Drizzle gives each transaction a session of its own, and each
 * savepoint a session made from that one's options; counting swaps the transaction session's
 * logger (which sees every statement before it is sent) for one that counts. Per transaction,
 * not per async context: an AsyncLocalStorage would put a hook on every promise of every
 * request. The statement-count tests fail if a Drizzle upgrade moves these fields.
 */
import type { Logger } from 'drizzle-orm/logger';
import type { Db } from './client.ts';

export interface StatementCount {
  count: number;
}

/** The parts of Drizzle's session (postgres.js and PGlite alike) that hold its logger. */
interface SessionWithLogger {
  logger: Logger;
  options: { logger?: Logger };
}

/** From now on, every statement `tx` (or a savepoint within it) sends adds one to `counter`. */
export function countStatementsOf(tx: Db, counter: StatementCount): void {
  const session = (tx as unknown as { session: SessionWithLogger }).session;
  const logger: Logger = {
    logQuery() {
      counter.count += 1;
    },
  };
  session.logger = logger;
  session.options = { ...session.options, logger };
}
