/**
 * A way to watch every SQL statement a driver sends, for either driver: tracing wraps each one
 * in a span (observability/tracing.ts). Drizzle's logger sees a statement only before it runs,
 * never when it ends or fails; the driver call is the one place that sees both.
 *
 * Only `Database.observe` (db/client.ts) uses these, and only tracing calls that: a server
 * without tracing sends its statements through the plain driver, with nothing in between.
 */
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { PendingQuery, Row, Sql, TransactionSql } from 'postgres';

/**
 * Wraps one statement: `run` sends it and settles with its result. `text` is the SQL as sent,
 * with `$1` placeholders: parameter values are never handed to an observer.
 */
export type StatementObserver = <T>(text: string, run: () => Promise<T>) => Promise<T>;

/** PGlite, or one of its transactions, with every `query` observed (the only call Drizzle makes). */
export function observePglite<Client extends PGlite | Transaction>(
  client: Client,
  observe: StatementObserver,
): Client {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'query') {
        return (text: string, ...rest: unknown[]) =>
          observe(text, () =>
            (target.query as (...args: unknown[]) => Promise<unknown>)(text, ...rest),
          );
      }
      if (property === 'transaction' && 'transaction' in target) {
        return (callback: (tx: Transaction) => Promise<unknown>) =>
          target.transaction((tx) => callback(observePglite(tx, observe)));
      }
      return forward(target, property);
    },
  });
}

/**
 * A postgres.js client with every `unsafe` statement observed (Drizzle sends all of its SQL
 * that way), including inside `begin` and `savepoint`, which hand out a client of their own.
 */
export function observePostgres<Client extends Sql | TransactionSql>(
  client: Client,
  observe: StatementObserver,
): Client {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'unsafe') {
        return (text: string, ...rest: unknown[]) =>
          observePending(
            (target.unsafe as (...args: unknown[]) => PendingQuery<Row[]>)(text, ...rest),
            text,
            observe,
          );
      }
      if (property === 'begin' || property === 'savepoint') {
        const open = forward(target, property) as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => {
          // The callback comes last, after an optional mode (`begin`) or name (`savepoint`).
          const callback = args.pop() as (tx: TransactionSql) => unknown;
          return open(...args, (tx: TransactionSql) => callback(observePostgres(tx, observe)));
        };
      }
      return forward(target, property);
    },
  });
}

/**
 * A postgres.js query is lazy: it is sent when first awaited, after modifiers such as
 * `.values()` have been chained on. So the observer starts when it is awaited, and the
 * modifiers return this same observed query.
 */
function observePending<Query extends PendingQuery<Row[]>>(
  pending: Query,
  text: string,
  observe: StatementObserver,
): Query {
  let sent: Promise<unknown> | undefined;
  const observed: Query = new Proxy(pending, {
    get(target, property) {
      if (property === 'then' || property === 'catch' || property === 'finally') {
        sent ??= observe(text, async () => await target);
        return sent[property].bind(sent);
      }
      const value = forward(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = value(...args);
        return result === target ? observed : result;
      };
    },
  });
  return observed;
}

/** Everything else as it is; methods bound to the real object, whose private fields they use. */
function forward(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property, target);
  return typeof value === 'function' && property !== 'constructor' ? value.bind(target) : value;
}
