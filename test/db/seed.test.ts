import { createHash } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.ts';
import { orderItems, orders, products, tenants, users } from '../../src/db/schema.ts';
import {
  DEMO_TENANTS,
  SeedConflictError,
  type SeedSummary,
  seedDatabase,
} from '../../src/db/seed.ts';
import { isIdOf } from '../../src/ids.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/** Runs `work` in a transaction scoped to one tenant, so RLS never hides its rows. */
function asTenant<T>(db: Db, tenantId: string, work: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
    return work(tx);
  });
}

/** Every seeded row of every table, per tenant, in id order. */
async function dumpRows(db: Db) {
  const dump: Record<string, unknown[]> = {};
  for (const tenant of DEMO_TENANTS) {
    dump[tenant.slug] = await asTenant(db, tenant.id, async (tx) => [
      await tx.select().from(tenants).where(eq(tenants.id, tenant.id)),
      await tx.select().from(users).where(eq(users.tenantId, tenant.id)).orderBy(asc(users.id)),
      await tx
        .select()
        .from(products)
        .where(eq(products.tenantId, tenant.id))
        .orderBy(asc(products.id)),
      await tx.select().from(orders).where(eq(orders.tenantId, tenant.id)).orderBy(asc(orders.id)),
      await tx
        .select()
        .from(orderItems)
        .where(eq(orderItems.tenantId, tenant.id))
        .orderBy(asc(orderItems.id)),
    ]);
  }
  return dump;
}

async function digest(db: Db): Promise<string> {
  return createHash('sha256')
    .update(JSON.stringify(await dumpRows(db)))
    .digest('hex');
}

async function countRows(db: Db): Promise<SeedSummary> {
  const total = { tenants: 0, users: 0, products: 0, orders: 0, orderItems: 0 };
  const dump = await dumpRows(db);
  for (const [tenantRows, userRows, productRows, orderRows, itemRows] of Object.values(
    dump,
  ) as unknown[][][]) {
    total.tenants += tenantRows!.length;
    total.users += userRows!.length;
    total.products += productRows!.length;
    total.orders += orderRows!.length;
    total.orderItems += itemRows!.length;
  }
  return total;
}

/**
 * Orders whose total is not the sum of quantity × unit price of their items, whose items are
 * in another currency or at another price than their product, or that have no 1–5 items.
 */
async function inconsistentOrders(db: Db): Promise<string[]> {
  const rows = await db
    .select({ id: orders.id })
    .from(orders)
    .leftJoin(
      orderItems,
      and(eq(orderItems.tenantId, orders.tenantId), eq(orderItems.orderId, orders.id)),
    )
    .leftJoin(
      products,
      and(eq(products.tenantId, orderItems.tenantId), eq(products.id, orderItems.productId)),
    )
    .groupBy(orders.id, orders.totalCents, orders.currency)
    .having(
      sql`${orders.totalCents} <> coalesce(sum(${orderItems.quantity} * ${orderItems.unitPriceCents}), -1)
        or bool_or(${products.currency} <> ${orders.currency})
        or bool_or(${products.priceCents} <> ${orderItems.unitPriceCents})
        or count(${orderItems.id}) not between 1 and 5`,
    );
  return rows.map((row) => row.id);
}

/** What the documented formula promises for `scale` (order items vary, ~3 per order). */
function expectedCounts(scale: number) {
  return {
    tenants: 2,
    users: 6 + 20 * (scale - 1),
    products: 100 * scale,
    orders: 80 + 500 * (scale - 1),
  };
}

describe('demo seed (scale 1)', () => {
  let database: TestDatabase;
  let summary: SeedSummary;

  beforeAll(async () => {
    database = await createTestDatabase();
    summary = await seedDatabase(database.db, { scale: 1 });
  });
  afterAll(() => database.destroy());

  it('creates exactly the DEMO_TENANTS tenants and users, with the ids DEMO_TENANTS declares', async () => {
    const dump = await dumpRows(database.db);
    for (const demo of DEMO_TENANTS) {
      const [tenantRows, userRows] = dump[demo.slug] as [
        (typeof tenants.$inferSelect)[],
        (typeof users.$inferSelect)[],
      ];
      expect(tenantRows.map(({ id, slug, name, plan }) => ({ id, slug, name, plan }))).toEqual([
        { id: demo.id, slug: demo.slug, name: demo.name, plan: demo.plan },
      ]);
      expect(
        userRows
          .map(({ id, tenantId, username, role, email, displayName }) => ({
            id,
            tenantId,
            username,
            role,
            email,
            displayName,
          }))
          .sort((a, b) => a.username.localeCompare(b.username)),
      ).toEqual(
        demo.users
          .map((user) => ({ ...user, tenantId: demo.id }))
          .sort((a, b) => a.username.localeCompare(b.username)),
      );
    }
    expect(summary).toMatchObject({ ...expectedCounts(1), users: 6 });
  });

  it('declares the demo accounts the design names, with well-formed TypeIDs', () => {
    expect(
      DEMO_TENANTS.map((tenant) => ({
        slug: tenant.slug,
        plan: tenant.plan,
        users: tenant.users.map((user) => `${user.username}:${user.role}`),
      })),
    ).toEqual([
      { slug: 'acme', plan: 'pro', users: ['alice:admin', 'bob:member', 'carol:viewer'] },
      { slug: 'globex', plan: 'free', users: ['dave:admin', 'erin:member', 'frank:viewer'] },
    ]);
    const ids = DEMO_TENANTS.flatMap((tenant) => [tenant.id, ...tenant.users.map((u) => u.id)]);
    expect(new Set(ids).size).toBe(8);
    for (const tenant of DEMO_TENANTS) {
      expect(isIdOf('ten', tenant.id)).toBe(true);
      for (const user of tenant.users) {
        expect(isIdOf('usr', user.id)).toBe(true);
        expect(user.email).toBe(`${user.username}@${tenant.slug}.example`);
      }
    }
  });

  it('gives every order a total equal to the sum of its items, in its products’ currency', async () => {
    expect(await inconsistentOrders(database.db)).toEqual([]);
  });

  it('spreads demo orders over every status, the tenant’s users and its currencies', async () => {
    const dump = await dumpRows(database.db);
    const expectedCurrencies = { acme: ['EUR', 'USD'], globex: ['EUR', 'INR'] };
    for (const demo of DEMO_TENANTS) {
      const [, userRows, productRows, orderRows] = dump[demo.slug] as [
        unknown,
        (typeof users.$inferSelect)[],
        (typeof products.$inferSelect)[],
        (typeof orders.$inferSelect)[],
      ];
      expect(productRows.length).toBeGreaterThanOrEqual(24);
      expect(orderRows.length).toBeGreaterThanOrEqual(24);
      expect(new Set(orderRows.map((order) => order.status))).toEqual(
        new Set(['pending', 'confirmed', 'shipped', 'cancelled']),
      );
      const userIds = new Set(userRows.map((user) => user.id));
      expect(orderRows.every((order) => userIds.has(order.customerId))).toBe(true);
      expect([...new Set(productRows.map((product) => product.currency))].sort()).toEqual(
        expectedCurrencies[demo.slug as keyof typeof expectedCurrencies],
      );
    }
  });

  it('refuses to seed a database that already has tenants unless reset, and reset reproduces the same rows', async () => {
    const before = await digest(database.db);
    await expect(seedDatabase(database.db, { scale: 1 })).rejects.toBeInstanceOf(SeedConflictError);
    await expect(seedDatabase(database.db, { scale: 1 })).rejects.toThrow(/already has tenants/);
    expect(await digest(database.db)).toBe(before);

    const again = await seedDatabase(database.db, { scale: 1, reset: true });
    expect(again).toEqual(summary);
    expect(await digest(database.db)).toBe(before);
  });

  it('rejects a scale that is not a positive integer', async () => {
    await expect(seedDatabase(database.db, { scale: 0, reset: true })).rejects.toThrow(RangeError);
    await expect(seedDatabase(database.db, { scale: 1.5, reset: true })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('bulk seed (scale > 1)', () => {
  let first: TestDatabase;
  let second: TestDatabase;
  let summary: SeedSummary;

  beforeAll(async () => {
    [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    summary = await seedDatabase(first.db, { scale: 2 });
    await seedDatabase(second.db, { scale: 2 });
  });
  afterAll(async () => {
    await Promise.all([first?.destroy(), second?.destroy()]);
  });

  it('produces identical rows in two fresh databases seeded with the same scale', async () => {
    const [a, b] = await Promise.all([dumpRows(first.db), dumpRows(second.db)]);
    expect(a).toEqual(b);
    expect(await digest(first.db)).toBe(await digest(second.db));
  });

  it('adds rows as the formula says: products 100·N, orders 80 + 500·(N−1), ~3 items each', async () => {
    const counted = await countRows(first.db);
    expect(counted).toEqual(summary);
    expect(summary).toMatchObject(expectedCounts(2));
    expect(summary.orderItems).toBeGreaterThan(summary.orders * 2.5);
    expect(summary.orderItems).toBeLessThan(summary.orders * 3.5);
  });

  it('keeps the demo rows unchanged and names bulk customers customer_NNNNN', async () => {
    const dump = await dumpRows(first.db);
    const acmeUsers = dump.acme![1] as (typeof users.$inferSelect)[];
    const demoIds = DEMO_TENANTS[0]!.users.map((user) => user.id);
    expect(acmeUsers.filter((user) => demoIds.includes(user.id))).toHaveLength(3);
    const customers = acmeUsers.filter((user) => !demoIds.includes(user.id));
    expect(customers).toHaveLength(10);
    for (const customer of customers) {
      expect(customer.username).toMatch(/^customer_\d{5}$/);
      expect(['viewer', 'member']).toContain(customer.role);
    }
  });

  it('keeps every order total equal to the sum of its items', async () => {
    expect(await inconsistentOrders(first.db)).toEqual([]);
  });
});

describe('seeding under row-level security', () => {
  let database: TestDatabase;
  afterAll(() => database?.destroy());

  it('works as the non-superuser application role, which RLS is enforced on', async () => {
    database = await createTestDatabase();
    const summary = await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local role orders_app`);
      return seedDatabase(tx, { scale: 1 });
    });
    expect(summary).toMatchObject(expectedCounts(1));
    expect(await countRows(database.db)).toEqual(summary);
    // RLS really applies to that role: with no tenant set it sees no tenant at all.
    const visible = await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local role orders_app`);
      return tx.select({ id: tenants.id }).from(tenants);
    });
    expect(visible).toEqual([]);
    // The same role cannot see the demo tenants without a tenant set: the conflict check
    // must still find them.
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`set local role orders_app`);
        return seedDatabase(tx, { scale: 1 });
      }),
    ).rejects.toBeInstanceOf(SeedConflictError);
  });
});
