/**
 * The Mercurius reference of `npm run bench` (scenario group `references`): what a well-built
 * GraphQL server of the usual kind does with the page (a) measures. Fastify 5 + Mercurius 16
 * with `jit: 1` (graphql-jit compiles an operation the second time it runs; Mercurius caches
 * parsed and validated documents), textbook DataLoader resolvers with the loaders built per
 * request, postgres.js, jose. Nothing of our cost controls, limits, logs or metrics.
 *
 * It matches our server for OrderList, so the bench can require the same `data`:
 *   the schema is the subset of ours that OrderList needs, with the same type, field, argument
 *     and enum names, so the persisted document runs unchanged, looked up by its documentId;
 *   the same JWT check (token.ts) in the context function;
 *   the same SQL statements in one transaction (statements.ts: BEGIN, set_config for tenant,
 *     role and read-only, orders page, then the loaders' users by ids, order items by order
 *     ids, products by ids, COMMIT), on a pool of the same size, from the same PostgreSQL;
 *     like ours, the transaction is opened when execution starts (preExecution) and committed
 *     before the response is sent (onResolution);
 *   the same ids, cursors, Money, enum values and DateTime strings.
 * The page's arguments beyond OrderList's (`after`, `last`, `filter`, `orderBy`, …) are
 * declared but refused: a reference of one page, not a second implementation of the API.
 *
 * Started by bench/bench.ts as a child process (`node --import tsx
 * bench/references/mercurius-jit.ts`), configured by the server's environment variables
 * (settings.ts); answers GET /readyz once PostgreSQL does.
 */
import DataLoader from 'dataloader';
import Fastify from 'fastify';
import { GraphQLScalarType } from 'graphql';
import mercurius, { type IResolvers } from 'mercurius';
import { orderCursor, PAGE_SIZE, readOrderListOperation } from './order-list.ts';
import { readReferenceSettings } from './settings.ts';
import {
  type OpenTransaction,
  type OrderItemRow,
  type OrderListStatements,
  type OrderRow,
  openPool,
  openTenantTransaction,
  type ProductRow,
  type UserRow,
} from './statements.ts';
import {
  createTokenCheck,
  mayReadOrderList,
  type ReferenceViewer,
  Unauthenticated,
} from './token.ts';

const schema = /* GraphQL */ `
  scalar DateTime

  enum Currency { EUR INR USD }
  enum OrderStatus { cancelled confirmed pending shipped }
  enum OrderDirection { ASC DESC }
  enum OrderOrderField { CREATED_AT TOTAL }

  input OrderFilter {
    createdAfter: DateTime
    createdBefore: DateTime
    customerId: ID
    status: [OrderStatus!]
  }

  input OrderOrder {
    direction: OrderDirection! = DESC
    field: OrderOrderField!
  }

  interface Node { id: ID! }

  type Money { amount: Int! currency: Currency! }

  type PageInfo {
    endCursor: String
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
  }

  type User implements Node { id: ID! username: String! displayName: String! }

  type Product implements Node { id: ID! name: String! }

  type OrderItem implements Node {
    id: ID!
    quantity: Int!
    subtotal: Money!
    product: Product
  }

  type Order implements Node {
    id: ID!
    status: OrderStatus!
    total: Money!
    createdAt: DateTime!
    customer: User!
    items: [OrderItem!]!
  }

  type OrderEdge { cursor: String! node: Order! }

  type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

  type Query {
    orders(
      after: String
      before: String
      filter: OrderFilter
      first: Int
      last: Int
      orderBy: OrderOrder
    ): OrderConnection
  }
`;

/** The per-request DataLoaders: one statement per relation and page, whatever its size. */
function createLoaders(statements: OrderListStatements) {
  const byId = <Row extends { id: string }>(ids: readonly string[], rows: Row[]) => {
    const found = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => found.get(id) ?? null);
  };
  return {
    user: new DataLoader<string, UserRow | null>(async (ids) =>
      byId(ids, await statements.usersByIds(ids)),
    ),
    product: new DataLoader<string, ProductRow | null>(async (ids) =>
      byId(ids, await statements.productsByIds(ids)),
    ),
    itemsOfOrder: new DataLoader<string, OrderItemRow[]>(async (orderIds) => {
      const items = new Map<string, OrderItemRow[]>(orderIds.map((id) => [id, []]));
      for (const item of await statements.itemsOfOrders(orderIds)) {
        items.get(item.order_id)?.push(item);
      }
      return orderIds.map((id) => items.get(id) ?? []);
    }),
  };
}

type Loaders = ReturnType<typeof createLoaders>;

declare module 'mercurius' {
  interface MercuriusContext {
    viewer: ReferenceViewer;
    /** Set when execution starts (preExecution). */
    transaction?: OpenTransaction;
    loaders?: Loaders;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's transaction, for onResponse to close should execution never finish. */
    transaction: OpenTransaction | null;
  }
}

function loadersOf(context: mercurius.MercuriusContext): Loaders {
  if (!context.loaders) throw new Error('the loaders are built in preExecution');
  return context.loaders;
}

function forbidden(message: string) {
  return new mercurius.ErrorWithProps(message, { code: 'FORBIDDEN' }, 403);
}

interface OrdersArgs {
  first?: number | null;
  after?: string | null;
  before?: string | null;
  last?: number | null;
  filter?: unknown;
  orderBy?: unknown;
}

const resolvers: IResolvers = {
  DateTime: new GraphQLScalarType({
    name: 'DateTime',
    serialize: (value) => (value as Date).toISOString(),
  }),
  Query: {
    async orders(_root, args: OrdersArgs, context) {
      if (!mayReadOrderList(context.viewer)) {
        throw forbidden("This reference serves readers of the tenant's orders.");
      }
      const { first, after, before, last, filter, orderBy } = args;
      if (after != null || before != null || last != null || filter != null || orderBy != null) {
        throw new mercurius.ErrorWithProps('This reference serves `orders(first:)` only.', {
          code: 'BAD_USER_INPUT',
        });
      }
      const size = first ?? PAGE_SIZE;
      if (size < 0 || size > 100) {
        throw new mercurius.ErrorWithProps('`first` must be 0–100.', { code: 'BAD_USER_INPUT' });
      }
      const statements = context.transaction?.statements;
      if (!statements) throw new Error('the transaction is opened in preExecution');
      const rows = await statements.ordersPage(size + 1);
      const nodes = rows.slice(0, size);
      const firstNode = nodes[0];
      const lastNode = nodes.at(-1);
      return {
        nodes,
        pageInfo: {
          hasNextPage: rows.length > size,
          hasPreviousPage: false,
          startCursor: firstNode ? orderCursor(firstNode) : null,
          endCursor: lastNode ? orderCursor(lastNode) : null,
        },
      };
    },
  },
  OrderConnection: {
    edges: ({ nodes }: { nodes: OrderRow[] }) =>
      nodes.map((node) => ({ cursor: orderCursor(node), node })),
  },
  Order: {
    total: (order: OrderRow) => ({ amount: order.total_cents, currency: order.currency }),
    createdAt: (order: OrderRow) => order.created_at,
    customer: (order: OrderRow, _args, context) => loadersOf(context).user.load(order.customer_id),
    items: (order: OrderRow, _args, context) => loadersOf(context).itemsOfOrder.load(order.id),
  },
  OrderItem: {
    subtotal: (item: OrderItemRow) => ({
      amount: item.quantity * item.unit_price_cents,
      currency: item.currency,
    }),
    product: (item: OrderItemRow, _args, context) =>
      loadersOf(context).product.load(item.product_id),
  },
  User: {
    displayName: (user: UserRow) => user.display_name,
  },
};

const settings = readReferenceSettings();
const sql = openPool(settings);
const verify = await createTokenCheck(settings);
const orderList = await readOrderListOperation(settings.manifestFile);
await sql`select 1`;

const app = Fastify({ logger: false });
app.decorateRequest('transaction', null);

await app.register(mercurius, {
  schema,
  resolvers,
  jit: 1,
  path: '/graphql',
  graphiql: false,
  async context(request) {
    try {
      return { viewer: await verify(request.headers.authorization) };
    } catch (error) {
      if (!(error instanceof Unauthenticated)) throw error;
      throw new mercurius.ErrorWithProps(error.message, { code: 'UNAUTHENTICATED' }, 401);
    }
  },
  // Our clients send `{"documentId": "sha256:…"}` (GraphQL over HTTP's persisted documents).
  persistedQueryProvider: {
    isPersistedQuery: (request) => {
      const { documentId, query } = request as { documentId?: unknown; query?: unknown };
      return typeof documentId === 'string' && query === undefined;
    },
    isPersistedQueryRetry: () => false,
    getHash: (request) => (request as { documentId?: string }).documentId ?? '',
    getQueryFromHash: async (hash) =>
      hash === orderList.documentId ? orderList.document : undefined,
    notFoundError: 'PERSISTED_QUERY_NOT_FOUND',
  },
});

app.graphql.addHook('preExecution', async (_schema, _document, context) => {
  const transaction = await openTenantTransaction(sql, context.viewer.tenantId);
  context.reply.request.transaction = transaction;
  context.transaction = transaction;
  context.loaders = createLoaders(transaction.statements);
});

app.graphql.addHook('onResolution', async (_execution, context) => {
  const { transaction } = context;
  if (!transaction) return;
  await transaction.commit();
  context.reply.header('x-sql-statements', transaction.statements.count);
});

app.addHook('onResponse', async (request) => {
  await request.transaction?.commit();
});

app.get('/readyz', async () => ({ status: 'ready' }));
app.get('/healthz', async () => ({ status: 'ok' }));

await app.listen({ port: settings.port, host: settings.host });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app
      .close()
      .then(() => sql.end({ timeout: 5 }))
      .finally(() => process.exit(0));
  });
}
