/**
 * The `@listSize` and `@cost` annotations (IBM cost specification), and the `@rateLimit`
 * values, that the domain files put on their fields. They are printed into schema.graphql, so clients compute the same cost
 * the server does (src/cost/field-costs.ts reads them back from the schema).
 */

/**
 * What a connection is assumed to hold when neither `first` nor `last` is given: the default
 * page size (PAGE_SIZE_DEFAULT's default). A server configured with a larger default charges
 * that instead (see useCostAnalysis), so an unsliced connection is never underestimated.
 */
export const CONNECTION_ASSUMED_SIZE = 20;

/**
 * On every Relay connection field: `first`/`last` sizes the page, and only `edges` and
 * `nodes` repeat per item (`pageInfo` is there once per page).
 */
export const connectionListSize = {
  listSize: {
    assumedSize: CONNECTION_ASSUMED_SIZE,
    slicingArguments: ['first', 'last'],
    sizedFields: ['edges', 'nodes'],
    requireOneSlicingArgument: false,
  },
};

/**
 * On `Query.nodes`: the size of the list is the length of `ids`. The specification speaks of
 * slicing arguments holding an Int; for a list-valued one we read "its length", which is
 * exactly how many objects the field returns.
 */
export const nodesListSize = {
  listSize: { slicingArguments: ['ids'], requireOneSlicingArgument: true },
};

/**
 * What `Order.items` is assumed to hold. An order has 1–50 lines, but assuming 50 would make
 * every page of orders with their items cost over 1,000 from 10 orders up, so the estimate
 * is a generous typical order instead (the demo data averages 3 lines). It stays bounded:
 * the budget charges the actual cost after execution, so larger orders are paid for.
 */
export const ORDER_ITEMS_ASSUMED_SIZE = 10;

/** A list of bounded length assumed to hold `assumedSize` items for the static cost. */
export function assumedListSize(assumedSize: number) {
  return { listSize: { assumedSize } };
}

/** Every mutation costs this much on top of its payload: writes are dearer than reads. */
export const MUTATION_COST = { cost: { weight: '10' } };

/**
 * `@rateLimit` on `createOrder`: placing orders is a write that reserves stock, so one caller
 * places at most this many a minute whatever its cost budget holds.
 */
export const CREATE_ORDER_RATE_LIMIT = { max: 30, window: '1m' };
