/**
 * Product writes: validation into userErrors, then one UPDATE/INSERT guarded by tenant and
 * (for updates) by `expectedVersion`, the GraphQL form of HTTP's If-Match.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type Currency, MAX_MONEY_CENTS, type ProductRow, products } from '../db/schema.ts';
import { type UserErrorShape, userError, versionConflict } from '../errors.ts';
import { newId } from '../ids.ts';
import { cleanLine, cleanMultiline, textLength } from '../validation.ts';

/** Lengths in Unicode code points, as the database's CHECK constraints count them. */
export const PRODUCT_LIMITS = {
  minName: 1,
  maxName: 200,
  maxDescription: 2000,
  minSearch: 1,
  maxSearch: 100,
};

export interface ProductFieldsInput {
  name?: string | null;
  description?: string | null;
  price?: { amount: number; currency: Currency } | null;
  costPrice?: number | null;
  stock?: number | null;
}

export interface ProductOutcome {
  product: ProductRow | null;
  userErrors: UserErrorShape[];
}

/** Normalises and checks the writable product fields; errors name `input.<field>`. */
function checkProductFields(input: ProductFieldsInput) {
  const errors: UserErrorShape[] = [];
  const values: Partial<typeof products.$inferInsert> = {};
  if (input.name != null) {
    const name = cleanLine(input.name);
    if (textLength(name) < PRODUCT_LIMITS.minName || textLength(name) > PRODUCT_LIMITS.maxName) {
      errors.push(
        userError(
          'BAD_USER_INPUT',
          `Name must be ${PRODUCT_LIMITS.minName}–${PRODUCT_LIMITS.maxName} characters.`,
          ['input', 'name'],
        ),
      );
    }
    values.name = name;
  }
  if (input.description != null) {
    const description = cleanMultiline(input.description);
    if (textLength(description) > PRODUCT_LIMITS.maxDescription) {
      errors.push(
        userError(
          'BAD_USER_INPUT',
          `Description must be at most ${PRODUCT_LIMITS.maxDescription} characters.`,
          ['input', 'description'],
        ),
      );
    }
    values.description = description;
  }
  if (input.price != null) {
    if (input.price.amount < 0 || input.price.amount > MAX_MONEY_CENTS) {
      errors.push(
        userError('BAD_USER_INPUT', `Price must be 0–${MAX_MONEY_CENTS} minor units.`, [
          'input',
          'price',
          'amount',
        ]),
      );
    }
    values.priceCents = input.price.amount;
    values.currency = input.price.currency;
  }
  if (input.costPrice != null) {
    if (input.costPrice < 0) {
      errors.push(
        userError('BAD_USER_INPUT', 'Cost price must be at least 0.', ['input', 'costPrice']),
      );
    }
    values.costCents = input.costPrice;
  }
  if (input.stock != null) {
    if (input.stock < 0) {
      errors.push(userError('BAD_USER_INPUT', 'Stock must be at least 0.', ['input', 'stock']));
    }
    values.stock = input.stock;
  }
  return { errors, values };
}

export async function createProduct(
  tx: Db,
  tenantId: string,
  input: ProductFieldsInput & { name: string; price: { amount: number; currency: Currency } },
): Promise<ProductOutcome> {
  const { errors, values } = checkProductFields(input);
  if (errors.length > 0) return { product: null, userErrors: errors };
  const now = new Date();
  const [product] = await tx
    .insert(products)
    .values({
      id: newId('prod'),
      tenantId,
      name: values.name!,
      description: values.description ?? '',
      priceCents: values.priceCents!,
      costCents: values.costCents ?? 0,
      currency: values.currency!,
      stock: values.stock ?? 0,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return { product: product!, userErrors: [] };
}

export async function updateProduct(
  tx: Db,
  tenantId: string,
  input: ProductFieldsInput & { id: string; expectedVersion?: number | null },
): Promise<ProductOutcome> {
  const { errors, values } = checkProductFields(input);
  if (errors.length > 0) return { product: null, userErrors: errors };
  const guard = and(
    eq(products.tenantId, tenantId),
    eq(products.id, input.id),
    input.expectedVersion != null ? eq(products.version, input.expectedVersion) : undefined,
  );
  const [updated] = await tx
    .update(products)
    .set({ ...values, version: sql`${products.version} + 1`, updatedAt: new Date() })
    .where(guard)
    .returning();
  if (updated) return { product: updated, userErrors: [] };

  // Nothing matched: tell "does not exist" apart from "changed since you read it".
  const [current] = await tx
    .select()
    .from(products)
    .where(and(eq(products.tenantId, tenantId), eq(products.id, input.id)));
  if (!current) {
    return {
      product: null,
      userErrors: [userError('NOT_FOUND', 'No such product.', ['input', 'id'])],
    };
  }
  return {
    product: current,
    userErrors: [versionConflict('product', input.expectedVersion, current.version)],
  };
}
