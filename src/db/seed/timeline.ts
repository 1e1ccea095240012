/**
 * When seeded rows were created, and the counters that keep their ids unique. Every seeded
 * timestamp is an offset from one fixed instant, never the clock, so the same scale always
 * produces the same rows.
 */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Every seeded timestamp is an offset from this instant (2024-01-01T09:00:00Z). */
export const BASE_TIME = Date.UTC(2024, 0, 1, 9, 0, 0);
/** Products are created in this window, after the customers and before every order. */
export const PRODUCTS_FROM = BASE_TIME + 2 * DAY;
export const PRODUCTS_UNTIL = BASE_TIME + 90 * DAY;
export const ORDERS_FROM = BASE_TIME + 90 * DAY;
export const ORDERS_UNTIL = BASE_TIME + 365 * DAY;
export const CUSTOMERS_FROM = BASE_TIME + 1 * DAY;
export const CUSTOMERS_UNTIL = BASE_TIME + 30 * DAY;

/**
 * Id counters: the id's time part is the row's created_at, the counter keeps ids unique and
 * separates tenants and demo/bulk rows, so the demo ids never depend on the scale.
 */
const TENANT_COUNTER_STRIDE = 10_000_000_000;
const BULK_COUNTER_OFFSET = 5_000_000_000;

export function tenantCreatedAt(tenantIndex: number): number {
  return BASE_TIME + tenantIndex * HOUR;
}

export function demoUserCreatedAt(tenantIndex: number, userIndex: number): number {
  return tenantCreatedAt(tenantIndex) + (userIndex + 1) * MINUTE;
}

export function counterFor(tenantIndex: number, bulk: boolean, sequence: number): number {
  return (tenantIndex + 1) * TENANT_COUNTER_STRIDE + (bulk ? BULK_COUNTER_OFFSET : 0) + sequence;
}
