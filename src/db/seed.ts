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
import { IdPrefix, idFromParts } from '../ids.ts';
import type { Db } from './client.ts';
import {
  type Currency,
  type OrderStatus,
  orderItems,
  orders,
  type Plan,
  products,
  type Role,
  tenants,
  users,
} from './schema.ts';

export interface DemoUser {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly email: string;
  readonly displayName: string;
}

export interface DemoTenant {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly plan: Plan;
  readonly users: readonly DemoUser[];
}

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

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Every seeded timestamp is an offset from this instant (2024-01-01T09:00:00Z). */
const BASE_TIME = Date.UTC(2024, 0, 1, 9, 0, 0);
/** Products are created in this window, after the customers and before every order. */
const PRODUCTS_FROM = BASE_TIME + 2 * DAY;
const PRODUCTS_UNTIL = BASE_TIME + 90 * DAY;
const ORDERS_FROM = BASE_TIME + 90 * DAY;
const ORDERS_UNTIL = BASE_TIME + 365 * DAY;
const CUSTOMERS_FROM = BASE_TIME + 1 * DAY;
const CUSTOMERS_UNTIL = BASE_TIME + 30 * DAY;

/** Per tenant: what scale 1 contains, and what each further unit of scale adds. */
const DEMO_PRODUCTS_PER_TENANT = 50;
const DEMO_ORDERS_PER_TENANT = 40;
const BULK_CUSTOMERS_PER_UNIT = 10;
const BULK_PRODUCTS_PER_UNIT = 50;
const BULK_ORDERS_PER_UNIT = 250;

/** Rows per INSERT statement: well under PostgreSQL's 65,535 bind parameters for every table. */
const CHUNK_SIZE = 1000;
/** INSERT statements sent ahead of the one being awaited (see inChunks). */
const IN_FLIGHT = 4;

/**
 * Id counters: the id's time part is the row's created_at, the counter keeps ids unique and
 * separates tenants and demo/bulk rows, so the demo ids never depend on the scale.
 */
const TENANT_COUNTER_STRIDE = 10_000_000_000;
const BULK_COUNTER_OFFSET = 5_000_000_000;

function tenantCreatedAt(tenantIndex: number): number {
  return BASE_TIME + tenantIndex * HOUR;
}

function demoUserCreatedAt(tenantIndex: number, userIndex: number): number {
  return tenantCreatedAt(tenantIndex) + (userIndex + 1) * MINUTE;
}

function counterFor(tenantIndex: number, bulk: boolean, sequence: number): number {
  return (tenantIndex + 1) * TENANT_COUNTER_STRIDE + (bulk ? BULK_COUNTER_OFFSET : 0) + sequence;
}

interface DemoTenantDefinition {
  slug: string;
  name: string;
  plan: Plan;
  users: { username: string; role: Role; displayName: string }[];
}

const DEMO_DEFINITIONS: DemoTenantDefinition[] = [
  {
    slug: 'acme',
    name: 'Acme Corporation',
    plan: 'pro',
    users: [
      { username: 'alice', role: 'admin', displayName: 'Alice Anderson' },
      { username: 'bob', role: 'member', displayName: 'Bob Brown' },
      { username: 'carol', role: 'viewer', displayName: 'Carol Clark' },
    ],
  },
  {
    slug: 'globex',
    name: 'Globex Inc.',
    plan: 'free',
    users: [
      { username: 'dave', role: 'admin', displayName: 'Dave Davis' },
      { username: 'erin', role: 'member', displayName: 'Erin Evans' },
      { username: 'frank', role: 'viewer', displayName: 'Frank Foster' },
    ],
  },
];

/**
 * The demo tenants and users with their fixed ids: enough to mint a development token for
 * `alice` (or print one per demo user) without opening the database.
 */
export const DEMO_TENANTS: readonly DemoTenant[] = Object.freeze(
  DEMO_DEFINITIONS.map((definition, tenantIndex) =>
    Object.freeze({
      id: idFromParts(IdPrefix.Tenant, tenantCreatedAt(tenantIndex), tenantIndex + 1),
      slug: definition.slug,
      name: definition.name,
      plan: definition.plan,
      users: Object.freeze(
        definition.users.map((user, userIndex) =>
          Object.freeze({
            id: idFromParts(
              IdPrefix.User,
              demoUserCreatedAt(tenantIndex, userIndex),
              counterFor(tenantIndex, false, userIndex + 1),
            ),
            username: user.username,
            role: user.role,
            email: `${user.username}@${definition.slug}.example`,
            displayName: user.displayName,
          }),
        ),
      ),
    }),
  ),
);

/** Each tenant's product currencies and their weights. */
const CURRENCY_WEIGHTS: Readonly<Record<string, readonly [Currency, number][]>> = {
  acme: [
    ['USD', 80],
    ['EUR', 20],
  ],
  globex: [
    ['EUR', 50],
    ['INR', 50],
  ],
};

// --- Deterministic randomness ------------------------------------------------------------

/** FNV-1a: turns a label such as "demo:acme" into a 32-bit PRNG seed. */
function hashSeed(label: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

class Random {
  private state: number;

  constructor(label: string) {
    this.state = hashSeed(label);
  }

  /** mulberry32: a float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.next() * total;
    for (const [value, weight] of choices) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return choices[choices.length - 1]![0];
  }
}

/** The i-th of `count` instants spread evenly over [from, until), with a little jitter. */
function spread(random: Random, i: number, count: number, from: number, until: number): number {
  return from + Math.floor(((i + random.next()) * (until - from)) / count);
}

// --- Word lists ----------------------------------------------------------------------------

const ADJECTIVES = [
  'Classic',
  'Compact',
  'Deluxe',
  'Durable',
  'Elegant',
  'Ergonomic',
  'Essential',
  'Everyday',
  'Foldable',
  'Handcrafted',
  'Heavy-Duty',
  'Lightweight',
  'Modern',
  'Portable',
  'Premium',
  'Rustic',
  'Sleek',
  'Smart',
  'Sturdy',
  'Vintage',
  'Waterproof',
  'Wireless',
];

const MATERIALS = [
  'Aluminum',
  'Bamboo',
  'Brass',
  'Canvas',
  'Ceramic',
  'Cotton',
  'Glass',
  'Granite',
  'Leather',
  'Linen',
  'Maple',
  'Marble',
  'Oak',
  'Recycled',
  'Rubber',
  'Silicone',
  'Steel',
  'Walnut',
  'Wool',
];

const NOUNS = [
  'Backpack',
  'Bench',
  'Blender',
  'Bookshelf',
  'Bottle',
  'Chair',
  'Clock',
  'Coffee Grinder',
  'Cutting Board',
  'Desk',
  'Desk Lamp',
  'Doormat',
  'Duffel Bag',
  'Headphones',
  'Keyboard',
  'Kettle',
  'Lunch Box',
  'Mouse Pad',
  'Mug',
  'Notebook',
  'Pan',
  'Phone Stand',
  'Picture Frame',
  'Pillow',
  'Planter',
  'Rug',
  'Scarf',
  'Speaker',
  'Stool',
  'Table',
  'Teapot',
  'Throw Blanket',
  'Tote Bag',
  'Towel Set',
  'Umbrella',
  'Vase',
  'Wall Shelf',
  'Wallet',
  'Watch',
];

const FEATURES = [
  'Built to last for years of daily use.',
  'Easy to clean and dishwasher safe.',
  'Ships flat and assembles in minutes without tools.',
  'Backed by a two-year warranty.',
  'Designed in-house and tested by our team.',
  'Fits neatly into small spaces.',
  'Made in small batches from responsibly sourced materials.',
  'A customer favourite since launch.',
  'Available while stocks last.',
  'Pairs well with the rest of the collection.',
];

const FIRST_NAMES = [
  'Aarav',
  'Amara',
  'Ben',
  'Chen',
  'Diego',
  'Elena',
  'Fatima',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
  'Kavya',
  'Liam',
  'Maya',
  'Noah',
  'Olga',
  'Priya',
  'Quinn',
  'Rosa',
  'Sam',
  'Tariq',
  'Uma',
  'Victor',
  'Wen',
  'Yusuf',
  'Zoe',
];

const LAST_NAMES = [
  'Adams',
  'Baker',
  'Castillo',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kim',
  'Lopez',
  'Müller',
  'Nakamura',
  'Okafor',
  'Patel',
  'Rossi',
  'Schmidt',
  'Singh',
  'Tanaka',
  'Walker',
  'Yilmaz',
];

const ORDER_NOTES = [
  'Please leave the parcel at the front desk.',
  'Gift wrap, please.',
  'Deliver after 5 pm.',
  'Call on arrival.',
  'Invoice to the accounts team.',
  'Urgent: needed for Monday.',
  'Combine with my previous order if possible.',
  'No plastic packaging, thanks.',
];

/** Who is asking to be a bulk customer: mostly viewers, some members. */
const BULK_ROLES: readonly (readonly [Role, number])[] = [
  ['viewer', 70],
  ['member', 30],
];

/** Order statuses: recent orders are still open, older ones have mostly shipped. */
const RECENT_STATUSES: readonly (readonly [OrderStatus, number])[] = [
  ['pending', 55],
  ['confirmed', 30],
  ['shipped', 5],
  ['cancelled', 10],
];
const OLDER_STATUSES: readonly (readonly [OrderStatus, number])[] = [
  ['pending', 10],
  ['confirmed', 15],
  ['shipped', 60],
  ['cancelled', 15],
];
/** How many updates each status implies (the row's version is one more). */
const STATUS_UPDATES: Readonly<Record<OrderStatus, number>> = {
  pending: 0,
  confirmed: 1,
  shipped: 2,
  cancelled: 1,
};

// --- Row generation ----------------------------------------------------------------------

type TenantInsert = typeof tenants.$inferInsert;
type UserInsert = typeof users.$inferInsert;
type ProductInsert = typeof products.$inferInsert;
type OrderInsert = typeof orders.$inferInsert;
type OrderItemInsert = typeof orderItems.$inferInsert;

interface TenantRows {
  tenant: TenantInsert;
  users: UserInsert[];
  products: ProductInsert[];
  orders: OrderInsert[];
  orderItems: OrderItemInsert[];
}

/** A price in minor units that looks like a shop's: 19.99, 249.00, ₹1,499 … */
function priceCents(random: Random, currency: Currency): number {
  // Log-uniform, so cheap items are common and expensive ones rare.
  const [min, max] = currency === 'INR' ? [99, 45_000] : [3, 600];
  const major = Math.round(Math.exp(Math.log(min) + random.next() * Math.log(max / min)));
  if (currency === 'INR') return (Math.max(10, Math.round(major / 10) * 10) - 1) * 100;
  return random.chance(0.8) ? major * 100 - 1 : major * 100;
}

function makeProduct(
  random: Random,
  tenantId: string,
  slug: string,
  createdAtMs: number,
  counter: number,
): ProductInsert {
  const adjective = random.pick(ADJECTIVES);
  const material = random.pick(MATERIALS);
  const noun = random.pick(NOUNS);
  const currency = random.weighted<Currency>(CURRENCY_WEIGHTS[slug] ?? [['USD', 1]]);
  const price = priceCents(random, currency);
  const stock = random.chance(0.06) ? 0 : random.int(1, 500);
  const createdAt = new Date(createdAtMs);
  return {
    id: idFromParts(IdPrefix.Product, createdAtMs, counter),
    tenantId,
    name: `${adjective} ${material} ${noun}`,
    description: `${adjective} ${noun.toLowerCase()} in ${material.toLowerCase()}. ${random.pick(FEATURES)}`,
    priceCents: price,
    costCents: Math.floor((price * random.int(35, 70)) / 100),
    currency,
    stock,
    version: 1,
    createdAt,
    updatedAt: createdAt,
  };
}

/** Appends one order and its items; the order's currency and total come from its items. */
function makeOrder(
  random: Random,
  rows: TenantRows,
  productsByCurrency: ReadonlyMap<Currency, ProductInsert[]>,
  anchorPool: readonly ProductInsert[],
  customers: readonly UserInsert[],
  status: OrderStatus,
  createdAtMs: number,
  counter: number,
): void {
  // The first product decides the currency; the others come from the same currency.
  const anchor = random.pick(anchorPool);
  const pool = productsByCurrency.get(anchor.currency)!;
  const itemCount = Math.min(random.int(1, 5), pool.length);
  const chosen = new Set([anchor]);
  while (chosen.size < itemCount) chosen.add(random.pick(pool));
  const orderId = idFromParts(IdPrefix.Order, createdAtMs, counter);
  let total = 0;
  [...chosen].forEach((product, index) => {
    const quantity = random.weighted([
      [1, 50],
      [2, 25],
      [3, 12],
      [4, 6],
      [5, 4],
      [random.int(6, 12), 3],
    ] as const);
    total += quantity * product.priceCents;
    rows.orderItems.push({
      id: idFromParts(IdPrefix.OrderItem, createdAtMs, counter * 8 + index),
      tenantId: rows.tenant.id,
      orderId,
      productId: product.id,
      quantity,
      unitPriceCents: product.priceCents,
    });
  });
  const updates = STATUS_UPDATES[status];
  let updatedAtMs = createdAtMs;
  for (let i = 0; i < updates; i++) updatedAtMs += random.int(1 * HOUR, 3 * DAY);
  rows.orders.push({
    id: orderId,
    tenantId: rows.tenant.id,
    customerId: random.pick(customers).id,
    status,
    currency: anchor.currency,
    note: random.chance(0.2) ? random.pick(ORDER_NOTES) : null,
    totalCents: total,
    version: 1 + updates,
    createdAt: new Date(createdAtMs),
    updatedAt: new Date(updatedAtMs),
  });
}

function groupByCurrency(items: readonly ProductInsert[]): Map<Currency, ProductInsert[]> {
  const groups = new Map<Currency, ProductInsert[]>();
  for (const product of items) {
    const group = groups.get(product.currency) ?? [];
    group.push(product);
    groups.set(product.currency, group);
  }
  return groups;
}

function orderStatus(random: Random, index: number, count: number): OrderStatus {
  return random.weighted(index >= count * 0.85 ? RECENT_STATUSES : OLDER_STATUSES);
}

function buildTenantRows(tenantIndex: number, scale: number): TenantRows {
  const demo = DEMO_TENANTS[tenantIndex]!;
  const createdAtMs = tenantCreatedAt(tenantIndex);
  const rows: TenantRows = {
    tenant: {
      id: demo.id,
      slug: demo.slug,
      name: demo.name,
      plan: demo.plan,
      createdAt: new Date(createdAtMs),
    },
    users: demo.users.map((user, userIndex) => ({
      ...user,
      tenantId: demo.id,
      createdAt: new Date(demoUserCreatedAt(tenantIndex, userIndex)),
    })),
    products: [],
    orders: [],
    orderItems: [],
  };

  // The demo part: its own random stream, so it is identical at every scale.
  const random = new Random(`demo:${demo.slug}`);
  const demoCounter = (sequence: number) => counterFor(tenantIndex, false, sequence);
  for (let i = 0; i < DEMO_PRODUCTS_PER_TENANT; i++) {
    const at = spread(random, i, DEMO_PRODUCTS_PER_TENANT, PRODUCTS_FROM, PRODUCTS_UNTIL);
    rows.products.push(makeProduct(random, demo.id, demo.slug, at, demoCounter(i + 1)));
  }
  const demoProducts = rows.products.slice();
  const demoByCurrency = groupByCurrency(demoProducts);
  const demoUsers = rows.users.slice();
  for (let i = 0; i < DEMO_ORDERS_PER_TENANT; i++) {
    const at = spread(random, i, DEMO_ORDERS_PER_TENANT, ORDERS_FROM, ORDERS_UNTIL);
    const status = orderStatus(random, i, DEMO_ORDERS_PER_TENANT);
    makeOrder(
      random,
      rows,
      demoByCurrency,
      demoProducts,
      demoUsers,
      status,
      at,
      demoCounter(i + 1),
    );
  }

  const units = scale - 1;
  if (units <= 0) return rows;

  const bulk = new Random(`bulk:${demo.slug}:${scale}`);
  const bulkCounter = (sequence: number) => counterFor(tenantIndex, true, sequence);
  const customerCount = BULK_CUSTOMERS_PER_UNIT * units;
  for (let i = 0; i < customerCount; i++) {
    const at = spread(bulk, i, customerCount, CUSTOMERS_FROM, CUSTOMERS_UNTIL);
    const username = `customer_${String(i + 1).padStart(5, '0')}`;
    rows.users.push({
      id: idFromParts(IdPrefix.User, at, bulkCounter(i + 1)),
      tenantId: demo.id,
      username,
      email: `${username}@${demo.slug}.example`,
      displayName: `${bulk.pick(FIRST_NAMES)} ${bulk.pick(LAST_NAMES)}`,
      role: bulk.weighted(BULK_ROLES),
      createdAt: new Date(at),
    });
  }
  const productCount = BULK_PRODUCTS_PER_UNIT * units;
  for (let i = 0; i < productCount; i++) {
    const at = spread(bulk, i, productCount, PRODUCTS_FROM, PRODUCTS_UNTIL);
    rows.products.push(makeProduct(bulk, demo.id, demo.slug, at, bulkCounter(i + 1)));
  }
  const allByCurrency = groupByCurrency(rows.products);
  const orderCount = BULK_ORDERS_PER_UNIT * units;
  for (let i = 0; i < orderCount; i++) {
    const at = spread(bulk, i, orderCount, ORDERS_FROM, ORDERS_UNTIL);
    const status = orderStatus(bulk, i, orderCount);
    makeOrder(bulk, rows, allByCurrency, rows.products, rows.users, status, at, bulkCounter(i + 1));
  }
  return rows;
}

// --- Writing -------------------------------------------------------------------------------

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
