/**
 * Row-level security, the second wall of tenant isolation, tested below the app: straight
 * SQL inside a transaction that does what the tenant-transaction plugin does (set
 * `app.tenant_id` transaction-locally, switch to `orders_app`). Runs on PGlite, and on real
 * PostgreSQL when DATABASE_URL is set.
 */
import { eq, inArray, sql } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, type Db } from '../../src/db/client.ts';
import { orderItems, orders, products, tenants, users } from '../../src/db/schema.ts';
import { DEMO_TENANTS, seedDatabase } from '../../src/db/seed.ts';
import { IdPrefix, newId } from '../../src/ids.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

interface TenantTable {
  name: string;
  table: PgTable;
  id: AnyPgColumn<{ data: string; notNull: true }>;
  /** The column RLS compares with `app.tenant_id` (`id` for tenants, `tenant_id` elsewhere). */
  tenant: AnyPgColumn<{ data: string; notNull: true }>;
  /** Its property name in Drizzle rows. */
  tenantKey: 'id' | 'tenantId';
  prefix: IdPrefix;
  /** Values that keep a copied row clear of unique constraints. */
  distinct: Record<string, string>;
}

const TABLES: TenantTable[] = [
  {
    name: 'tenants',
    table: tenants,
    id: tenants.id,
    tenant: tenants.id,
    tenantKey: 'id',
    prefix: IdPrefix.Tenant,
    distinct: { slug: 'intruder' },
  },
  {
    name: 'users',
    table: users,
    id: users.id,
    tenant: users.tenantId,
    tenantKey: 'tenantId',
    prefix: IdPrefix.User,
    distinct: { username: 'intruder', email: 'intruder@intruder.example' },
  },
  {
    name: 'products',
    table: products,
    id: products.id,
    tenant: products.tenantId,
    tenantKey: 'tenantId',
    prefix: IdPrefix.Product,
    distinct: {},
  },
  {
    name: 'orders',
    table: orders,
    id: orders.id,
    tenant: orders.tenantId,
    tenantKey: 'tenantId',
    prefix: IdPrefix.Order,
    distinct: {},
  },
  {
    name: 'order_items',
    table: orderItems,
    id: orderItems.id,
    tenant: orderItems.tenantId,
    tenantKey: 'tenantId',
    prefix: IdPrefix.OrderItem,
    distinct: {},
  },
];

const [ACME, GLOBEX] = DEMO_TENANTS.map((tenant) => tenant.id) as [string, string];
const PAIRS = [
  ['acme', ACME, 'globex', GLOBEX],
  ['globex', GLOBEX, 'acme', ACME],
] as const;

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  await seedDatabase(database.db, { scale: 1 });
});
afterAll(() => database.destroy());

/** What each request does: a transaction as `orders_app`, with `app.tenant_id` set unless null. */
function asApp<T>(tenantId: string | null, work: (tx: Db) => Promise<T>): Promise<T> {
  return database.db.transaction(async (tx) => {
    if (tenantId !== null) {
      await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
    }
    await tx.execute(sql`select set_config('role', ${APP_ROLE}, true)`);
    return work(tx);
  });
}

/**
 * The connecting (privileged) role, scoped to one tenant so that it sees that tenant's rows
 * whether it is a superuser (bypasses RLS) or only the tables' owner (FORCE'd RLS applies).
 */
function asOwner<T>(tenantId: string, work: (tx: Db) => Promise<T>): Promise<T> {
  return database.db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
    return work(tx);
  });
}

/** Rows of a raw `execute`: postgres.js returns an array, PGlite an object with `rows`. */
function rowsOf(result: unknown): Record<string, unknown>[] {
  return Array.isArray(result) ? result : (result as { rows: Record<string, unknown>[] }).rows;
}

function visibleRows(tx: Db, t: TenantTable) {
  return tx.select({ id: t.id, tenant: t.tenant }).from(t.table);
}

/** Ids of the rows `tenantId` owns, with an explicit filter, as the privileged role. */
async function idsOwnedBy(t: TenantTable, tenantId: string): Promise<string[]> {
  const rows = await asOwner(tenantId, (tx) =>
    tx.select({ id: t.id }).from(t.table).where(eq(t.tenant, tenantId)),
  );
  return rows.map((row) => row.id).sort();
}

/** The database error (SQLSTATE and message) that `work` failed with, however it was wrapped. */
async function databaseErrorOf(work: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await work;
  } catch (error) {
    for (let current: unknown = error; current instanceof Error; current = current.cause) {
      const code = (current as { code?: unknown }).code;
      if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
        return { code, message: current.message };
      }
    }
    throw error;
  }
  throw new Error('expected the statement to be refused');
}

describe('the application role', () => {
  it('is an ordinary role: no superuser, no BYPASSRLS', async () => {
    const rows = rowsOf(
      await database.db.execute(
        sql`select rolsuper, rolbypassrls from pg_roles where rolname = ${APP_ROLE}`,
      ),
    );
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false }]);
  });

  it('is who runs the statements inside a request transaction', async () => {
    const rows = await asApp(ACME, async (tx) =>
      rowsOf(await tx.execute(sql`select current_user as "user"`)),
    );
    expect(rows).toEqual([{ user: APP_ROLE }]);
  });

  it('meets enabled and FORCE’d row-level security on every tenant table', async () => {
    const rows = rowsOf(
      await database.db.execute(sql`
        select relname, relrowsecurity, relforcerowsecurity from pg_class
        where relname in ('tenants', 'users', 'products', 'orders', 'order_items')
          and relkind = 'r' and relnamespace = 'public'::regnamespace
        order by relname`),
    );
    expect(rows).toEqual(
      ['order_items', 'orders', 'products', 'tenants', 'users'].map((relname) => ({
        relname,
        relrowsecurity: true,
        relforcerowsecurity: true,
      })),
    );
  });
});

describe.each(PAIRS)('with app.tenant_id set to %s', (_slug, own, _otherSlug, other) => {
  it.each(TABLES.map((t) => [t.name, t] as const))(
    'selecting from %s returns exactly its own rows',
    async (_name, t) => {
      const owned = await idsOwnedBy(t, own);
      expect(owned.length).toBeGreaterThan(0);
      const visible = await asApp(own, (tx) => visibleRows(tx, t));
      expect(visible.map((row) => row.id).sort()).toEqual(owned);
      expect(new Set(visible.map((row) => row.tenant))).toEqual(new Set([own]));
    },
  );

  it('sees only its own tenant in tenants', async () => {
    const visible = await asApp(own, (tx) => tx.select({ id: tenants.id }).from(tenants));
    expect(visible).toEqual([{ id: own }]);
  });

  it.each(TABLES.map((t) => [t.name, t] as const))(
    'refuses to insert a row of the other tenant into %s',
    async (name, t) => {
      const [sample] = await asOwner(other, (tx) =>
        tx.select().from(t.table).where(eq(t.tenant, other)).limit(1),
      );
      const copy = { ...sample, ...t.distinct, id: newId(t.prefix) };
      const error = await databaseErrorOf(
        asApp(own, (tx) => tx.insert(t.table).values(copy as never)),
      );
      expect(error).toEqual({
        code: '42501',
        message: `new row violates row-level security policy for table "${name}"`,
      });
    },
  );

  it.each(TABLES.map((t) => [t.name, t] as const))(
    'refuses to move one of its rows in %s to the other tenant',
    async (name, t) => {
      const [mine] = await idsOwnedBy(t, own);
      const error = await databaseErrorOf(
        asApp(own, (tx) =>
          tx
            .update(t.table)
            .set({ [t.tenantKey]: other } as never)
            .where(eq(t.id, mine!)),
        ),
      );
      expect(error).toEqual({
        code: '42501',
        message: `new row violates row-level security policy for table "${name}"`,
      });
      expect(await idsOwnedBy(t, own)).toContain(mine);
    },
  );

  it.each(TABLES.map((t) => [t.name, t] as const))(
    "cannot update or delete the other tenant's rows in %s: they are not there",
    async (_name, t) => {
      const theirs = await idsOwnedBy(t, other);
      const [updated, deleted] = await asApp(own, async (tx) => [
        await tx
          .update(t.table)
          .set({ [t.tenantKey]: own } as never)
          .where(eq(t.tenant, other))
          .returning({ id: t.id }),
        await tx.delete(t.table).where(eq(t.tenant, other)).returning({ id: t.id }),
      ]);
      expect(updated).toEqual([]);
      expect(deleted).toEqual([]);
      expect(await idsOwnedBy(t, other)).toEqual(theirs);
    },
  );
});

/**
 * References across tenants: a row of its own that points at the other tenant's rows. RLS
 * cannot see these (foreign-key checks bypass it); the composite (tenant_id, id) keys refuse them.
 */
const REFERENCES = [
  {
    table: 'order_items',
    column: 'product_id',
    key: 'productId',
    target: 'products',
    constraint: 'order_items_product_fk',
  },
  {
    table: 'order_items',
    column: 'order_id',
    key: 'orderId',
    target: 'orders',
    constraint: 'order_items_order_fk',
  },
  {
    table: 'orders',
    column: 'customer_id',
    key: 'customerId',
    target: 'users',
    constraint: 'orders_customer_fk',
  },
] as const;

describe.each(PAIRS)(
  'with app.tenant_id set to %s, across tenants',
  (_slug, own, _otherSlug, other) => {
    const tableNamed = (name: string) => TABLES.find((t) => t.name === name)!;

    it.each(REFERENCES.map((r) => [`${r.table}.${r.column}`, r] as const))(
      "refuses a row of its own whose %s is the other tenant's",
      async (_name, r) => {
        const [theirs] = await idsOwnedBy(tableNamed(r.target), other);
        const t = tableNamed(r.table);
        const [sample] = await asOwner(own, (tx) =>
          tx.select().from(t.table).where(eq(t.tenant, own)).limit(1),
        );
        const copy = { ...sample, id: newId(t.prefix), [r.key]: theirs };
        const error = await databaseErrorOf(
          asApp(own, (tx) => tx.insert(t.table).values(copy as never)),
        );
        expect(error).toEqual({
          code: '23503',
          message: `insert or update on table "${r.table}" violates foreign key constraint "${r.constraint}"`,
        });
      },
    );

    it.each(REFERENCES.map((r) => [`${r.table}.${r.column}`, r] as const))(
      "refuses to point one of its rows' %s at the other tenant's",
      async (_name, r) => {
        const [theirs] = await idsOwnedBy(tableNamed(r.target), other);
        const t = tableNamed(r.table);
        const [mine] = await idsOwnedBy(t, own);
        const error = await databaseErrorOf(
          asApp(own, (tx) =>
            tx.execute(
              sql`update ${t.table} set ${sql.identifier(r.column)} = ${theirs} where ${t.id} = ${mine}`,
            ),
          ),
        );
        expect(error).toEqual({
          code: '23503',
          message: `insert or update on table "${r.table}" violates foreign key constraint "${r.constraint}"`,
        });
      },
    );

    it.each(TABLES.map((t) => [t.name, t] as const))(
      "cannot delete the other tenant's rows in %s by id",
      async (_name, t) => {
        const theirs = await idsOwnedBy(t, other);
        const deleted = await asApp(own, (tx) =>
          tx.delete(t.table).where(inArray(t.id, theirs)).returning({ id: t.id }),
        );
        expect(deleted).toEqual([]);
        expect(await idsOwnedBy(t, other)).toEqual(theirs);
      },
    );

    it('cannot switch row-level security off', async () => {
      const disabled = await databaseErrorOf(
        asApp(own, (tx) => tx.execute(sql`alter table orders disable row level security`)),
      );
      expect(disabled).toEqual({ code: '42501', message: 'must be owner of table orders' });
      const unsecured = await databaseErrorOf(
        asApp(own, async (tx) => {
          await tx.execute(sql`set local row_security = off`);
          return tx.select({ id: orders.id }).from(orders);
        }),
      );
      expect(unsecured).toEqual({
        code: '42501',
        message: 'query would be affected by row-level security policy for table "orders"',
      });
    });
  },
);

describe('without a tenant', () => {
  it.each(TABLES.map((t) => [t.name, t] as const))(
    'selecting from %s returns nothing when app.tenant_id was never set',
    async (_name, t) => {
      expect(await asApp(null, (tx) => visibleRows(tx, t))).toEqual([]);
    },
  );

  it.each(TABLES.map((t) => [t.name, t] as const))(
    'selecting from %s returns nothing for the empty tenant anonymous requests run with',
    async (_name, t) => {
      expect(await asApp('', (tx) => visibleRows(tx, t))).toEqual([]);
    },
  );

  it('cannot insert a tenant', async () => {
    const error = await databaseErrorOf(
      asApp(null, (tx) =>
        tx.insert(tenants).values({ id: newId(IdPrefix.Tenant), slug: 'stray', name: 'Stray' }),
      ),
    );
    expect(error).toEqual({
      code: '42501',
      message: 'new row violates row-level security policy for table "tenants"',
    });
  });
});
