/**
 * Keyset (cursor) pagination for Relay connections. A cursor is an opaque base64url token
 * holding the sort key and id of a row, so pages stay stable under inserts: the next page
 * starts *after that row*, not after the n-th row. Page sizes are validated, never clamped:
 * asking for more than the maximum is an error the client can see and fix.
 */
import { parseCursorConnectionArgs } from '@pothos/core';
import { resolveCursorConnection } from '@pothos/plugin-relay';
import { and, asc, desc, type SQL, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Config } from '../config.ts';
import { badUserInput } from '../errors.ts';
import { parseId } from '../ids.ts';

export interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

type SortValue = string | number | Date;

/** One way to sort a list: a column plus the row's id as the tie-breaker. */
export interface SortKey<Row> {
  /** Written into cursors so a cursor from another ordering is refused, not misapplied. */
  name: string;
  column: PgColumn;
  kind: 'text' | 'int' | 'timestamp';
  value: (row: Row) => SortValue;
}

export interface KeysetPage {
  /** Conditions placing rows after/before the cursors; undefined when there are none. */
  where: SQL | undefined;
  orderBy: SQL[];
  limit: number;
}

/** Checks `first`/`last` against the configured limits; throws BAD_USER_INPUT otherwise. */
export function validatePageArgs(args: ConnectionArgs, limits: Config['pagination']): void {
  if (args.first != null && args.last != null) {
    throw badUserInput('Pass either `first` or `last`, not both.', ['first']);
  }
  for (const name of ['first', 'last'] as const) {
    const size = args[name];
    if (size == null) continue;
    if (size < 0) throw badUserInput(`\`${name}\` must be at least 0; got ${size}.`, [name]);
    if (size > limits.maxSize) {
      throw badUserInput(`\`${name}\` must be at most ${limits.maxSize}; got ${size}.`, [name]);
    }
  }
}

export interface KeysetOptions<Row extends { id: string }> {
  args: ConnectionArgs;
  limits: Config['pagination'];
  sort: SortKey<Row>;
  direction: 'asc' | 'desc';
  idColumn: PgColumn;
}

/**
 * Plans one page: validates the arguments and turns cursors into WHERE conditions
 * (`page`), and shapes fetched rows into edges and pageInfo (`toConnection`). Split in two so
 * a DataLoader can fetch the same page for many parents in one query.
 */
export function planKeysetPage<Row extends { id: string }>(options: KeysetOptions<Row>) {
  const { args, limits, sort, direction, idColumn } = options;
  validatePageArgs(args, limits);
  const after = args.after != null ? decodeCursor(args.after, sort, 'after') : null;
  const before = args.before != null ? decodeCursor(args.before, sort, 'before') : null;
  const sizes = { args, defaultSize: limits.defaultSize, maxSize: limits.maxSize };
  const { limit, inverted } = parseCursorConnectionArgs(sizes);

  // Walking backwards (`last`/`before`) reads in the opposite order; toConnection reverses.
  const order = (inverted ? flip(direction) : direction) === 'asc' ? asc : desc;
  const conditions = [
    after ? compare(sort, idColumn, direction, 'after', after) : undefined,
    before ? compare(sort, idColumn, direction, 'before', before) : undefined,
  ].filter((condition): condition is SQL => condition !== undefined);
  const page: KeysetPage = {
    where: conditions.length > 0 ? and(...conditions) : undefined,
    orderBy: [order(sort.column), order(idColumn)],
    limit,
  };
  return {
    page,
    toConnection: async (rows: Row[]) => {
      const connection = await resolveCursorConnection(
        { ...sizes, toCursor: (row: Row) => encodeCursor(sort, row) },
        () => rows,
      );
      // On an empty page without cursor arguments (`first: 0`, or a filter that matches
      // nothing) Pothos reports '' as start and end cursor: not a cursor this API accepts
      // back, so it is null, as the Relay spec has it for "no cursor".
      const { startCursor, endCursor } = connection.pageInfo;
      return {
        ...connection,
        pageInfo: {
          ...connection.pageInfo,
          startCursor: startCursor || null,
          endCursor: endCursor || null,
        },
      };
    },
  };
}

/** A connection over one query: plan the page, fetch it, shape it. */
export async function keysetConnection<Row extends { id: string }>(
  options: KeysetOptions<Row> & { fetch: (page: KeysetPage) => Promise<Row[]> },
) {
  const { page, toConnection } = planKeysetPage(options);
  return toConnection(await options.fetch(page));
}

interface DecodedCursor {
  value: SortValue;
  id: string;
}

function encodeCursor<Row extends { id: string }>(sort: SortKey<Row>, row: Row): string {
  const value = sort.value(row);
  const plain = value instanceof Date ? value.toISOString() : value;
  return Buffer.from(JSON.stringify([sort.name, plain, row.id])).toString('base64url');
}

function decodeCursor<Row>(cursor: string, sort: SortKey<Row>, argName: string): DecodedCursor {
  const invalid = () =>
    badUserInput(`\`${argName}\` is not a valid cursor for this list and ordering.`, [argName]);
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) throw invalid();
  const [name, value, id] = decoded as unknown[];
  // Everything below goes into SQL as a parameter, so a tampered cursor must be refused here
  // with BAD_USER_INPUT: a value Postgres rejects (an int out of int4 range, a NUL byte, a
  // year it cannot store) would otherwise fail the statement and surface as a 500.
  if (name !== sort.name || typeof id !== 'string' || parseId(id) === null) throw invalid();
  if (sort.kind === 'int' && isInt4(value)) return { value, id };
  if (sort.kind === 'text' && typeof value === 'string' && !value.includes('\u0000')) {
    return { value, id };
  }
  if (sort.kind === 'timestamp' && typeof value === 'string') {
    // Only what encodeCursor writes: a canonical ISO string of a year Postgres can store.
    const date = new Date(value);
    if (
      !Number.isNaN(date.getTime()) &&
      date.toISOString() === value &&
      date.getUTCFullYear() >= 1 &&
      date.getUTCFullYear() <= 9999
    ) {
      return { value: date, id };
    }
  }
  throw invalid();
}

function isInt4(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31;
}

function flip(direction: 'asc' | 'desc'): 'asc' | 'desc' {
  return direction === 'asc' ? 'desc' : 'asc';
}

/** `(sort_column, id) > (value, id)` or `<`, depending on side and direction. */
function compare<Row>(
  sort: SortKey<Row>,
  idColumn: PgColumn,
  direction: 'asc' | 'desc',
  side: 'after' | 'before',
  cursor: DecodedCursor,
): SQL {
  const greater = (side === 'after') === (direction === 'asc');
  const value =
    sort.kind === 'timestamp'
      ? sql`${(cursor.value as Date).toISOString()}::timestamptz`
      : sort.kind === 'int'
        ? sql`${cursor.value}::int`
        : sql`${cursor.value}::text`;
  return greater
    ? sql`(${sort.column}, ${idColumn}) > (${value}, ${cursor.id}::text)`
    : sql`(${sort.column}, ${idColumn}) < (${value}, ${cursor.id}::text)`;
}
