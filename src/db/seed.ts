/**
 * Deterministic demo and bulk data. Everything derives from fixed base timestamps, fixed id
 * counters and a seeded PRNG (mulberry32), never from the clock or Math.random: the same
 * scale always produces byte-identical rows, so demos, screenshots and benchmarks repeat.
 *
 * Scale 1 is the demo: the two DEMO_TENANTS, their six users, 50 products and 40 orders per
 * tenant. Scale N > 1 adds N − 1 bulk units per tenant, each 10 customer users, 50 products
 * and 250 orders (about 3 items each); in total that is
 *   users 6 + 20·(N−1), products 100·N, orders 80 + 500·(N−1), order items ≈ 3 × orders,
 * so scale 100 gives 10,000 products, 49,580 orders and about 150,000 order items.
 * The demo part does not depend on the scale: scale N contains scale 1's rows unchanged.
 *
 * Row-level security is FORCE'd on every table, so each tenant's rows (its `tenants` row
 * included) are inserted in one transaction that first sets `app.tenant_id`; that works
 * for a superuser, the tables' owner and the non-superuser application role alike.
 */
import { sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { orderItems, orders, products, tenants, users } from './schema.ts';
import { DEMO_TENANTS } from './seed/demo-tenants.ts';
import { buildTenantRows } from './seed/rows.ts';

export { DEMO_TENANTS, type DemoTenant, type DemoUser } from './seed/demo-tenants.ts';

export interface SeedOptions {
  /** 1 = the demo data set; N > 1 adds N − 1 units of bulk data per tenant. Integer ≥ 1. */
  readonly scale: number;
  /** Delete every tenant's rows first (TRUNCATE … CASCADE). Without it, seeding a non-empty database throws. */
  readonly reset?: boolean;
}

export interface SeedSummary {
  readonly tenants: number;
  readonly users: number;
  readonly products: number;
  readonly orders: number;
  readonly orderItems: number;
}

/** Thrown when the database already holds tenants and `reset` was not asked for. */
export class SeedConflictError extends Error {
  override name = 'SeedConflictError';
}

/** Rows per INSERT statement: well under PostgreSQL's 65,535 bind parameters for every table. */
const CHUNK_SIZE = 1000;
/** INSERT statements sent ahead of the one being awaited (see inChunks). */
const IN_FLIGHT = 4;

/**
 * Inserts `rows` CHUNK_SIZE at a time, keeping a few statements in flight so that building
 * the next statement overlaps with the database executing the previous one. Statements on
 * one connection (or PGlite) still run in order, and the caller awaits a table before the next.
 */
async function inChunks<T>(rows: readonly T[], insert: (chunk: T[]) => PromiseLike<unknown>) {
  const inFlight: Promise<unknown>[] = [];
  for (let start = 0; start < rows.length; start += CHUNK_SIZE) {
    const pending = Promise.resolve(insert(rows.slice(start, start + CHUNK_SIZE)));
    // Handled here so a failure is not "unhandled" while an earlier chunk is awaited.
    pending.catch(() => {});
    inFlight.push(pending);
    if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
  }
  await Promise.all(inFlight);
}

/** Slugs of tenants already present, as far as this connection may see them. */
async function existingTenants(db: Db): Promise<string[]> {
  // A superuser (or a role with BYPASSRLS) sees every tenant here; anyone else sees none,
  // because no `app.tenant_id` is set, so the demo tenants are looked up one by one too.
  const found = new Set(
    (await db.select({ slug: tenants.slug }).from(tenants).limit(20)).map((row) => row.slug),
  );
  for (const demo of DEMO_TENANTS) {
    const rows = await db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('app.tenant_id', ${demo.id}, true)`);
      return tx.select({ slug: tenants.slug }).from(tenants).limit(1);
    });
    for (const row of rows) found.add(row.slug);
  }
  return [...found].sort();
}

/** True when `error` (or its cause) is a unique violation on the `tenants` table. */
function isTenantConflict(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    // postgres.js names the fields table_name/constraint_name, PGlite table/constraint.
    const fields = current as { code?: unknown; table?: unknown; table_name?: unknown };
    if (fields.code === '23505') return (fields.table ?? fields.table_name) === 'tenants';
  }
  return false;
}

/**
 * Inserts the deterministic data set for `scale` and returns how many rows it wrote.
 * Throws SeedConflictError when the database already has tenants, unless `reset` is set,
 * which first empties the tenant tables (TRUNCATE … CASCADE, so also rows that refer to them).
 */
export async function seedDatabase(db: Db, options: SeedOptions): Promise<SeedSummary> {
  const { scale } = options;
  if (!Number.isInteger(scale) || scale < 1) {
    throw new RangeError(`Seed scale must be an integer ≥ 1, got ${scale}.`);
  }

  if (options.reset) {
    await db.execute(sql`truncate table order_items, orders, products, users, tenants cascade`);
  } else {
    const existing = await existingTenants(db);
    if (existing.length > 0) {
      throw new SeedConflictError(
        `The database already has tenants (${existing.join(', ')}); seeding again would ` +
          'duplicate them. Reset it first (--reset, or { reset: true }) to delete all tenant data.',
      );
    }
  }

  const summary = { tenants: 0, users: 0, products: 0, orders: 0, orderItems: 0 };
  for (let tenantIndex = 0; tenantIndex < DEMO_TENANTS.length; tenantIndex++) {
    const rows = buildTenantRows(tenantIndex, scale);
    try {
      await db.transaction(async (tx) => {
        await tx.execute(sql`select set_config('app.tenant_id', ${rows.tenant.id}, true)`);
        await tx.insert(tenants).values(rows.tenant);
        await inChunks(rows.users, (chunk) => tx.insert(users).values(chunk));
        await inChunks(rows.products, (chunk) => tx.insert(products).values(chunk));
        await inChunks(rows.orders, (chunk) => tx.insert(orders).values(chunk));
        await inChunks(rows.orderItems, (chunk) => tx.insert(orderItems).values(chunk));
      });
    } catch (error) {
      if (isTenantConflict(error)) {
        throw new SeedConflictError(
          `Tenant "${rows.tenant.slug}" (or its id) already exists; reset the database ` +
            'first (--reset, or { reset: true }).',
          { cause: error },
        );
      }
      throw error;
    }
    summary.tenants += 1;
    summary.users += rows.users.length;
    summary.products += rows.products.length;
    summary.orders += rows.orders.length;
    summary.orderItems += rows.orderItems.length;
  }
  return summary;
}
