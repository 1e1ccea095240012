/**
 * The rows of one tenant at a given scale: the demo part (its own random stream, identical at
 * every scale) and N − 1 bulk units.
 */
import { IdPrefix, idFromParts } from '../../ids.ts';
import type {
  Currency,
  OrderStatus,
  orderItems,
  orders,
  products,
  tenants,
  users,
} from '../schema.ts';
import { DEMO_TENANTS } from './demo-tenants.ts';
import { Random, spread } from './random.ts';
import {
  CUSTOMERS_FROM,
  CUSTOMERS_UNTIL,
  counterFor,
  DAY,
  demoUserCreatedAt,
  HOUR,
  ORDERS_FROM,
  ORDERS_UNTIL,
  PRODUCTS_FROM,
  PRODUCTS_UNTIL,
  tenantCreatedAt,
} from './timeline.ts';
import {
  ADJECTIVES,
  BULK_ROLES,
  CURRENCY_WEIGHTS,
  FEATURES,
  FIRST_NAMES,
  LAST_NAMES,
  MATERIALS,
  NOUNS,
  OLDER_STATUSES,
  ORDER_NOTES,
  RECENT_STATUSES,
  STATUS_UPDATES,
} from './words.ts';

/** Per tenant: what scale 1 contains, and what each further unit of scale adds. */
const DEMO_PRODUCTS_PER_TENANT = 50;
const DEMO_ORDERS_PER_TENANT = 40;
const BULK_CUSTOMERS_PER_UNIT = 10;
const BULK_PRODUCTS_PER_UNIT = 50;
const BULK_ORDERS_PER_UNIT = 250;

type TenantInsert = typeof tenants.$inferInsert;
type UserInsert = typeof users.$inferInsert;
type ProductInsert = typeof products.$inferInsert;
type OrderInsert = typeof orders.$inferInsert;
type OrderItemInsert = typeof orderItems.$inferInsert;

export interface TenantRows {
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

export function buildTenantRows(tenantIndex: number, scale: number): TenantRows {
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
