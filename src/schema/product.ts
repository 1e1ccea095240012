import { type ProductRow, products } from '../db/schema.ts';
import { badUserInput, userError } from '../errors.ts';
import { withIdempotency } from '../idempotency/with-idempotency.ts';
import { isIdOf, parseId } from '../ids.ts';
import {
  batched,
  loadProducts,
  loadProductsPage,
  PRODUCT_SORT_KEYS,
  productListConditions,
} from '../loaders/index.ts';
import { keysetConnection } from '../loaders/pagination.ts';
import { inSavepoint } from '../services/mutation.ts';
import { createProduct, PRODUCT_LIMITS, updateProduct } from '../services/products.ts';
import { stripControlCharacters, textLength } from '../validation.ts';
import { emitWebhookEvent, productEventData } from '../webhooks/events.ts';
import { auth } from './auth.ts';
import { builder } from './builder.ts';
import { CurrencyEnum, Money, MoneyInput, OrderDirectionEnum, userErrorsField } from './common.ts';
import { connectionListSize, MUTATION_COST } from './cost-directives.ts';
import { runMutation } from './run-mutation.ts';
import { requireViewer, tenantIdOf } from './viewer-access.ts';

export const Product = builder.loadableNodeRef<ProductRow>('Product', {
  id: { resolve: (product) => product.id },
  load: batched((ids: string[], ctx) => loadProducts(ctx.tx, tenantIdOf(ctx), ids)),
  toKey: (product) => product.id,
  sort: true,
});

Product.implement({
  description: 'Something a tenant sells.',
  ...auth({ requires: ['read:products'] }),
  fields: (t) => ({
    name: t.exposeString('name', {
      description: `Name, ${PRODUCT_LIMITS.minName}–${PRODUCT_LIMITS.maxName} characters.`,
    }),
    description: t.exposeString('description', {
      description: `Longer description, at most ${PRODUCT_LIMITS.maxDescription} characters; empty when there is none.`,
    }),
    price: t.field({
      type: Money,
      description: 'Unit price.',
      resolve: (product) => ({ amount: product.priceCents, currency: product.currency }),
    }),
    costPrice: t.field({
      type: Money,
      nullable: true,
      description: 'What one unit costs the tenant. Internal: admins only.',
      ...auth({ roles: ['admin'] }),
      resolve: (product) => ({ amount: product.costCents, currency: product.currency }),
    }),
    stock: t.exposeInt('stock', { description: 'Units available to order.' }),
    version: t.exposeInt('version', {
      description: 'Incremented by every update; pass it as `expectedVersion` to update safely.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

const ProductOrderField = builder.enumType('ProductOrderField', {
  description: 'What products can be sorted by.',
  values: {
    NAME: { value: 'NAME', description: 'Name, alphabetically.' },
    PRICE: { value: 'PRICE', description: 'Unit price amount.' },
    CREATED_AT: { value: 'CREATED_AT', description: 'Creation time.' },
  } as const,
});

const ProductOrder = builder.inputType('ProductOrder', {
  description: 'How to sort products. Ties are broken by id, so pages never overlap.',
  fields: (t) => ({
    field: t.field({ type: ProductOrderField, required: true, description: 'Sort key.' }),
    direction: t.field({
      type: OrderDirectionEnum,
      required: true,
      defaultValue: 'asc',
      description: 'Sort direction.',
    }),
  }),
});

const ProductFilter = builder.inputType('ProductFilter', {
  description: 'Narrows a product list. All given conditions must hold.',
  fields: (t) => ({
    search: t.string({
      description: `Case-insensitive text that the name contains (${PRODUCT_LIMITS.minSearch}–${PRODUCT_LIMITS.maxSearch} characters).`,
    }),
    currency: t.field({
      type: CurrencyEnum,
      description: 'Only products priced in this currency.',
    }),
    minPrice: t.int({ description: 'Only products whose price amount is at least this.' }),
    maxPrice: t.int({ description: 'Only products whose price amount is at most this.' }),
  }),
});

builder.queryFields((t) => ({
  product: t.field({
    type: Product,
    nullable: true,
    description: 'A product of your tenant by id; null when there is no such product.',
    ...auth({ requires: ['read:products'] }),
    args: { id: t.arg.id({ required: true, description: 'The product id (`prod_…`).' }) },
    // Like node(id:): an id that is not a TypeID at all is the caller's mistake and says so;
    // a well-formed id of another type or of no visible product is simply null.
    resolve: (_root, args) => {
      const parsed = parseId(args.id);
      if (!parsed) throw badUserInput('`id` is not a valid ID.', ['id']);
      return parsed.typename === 'Product' ? parsed.id : null;
    },
  }),
  products: t.connection(
    {
      type: Product,
      nullable: true,
      description: "Your tenant's products, filtered and sorted; newest first by default.",
      ...auth({ requires: ['read:products'] }, connectionListSize),
      args: {
        filter: t.arg({ type: ProductFilter, description: 'Conditions products must meet.' }),
        orderBy: t.arg({ type: ProductOrder, description: 'Sort order (default: newest first).' }),
      },
      resolve: (_root, args, ctx) => {
        const viewer = requireViewer(ctx);
        // Names are stored without control characters (validation.ts), so they cannot match
        // any either; dropping them also keeps a NUL, which Postgres refuses in text, out of SQL.
        const search =
          args.filter?.search != null ? stripControlCharacters(args.filter.search) : null;
        const { minSearch, maxSearch } = PRODUCT_LIMITS;
        if (search != null && (textLength(search) < minSearch || textLength(search) > maxSearch)) {
          throw badUserInput(`\`search\` must be ${minSearch}–${maxSearch} characters.`, [
            'filter',
            'search',
          ]);
        }
        const filter = { ...args.filter, search };
        const sort = PRODUCT_SORT_KEYS[args.orderBy?.field ?? 'CREATED_AT'];
        const conditions = productListConditions(viewer.tenantId, filter);
        return keysetConnection({
          args,
          limits: ctx.config.pagination,
          sort,
          direction: args.orderBy?.direction ?? 'desc',
          idColumn: products.id,
          fetch: (page) => loadProductsPage(ctx.tx, conditions, page),
        });
      },
    },
    { name: 'ProductConnection', description: 'A page of products.' },
    { name: 'ProductEdge', description: 'A product and its cursor.' },
  ),
}));

builder.relayMutationField(
  'createProduct',
  {
    name: 'CreateProductInput',
    description: 'A new product.',
    inputFields: (t) => ({
      name: t.string({
        required: true,
        description: `Name, ${PRODUCT_LIMITS.minName}–${PRODUCT_LIMITS.maxName} characters.`,
      }),
      description: t.string({
        description: `Description, at most ${PRODUCT_LIMITS.maxDescription} characters.`,
      }),
      price: t.field({ type: MoneyInput, required: true, description: 'Unit price.' }),
      costPrice: t.int({
        description: 'What one unit costs you, in minor units of the price currency (default 0).',
      }),
      stock: t.int({ description: 'Units available (default 0).' }),
    }),
  },
  {
    description: 'Adds a product to your tenant. Needs `write:products`.',
    // Nullable so that a denied mutation is null at its path, not the whole response
    // (later mutations of the same document still run).
    nullable: true,
    ...auth({ requires: ['write:products'] }, MUTATION_COST),
    resolve: async (_root, { input }, ctx, info) => {
      return runMutation(ctx, { input, info, required: true }, (tx, { viewer }) =>
        createProduct(tx, viewer.tenantId, input),
      );
    },
  },
  {
    name: 'CreateProductPayload',
    description: 'The result of createProduct.',
    outputFields: (t) => ({
      product: t.field({
        type: Product,
        nullable: true,
        description: 'The new product; null when there are userErrors.',
        resolve: (payload) => payload.product,
      }),
      userErrors: userErrorsField(t),
    }),
  },
);

builder.relayMutationField(
  'updateProduct',
  {
    name: 'UpdateProductInput',
    description: 'Changes to a product. Omitted fields keep their values.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The product to change.' }),
      expectedVersion: t.int({
        description: 'Apply only if the product is still at this version (optimistic concurrency).',
      }),
      name: t.string({
        description: `New name, ${PRODUCT_LIMITS.minName}–${PRODUCT_LIMITS.maxName} characters.`,
      }),
      description: t.string({
        description: `New description, at most ${PRODUCT_LIMITS.maxDescription} characters.`,
      }),
      price: t.field({ type: MoneyInput, description: 'New unit price.' }),
      costPrice: t.int({ description: 'New cost price in minor units.' }),
      stock: t.int({ description: 'New stock level.' }),
    }),
  },
  {
    description: 'Changes a product of your tenant. Needs `write:products`.',
    nullable: true,
    ...auth({ requires: ['write:products'] }, MUTATION_COST),
    resolve: async (_root, { input }, ctx, info) => {
      const viewer = requireViewer(ctx);
      return withIdempotency(ctx, { input, info }, async (idempotent) => {
        if (!isIdOf('prod', input.id)) {
          return {
            product: null,
            userErrors: [userError('BAD_USER_INPUT', 'Not a product id.', ['input', 'id'])],
          };
        }
        return inSavepoint(idempotent, async (tx) => {
          const outcome = await updateProduct(tx, viewer.tenantId, input);
          // In the savepoint: refused (userErrors) or rolled back, the event goes too.
          if (outcome.product && outcome.userErrors.length === 0) {
            await emitWebhookEvent(
              tx,
              viewer.tenantId,
              'product.updated',
              productEventData(outcome.product),
            );
          }
          return outcome;
        });
      });
    },
  },
  {
    name: 'UpdateProductPayload',
    description: 'The result of updateProduct.',
    outputFields: (t) => ({
      product: t.field({
        type: Product,
        nullable: true,
        description:
          'The product after the update; on CONFLICT, its current state so you can retry.',
        resolve: (payload) => payload.product,
      }),
      userErrors: userErrorsField(t),
    }),
  },
);
