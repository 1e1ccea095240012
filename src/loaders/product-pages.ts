import { and, eq, gte, ilike, lte, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type Currency, type ProductRow, products } from '../db/schema.ts';
import type { KeysetPage, SortKey } from './pagination.ts';

export const PRODUCT_SORT_KEYS = {
  NAME: { name: 'name', column: products.name, kind: 'text', value: (row) => row.name },
  PRICE: {
    name: 'price',
    column: products.priceCents,
    kind: 'int',
    value: (row) => row.priceCents,
  },
  CREATED_AT: {
    name: 'createdAt',
    column: products.createdAt,
    kind: 'timestamp',
    value: (row) => row.createdAt,
  },
} as const satisfies Record<string, SortKey<ProductRow>>;

export interface ProductListFilter {
  search?: string | null;
  currency?: Currency | null;
  minPrice?: number | null;
  maxPrice?: number | null;
}

/** `%` and `_` in a search term are literal characters, not wildcards. */
function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (char) => `\\${char}`);
}

export function productListConditions(tenantId: string, filter: ProductListFilter): SQL[] {
  const conditions: (SQL | undefined)[] = [
    eq(products.tenantId, tenantId),
    filter.search ? ilike(products.name, `%${escapeLike(filter.search)}%`) : undefined,
    filter.currency ? eq(products.currency, filter.currency) : undefined,
    filter.minPrice != null ? gte(products.priceCents, filter.minPrice) : undefined,
    filter.maxPrice != null ? lte(products.priceCents, filter.maxPrice) : undefined,
  ];
  return conditions.filter((condition): condition is SQL => condition !== undefined);
}

export function loadProductsPage(
  tx: Db,
  conditions: SQL[],
  page: KeysetPage,
): Promise<ProductRow[]> {
  return tx
    .select()
    .from(products)
    .where(and(...conditions, page.where))
    .orderBy(...page.orderBy)
    .limit(page.limit)
    .prepare('products_page')
    .execute();
}
