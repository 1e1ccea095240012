/**
 * How a resolver (Query.rateLimit) reads the caller's bucket without knowing where budgets
 * live: the cost-budget plugin registers a reader per operation context, keyed like
 * request-cost.ts, so the schema does not import the plugin or its store.
 */
import type { ThrottleStatus } from './request-cost.ts';

export interface BudgetSnapshot extends ThrottleStatus {
  /** When the bucket will be full again if nothing more is spent. */
  resetAt: Date;
}

export type BudgetReader = () => Promise<BudgetSnapshot>;

const readers = new WeakMap<object, BudgetReader>();

export function setBudgetReader(context: object, reader: BudgetReader): void {
  readers.set(context, reader);
}

export function getBudgetReader(context: object): BudgetReader | undefined {
  return readers.get(context);
}
