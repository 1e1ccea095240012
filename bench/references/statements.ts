/**
 * The SQL of one OrderList page, as our server sends it (read off PostgreSQL's log with
 * `log_statement=all`), for the references to send the same statements in the same form:
 *
 *   begin
 *   select set_config('app.tenant_id', $1, true), set_config('role', $2, true),
 *          set_config('transaction_read_only', $3, true)
 *   select … from "orders" where tenant … order by created_at desc, id desc limit $2   (21)
 *   select … from "users" where tenant … and "users"."id" = any($2)                     (customers)
 *   select … from "order_items" inner join "orders" … = any($2) order by order_id, id   (lines)
 *   select … from "products" where tenant … and "products"."id" = any($2)               (products)
 *   commit
 *
 * The same columns (every column, as Drizzle selects them), the same quoting and parameters,
 * so PostgreSQL plans and runs the same queries; postgres.js prepares each one per connection
 * as it does under Drizzle. The transaction is postgres.js's `begin`, as under Drizzle, and
 * row-level security holds because the role and tenant are set in it, as ours does
 * (src/plugins/tenant-transaction.ts).
 */
import postgres, { type Sql, type TransactionSql } from 'postgres';
import type { ReferenceSettings } from './settings.ts';

/** The non-superuser role RLS applies to (src/db/client.ts's APP_ROLE). */
const APP_ROLE = 'orders_app';

export interface OrderRow {
  id: string;
  tenant_id: string;
  customer_id: string;
  status: string;
  currency: string;
  note: string | null;
  total_cents: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface UserRow {
  id: string;
  tenant_id: string;
  username: string;
  email: string;
  display_name: string;
  role: string;
  created_at: Date;
}

export interface OrderItemRow {
  id: string;
  tenant_id: string;
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price_cents: number;
  /** The order's currency, which the prices are in. */
  currency: string;
  /** The order's customer. */
  customer_id: string;
}

export interface ProductRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  price_cents: number;
  cost_cents: number;
  currency: string;
  stock: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** A pool as ours opens it (src/db/client.ts): the same size and connection settings. */
export function openPool(settings: ReferenceSettings): Sql {
  return postgres(settings.databaseUrl, {
    max: settings.poolMax,
    connect_timeout: 5,
    idle_timeout: 60,
    onnotice: () => {},
    connection: {
      application_name: 'orders-api-reference',
      ...(settings.statementTimeoutMs > 0
        ? { statement_timeout: settings.statementTimeoutMs }
        : {}),
    },
  });
}

/**
 * The statements of one request's transaction, counted: the count (every statement after
 * BEGIN and before COMMIT) is what ours reports in X-SQL-Statements.
 */
export class OrderListStatements {
  count = 0;
  readonly #tx: TransactionSql;
  readonly #tenantId: string;

  constructor(tx: TransactionSql, tenantId: string) {
    this.#tx = tx;
    this.#tenantId = tenantId;
  }

  /** The tenant (RLS), the application role and read-only, in one statement. */
  setUp(): Promise<unknown> {
    this.count++;
    return this
      .#tx`select set_config('app.tenant_id', ${this.#tenantId}, true), set_config('role', ${APP_ROLE}, true), set_config('transaction_read_only', ${'on'}, true)`;
  }

  /** The newest orders of the tenant; `limit` is the page size plus one (is there a next page?). */
  ordersPage(limit: number): Promise<OrderRow[]> {
    this.count++;
    return this.#tx<
      OrderRow[]
    >`select "id", "tenant_id", "customer_id", "status", "currency", "note", "total_cents", "version", "created_at", "updated_at" from "orders" where "orders"."tenant_id" = ${this.#tenantId} order by "orders"."created_at" desc, "orders"."id" desc limit ${limit}`;
  }

  usersByIds(ids: readonly string[]): Promise<UserRow[]> {
    this.count++;
    return this.#tx<
      UserRow[]
    >`select "id", "tenant_id", "username", "email", "display_name", "role", "created_at" from "users" where ("users"."tenant_id" = ${this.#tenantId} and "users"."id" = any(${ids as string[]}))`;
  }

  /** Every line of the orders, ordered by order and id. */
  itemsOfOrders(orderIds: readonly string[]): Promise<OrderItemRow[]> {
    this.count++;
    return this.#tx<
      OrderItemRow[]
    >`select "order_items"."id", "order_items"."tenant_id", "order_items"."order_id", "order_items"."product_id", "order_items"."quantity", "order_items"."unit_price_cents", "orders"."currency", "orders"."customer_id" from "order_items" inner join "orders" on "orders"."id" = "order_items"."order_id" where ("order_items"."tenant_id" = ${this.#tenantId} and "order_items"."order_id" = any(${orderIds as string[]})) order by "order_items"."order_id", "order_items"."id"`;
  }

  productsByIds(ids: readonly string[]): Promise<ProductRow[]> {
    this.count++;
    return this.#tx<
      ProductRow[]
    >`select "id", "tenant_id", "name", "description", "price_cents", "cost_cents", "currency", "stock", "version", "created_at", "updated_at" from "products" where ("products"."tenant_id" = ${this.#tenantId} and "products"."id" = any(${ids as string[]}))`;
  }
}

/** One request's transaction for `tenantId`, set up, around `work`; committed when it returns. */
export function inTenantTransaction<T>(
  sql: Sql,
  tenantId: string,
  work: (statements: OrderListStatements) => Promise<T>,
): Promise<T> {
  return sql.begin(async (tx) => {
    const statements = new OrderListStatements(tx, tenantId);
    await statements.setUp();
    return work(statements);
  }) as Promise<T>;
}

/** A transaction opened in one hook and committed in a later one (Mercurius's hooks). */
export interface OpenTransaction {
  statements: OrderListStatements;
  /** Commits (a read-only transaction: nothing to write) and gives the connection back. */
  commit(): Promise<void>;
}

/**
 * Opens the same transaction as `inTenantTransaction` and holds it until `commit()`: postgres.js
 * only has `begin(callback)`, so the callback waits for the commit.
 */
export function openTenantTransaction(sql: Sql, tenantId: string): Promise<OpenTransaction> {
  return new Promise((opened, failed) => {
    let finish = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const done = inTenantTransaction(sql, tenantId, async (statements) => {
      let committing: Promise<void> | undefined;
      opened({
        statements,
        commit() {
          finish();
          committing ??= done.then(() => undefined);
          return committing;
        },
      });
      await finished;
    });
    // Before `opened`, a failure (no connection, the set-up refused) rejects the opening;
    // after it, `commit()` reports it.
    done.catch(failed);
  });
}
