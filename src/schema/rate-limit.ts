/**
 * `Query.rateLimit`: the caller's cost budget (its leaky bucket), read without spending
 * anything. The RateLimit type carries `@cost(weight: "0")`, which replaces the default
 * object cost of 1, so `{ rateLimit { ... } }` costs 0 points and can be polled freely.
 */

import { type BudgetSnapshot, getBudgetReader } from '../cost/budget-reader.ts';
import { apiError, ErrorCode } from '../errors.ts';
import { builder } from './builder.ts';

const RateLimit = builder.objectRef<BudgetSnapshot>('RateLimit').implement({
  description:
    "The caller's cost budget, a leaky bucket: an operation may start only if the bucket holds its requested cost, the difference to its actual cost is refunded afterwards, and the bucket refills at `restoreRate` points per second. Authenticated callers have one per user, sized by the tenant's plan; anonymous callers one per client address.",
  directives: { cost: { weight: '0' } },
  fields: (t) => ({
    maximumAvailable: t.exposeInt('maximumAvailable', {
      description: 'The most points the bucket holds.',
    }),
    currentlyAvailable: t.exposeInt('currentlyAvailable', {
      description: 'Points in the bucket now (whole points, rounded down).',
    }),
    restoreRate: t.exposeFloat('restoreRate', {
      description: 'Points restored per second (may be fractional).',
    }),
    resetAt: t.expose('resetAt', {
      type: 'DateTime',
      description: 'When the bucket will be full again if nothing more is spent.',
    }),
  }),
});

builder.queryField('rateLimit', (t) =>
  t.field({
    type: RateLimit,
    description:
      "The caller's cost budget. Reading it costs nothing; every response also reports it in `extensions.cost.throttleStatus` and the RateLimit headers.",
    resolve: (_root, _args, ctx) => {
      const read = getBudgetReader(ctx);
      if (!read) {
        throw apiError(ErrorCode.SERVICE_UNAVAILABLE, 'The cost budget is not available.');
      }
      return read();
    },
  }),
);
