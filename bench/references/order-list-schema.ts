/**
 * The schema and resolvers of the GraphQL references (mercurius-jit.ts, yoga-jit.ts), apart
 * from their servers so that both run the same resolvers and tests can hold the schema to ours. The SDL is the subset of our schema that
 * OrderList needs, with the same type, field, argument and enum names (test/bench/
 * references.test.ts checks each against schema.graphql), so the persisted document runs
 * unchanged. The resolvers are the textbook kind: the list field reads its page, every relation
 * goes through a DataLoader built per request (`createLoaders`), and each row becomes the
 * GraphQL value ours gives it (Money from cents and currency, DateTime as an ISO string, the
 * cursors of order-list.ts). The page's arguments beyond OrderList's (`after`, `last`,
 * `filter`, `orderBy`, …) are declared but refused: a reference of one page, not a second
 * implementation of the API.
 */
import DataLoader from 'dataloader';
import { GraphQLError, type GraphQLFieldResolver, GraphQLScalarType } from 'graphql';
import { orderCursor, PAGE_SIZE } from './order-list.ts';
import type {
  OpenTransaction,
  OrderItemRow,
  OrderListStatements,
  OrderRow,
  ProductRow,
  UserRow,
} from './statements.ts';
import { mayReadOrderList, type ReferenceViewer } from './token.ts';

export const schema = /* GraphQL */ `
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
export function createLoaders(statements: OrderListStatements) {
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

export type Loaders = ReturnType<typeof createLoaders>;

/** What the resolvers read from a request's context; each server fills it its own way. */
export interface ReferenceContext {
  viewer: ReferenceViewer;
  /** Set when execution starts, with the loaders over its statements. */
  transaction?: OpenTransaction;
  loaders?: Loaders;
}

function loadersOf(context: ReferenceContext): Loaders {
  if (!context.loaders) throw new Error('the loaders are built when execution starts');
  return context.loaders;
}

/** An error in our server's shape (`extensions.code`; Yoga also reads the HTTP status). */
function clientError(message: string, code: string, status: number) {
  return new GraphQLError(message, { extensions: { code, http: { status } } });
}

interface OrdersArgs {
  first?: number | null;
  after?: string | null;
  before?: string | null;
  last?: number | null;
  filter?: unknown;
  orderBy?: unknown;
}

type Resolver = GraphQLFieldResolver<never, ReferenceContext, never>;

/** Resolvers by type and field, as Mercurius and Yoga's `createSchema` both take them. */
export const resolvers: Record<string, GraphQLScalarType | Record<string, Resolver>> = {
  DateTime: new GraphQLScalarType({
    name: 'DateTime',
    serialize: (value) => (value as Date).toISOString(),
  }),
  Query: {
    async orders(_root: unknown, args: OrdersArgs, context: ReferenceContext) {
      if (!mayReadOrderList(context.viewer)) {
        throw clientError(
          "This reference serves readers of the tenant's orders.",
          'FORBIDDEN',
          403,
        );
      }
      const { first, after, before, last, filter, orderBy } = args;
      if (after != null || before != null || last != null || filter != null || orderBy != null) {
        throw clientError('This reference serves `orders(first:)` only.', 'BAD_USER_INPUT', 400);
      }
      const size = first ?? PAGE_SIZE;
      if (size < 0 || size > 100) {
        throw clientError('`first` must be 0–100.', 'BAD_USER_INPUT', 400);
      }
      const statements = context.transaction?.statements;
      if (!statements) throw new Error('the transaction is opened when execution starts');
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
    customer: (order: OrderRow, _args: unknown, context: ReferenceContext) =>
      loadersOf(context).user.load(order.customer_id),
    items: (order: OrderRow, _args: unknown, context: ReferenceContext) =>
      loadersOf(context).itemsOfOrder.load(order.id),
  },
  OrderItem: {
    subtotal: (item: OrderItemRow) => ({
      amount: item.quantity * item.unit_price_cents,
      currency: item.currency,
    }),
    product: (item: OrderItemRow, _args: unknown, context: ReferenceContext) =>
      loadersOf(context).product.load(item.product_id),
  },
  User: {
    displayName: (user: UserRow) => user.display_name,
  },
};
