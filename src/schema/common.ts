/**
 * Types shared by every domain: enums that mirror the database, Money, and the UserError
 * that mutation payloads carry for business and validation failures.
 */
import type { Currency } from '../db/schema.ts';
import { UserErrorCode, type UserErrorShape } from '../errors.ts';
import { type BuilderTypes, builder } from './builder.ts';

export const CurrencyEnum = builder.enumType('Currency', {
  description: 'ISO 4217 currency of an amount. Amounts are in minor units (cents, paise).',
  values: {
    USD: { value: 'USD', description: 'US dollar.' },
    EUR: { value: 'EUR', description: 'Euro.' },
    INR: { value: 'INR', description: 'Indian rupee.' },
  } as const,
});

export const RoleEnum = builder.enumType('Role', {
  description: 'What a user may do in their tenant; each role grants a default set of scopes.',
  values: {
    viewer: { value: 'viewer', description: 'Reads products and their own orders.' },
    member: { value: 'member', description: "Also places orders and reads the tenant's orders." },
    admin: { value: 'admin', description: 'Everything, including products, users and costs.' },
  } as const,
});

export const PlanEnum = builder.enumType('Plan', {
  description: "A tenant's subscription plan; it sets the tenant's cost budget.",
  values: {
    free: { value: 'free', description: 'The free plan.' },
    pro: { value: 'pro', description: 'The pro plan.' },
    enterprise: { value: 'enterprise', description: 'The enterprise plan.' },
  } as const,
});

export const OrderStatusEnum = builder.enumType('OrderStatus', {
  description: 'Where an order is in its life: pending → confirmed → shipped, or cancelled.',
  values: {
    pending: { value: 'pending', description: 'Placed; stock is reserved.' },
    confirmed: { value: 'confirmed', description: 'Accepted by the seller.' },
    shipped: { value: 'shipped', description: 'Sent; can no longer be cancelled.' },
    cancelled: { value: 'cancelled', description: 'Cancelled; its stock was returned.' },
  } as const,
});

export const OrderDirectionEnum = builder.enumType('OrderDirection', {
  description: 'Sort direction.',
  values: {
    ASC: { value: 'asc', description: 'Smallest first.' },
    DESC: { value: 'desc', description: 'Largest (or newest) first.' },
  } as const,
});

export interface MoneyShape {
  amount: number;
  currency: Currency;
}

export const Money = builder.objectRef<MoneyShape>('Money').implement({
  description: 'An amount of money in minor units (e.g. cents) and its currency.',
  fields: (t) => ({
    amount: t.exposeInt('amount', { description: 'The amount in minor units (1999 = 19.99).' }),
    currency: t.expose('currency', { type: CurrencyEnum, description: 'The currency.' }),
  }),
});

export const MoneyInput = builder.inputType('MoneyInput', {
  description: 'An amount of money in minor units and its currency.',
  fields: (t) => ({
    amount: t.int({ required: true, description: 'The amount in minor units, at least 0.' }),
    currency: t.field({ type: CurrencyEnum, required: true, description: 'The currency.' }),
  }),
});

export const UserErrorCodeEnum = builder.enumType('UserErrorCode', {
  description: 'Why a mutation refused its input. Stable: clients may switch on it.',
  values: Object.fromEntries(
    Object.entries(UserErrorCode).map(([code, description]) => [
      code,
      { value: code as UserErrorCode, description },
    ]),
  ) as { [Code in UserErrorCode]: { value: Code; description: string } },
});

export const UserError = builder.objectRef<UserErrorShape>('UserError').implement({
  description: 'A business or validation failure of a mutation. Nothing was changed.',
  fields: (t) => ({
    field: t.exposeStringList('field', {
      nullable: true,
      description: 'Path to the offending input field, e.g. ["input", "items", "0", "quantity"].',
    }),
    code: t.expose('code', { type: UserErrorCodeEnum, description: 'A stable code.' }),
    message: t.exposeString('message', { description: 'A human-readable explanation.' }),
  }),
});

/** The `userErrors` field every mutation payload has. */
export function userErrorsField<Payload extends { userErrors: UserErrorShape[] }>(
  t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, Payload>,
) {
  return t.field({
    type: [UserError],
    description: 'Why the input was refused; empty on success.',
    resolve: (payload) => payload.userErrors,
  });
}
