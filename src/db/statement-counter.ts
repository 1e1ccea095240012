/**
 * Counts the SQL statements each request sends, through Drizzle's logger and an
 * AsyncLocalStorage, so tests and benchmarks can pin "statements per request" without timing.
 * DataLoader batches run in callbacks scheduled from the request, so they inherit its store.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'drizzle-orm/logger';

export interface StatementCount {
  count: number;
}

const storage = new AsyncLocalStorage<StatementCount>();

export function countStatements<T>(counter: StatementCount, run: () => T): T {
  return storage.run(counter, run);
}

export const statementCountingLogger: Logger = {
  logQuery() {
    const counter = storage.getStore();
    if (counter) counter.count += 1;
  },
};
