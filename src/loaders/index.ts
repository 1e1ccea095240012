/**
 * Batch functions behind the per-request DataLoaders. The Pothos dataloader plugin creates
 * one DataLoader per field or type *per request context* (never shared between requests)
 * and calls these with every key collected during one tick of execution, so a page of 50
 * orders loads its 50 customers in one statement, not 50.
 *
 * Every function filters by the caller's tenant explicitly; row-level security in the
 * request's transaction is the second wall. Results come back in the order of the keys,
 * with null (or an empty list) where nothing matched, as DataLoader requires.
 */
export * from './api-key-pages.ts';
export * from './audit-event-pages.ts';
export * from './batching.ts';
export * from './by-id.ts';
export * from './order-pages.ts';
export * from './product-pages.ts';
export * from './user-pages.ts';
