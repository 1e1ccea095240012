/**
 * Statements built once and sent as prepared statements: for the queries every page runs (rows
 * by id for DataLoader batches), with placeholders for what changes between calls.
 *
 * Why: Drizzle turns a query builder into SQL text on every execution, walking every column
 * and condition, which took about a tenth of a page's CPU time; and postgres.js sends an
 * unprepared statement that has parameters in two round trips (Parse and Describe, then, once
 * the parameter types are back, Bind and Execute). A prepared statement is described once per
 * connection and then sent in one round trip. So each statement here is built once, on the
 * first transaction that runs it, and later transactions reuse the built statement with their
 * own connection (`client`) and statement counter (`logger`): the two fields of Drizzle's
 * prepared query that belong to the transaction. Lists of keys are one array parameter
 * (`= any($1)`), so the SQL text, and with it the prepared statement, is the same for any
 * number of keys.
 */
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Db } from './client.ts';

/** What Drizzle's prepared queries (postgres.js and PGlite alike) have that we rebind. */
interface PreparedQuery<Row> {
  client: unknown;
  logger: unknown;
  execute(values: Record<string, unknown>): Promise<Row[]>;
}

interface SessionOf {
  session: {
    client: unknown;
    logger: unknown;
    prepareQuery(
      query: { sql: string; params: unknown[] },
      fields: undefined,
      name: string,
      isResponseInArrayMode: false,
    ): { execute(values: Record<string, unknown>): Promise<unknown> };
  };
}

/**
 * A query built once by `build` (a Drizzle select with `sql.placeholder(...)`s), run in
 * any transaction with values for its placeholders. `name` marks it prepared for postgres.js
 * (which names statements itself, per connection, by their text).
 */
export function preparedSelect<Values extends Record<string, unknown>, Row>(
  name: string,
  build: (db: Db) => { prepare(name: string): unknown },
): (tx: Db, values: Values) => Promise<Row[]> {
  // One per driver (its session class): tests may open PGlite and PostgreSQL in one process.
  const builtFor = new WeakMap<object, PreparedQuery<Row>>();
  return (tx, values) => {
    const session = (tx as unknown as SessionOf).session;
    let built = builtFor.get(session.constructor);
    if (!built) {
      built = build(tx).prepare(name) as PreparedQuery<Row>;
      builtFor.set(session.constructor, built);
    }
    const bound = Object.create(built) as PreparedQuery<Row>;
    bound.client = session.client;
    bound.logger = session.logger;
    return bound.execute(values);
  };
}

/**
 * A statement of plain SQL (with `sql.placeholder(...)`s), turned into text once and run in
 * any transaction as a prepared statement.
 */
export function preparedStatement<Values extends Record<string, unknown>>(
  name: string,
  statement: SQL,
): (tx: Db, values: Values) => Promise<unknown> {
  const query = new PgDialect().sqlToQuery(statement);
  return (tx, values) =>
    (tx as unknown as SessionOf).session
      .prepareQuery(query, undefined, name, false)
      .execute(values);
}
