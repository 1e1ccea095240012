/**
 * What one operation costs, shared by the plugins that compute it (cost analysis: the
 * requested cost before execution, the actual cost after) and the one that charges it (cost
 * budget) and reports it in `extensions.cost`. Keyed by the operation's context object, so
 * batched operations in one HTTP request each have their own.
 */
export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

/** One field's share of the cost, for `X-Cost-Explain: true`. */
export interface FieldCostLine {
  /** Response path, e.g. `orders.nodes.customer`. */
  path: string;
  /** The field's coordinate in the schema, e.g. `Order.customer`. */
  coordinate: string;
  cost: number;
}

export interface RequestCost {
  /** Static cost with the request's real variables; set before execution. */
  requestedQueryCost: number;
  /** What execution really returned; set after execution. */
  actualQueryCost?: number;
  throttleStatus?: ThrottleStatus;
  requestedBreakdown?: FieldCostLine[];
  actualBreakdown?: FieldCostLine[];
}

const costs = new WeakMap<object, RequestCost>();

export function getRequestCost(context: object): RequestCost | undefined {
  return costs.get(context);
}

export function setRequestCost(context: object, cost: RequestCost): void {
  costs.set(context, cost);
}
