/**
 * Types shared by every domain: enums that mirror the database, Money, and the UserError
 * that mutation payloads carry for business and validation failures.
 */
import type { Currency } from '../db/schema.ts';
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

export const UserErrorCode = {
  BAD_USER_INPUT: 'An input value is invalid; `field` names it.',
  NOT_FOUND: 'A referenced object does not exist in your tenant.',
  CONFLICT: 'The object changed since you read it (`expectedVersion` is stale).',
  INVALID_STATE: 'The object is in a state that does not allow this change.',
  INSUFFICIENT_STOCK: 'Not enough stock for a requested quantity.',
  CURRENCY_MISMATCH: 'The items of one order must share one currency.',
  INVALID_DOCUMENT:
    'A GraphQL document does not parse, does not validate against the schema, or does not hold exactly one operation.',
  ANONYMOUS_OPERATION:
    'A persisted operation has no name: operations on the allow-list must be named (`query ProductList { … }`).',
  DOCUMENT_TOO_LARGE: 'A GraphQL document is longer than MAX_DOCUMENT_SIZE characters.',
  TOO_MANY_TOKENS: 'A GraphQL document has more than MAX_TOKENS tokens.',
  QUERY_TOO_DEEP: 'An operation nests deeper than MAX_DEPTH.',
  TOO_MANY_ALIASES: 'An operation has more than MAX_ALIASES aliases.',
  TOO_MANY_ROOT_FIELDS: 'An operation has more than MAX_ROOT_FIELDS root fields.',
  TOO_MANY_DIRECTIVES: 'An operation uses more than MAX_DIRECTIVES directives.',
  QUERY_TOO_COMPLEX: 'An operation can cost more than MAX_COST points.',
} as const;

export type UserErrorCode = keyof typeof UserErrorCode;

export const UserErrorCodeEnum = builder.enumType('UserErrorCode', {
  description: 'Why a mutation refused its input. Stable: clients may switch on it.',
  values: Object.fromEntries(
    Object.entries(UserErrorCode).map(([code, description]) => [
      code,
      { value: code as UserErrorCode, description },
    ]),
  ) as { [Code in UserErrorCode]: { value: Code; description: string } },
});

export interface UserErrorShape {
  field: string[] | null;
  code: UserErrorCode;
  message: string;
}

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

export function userError(code: UserErrorCode, message: string, field?: string[]): UserErrorShape {
  return { code, message, field: field ?? null };
}

/** The CONFLICT user error of a stale `expectedVersion`, naming the current version. */
export function versionConflict(
  kind: 'product' | 'order',
  expected: number | null | undefined,
  current: number,
): UserErrorShape {
  return userError(
    'CONFLICT',
    `The ${kind} changed: expected version ${expected}, current version is ${current}.`,
    ['input', 'expectedVersion'],
  );
}

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
