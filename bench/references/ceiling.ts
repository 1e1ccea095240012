/**
 * The hand-written ceiling of `npm run bench` (scenario group `references`): the fastest
 * reasonable Node implementation of the one page (a) measures, with no GraphQL engine at all.
 * node:http + postgres.js + jose. It answers exactly what the bench sends for OrderList (its
 * persisted documentId, no variables) with the `data` our server answers, byte for byte:
 *
 *   the same JWT check (token.ts: same key, algorithm, issuer, audience, times and claims),
 *   the same SQL statements in one transaction (statements.ts: BEGIN, set_config for tenant,
 *     role and read-only, orders page, users by ids, order items by order ids, products by
 *     ids, COMMIT), on a pool of the same size, from the same PostgreSQL,
 *   the same ids, cursors, Money, enum values and DateTime strings, built by hand and written
 *     with one JSON.stringify.
 *
 * What our server does beyond that (cost analysis, budgets, limits, logs, metrics, a GraphQL
 * engine) is what the distance to this ceiling measures. Not a server for anything else:
 * every other request is refused. Started by bench/bench.ts as a child process
 * (`node --import tsx bench/references/ceiling.ts`), configured by the server's environment
 * variables (settings.ts); answers GET /readyz once PostgreSQL does.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { orderCursor, PAGE_SIZE, readOrderListOperation } from './order-list.ts';
import { readReferenceSettings } from './settings.ts';
import {
  inTenantTransaction,
  type OrderItemRow,
  type OrderListStatements,
  openPool,
  type ProductRow,
} from './statements.ts';
import { createTokenCheck, mayReadOrderList, Unauthenticated } from './token.ts';

/** MAX_BODY_SIZE's default: a larger body is refused before it is read to the end. */
const MAX_BODY_BYTES = 100 * 1024;

const settings = readReferenceSettings();
const sql = openPool(settings);
const verify = await createTokenCheck(settings);
const orderList = await readOrderListOperation(settings.manifestFile);
await sql`select 1`;

class Refused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is drained, not kept, so that the 413 can still be sent.
      if (size > MAX_BODY_BYTES) {
        reject(new Refused(413, 'REQUEST_ENTITY_TOO_LARGE', 'The body is too large.'));
      } else {
        chunks.push(chunk);
      }
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** The bench's OrderList request: its documentId, and no variables (or only nulls). */
function isOrderList(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const { documentId, variables, operationName } = body as Record<string, unknown>;
  if (documentId !== orderList.documentId) return false;
  if (operationName != null && operationName !== 'OrderList') return false;
  if (variables == null) return true;
  return (
    typeof variables === 'object' &&
    Object.values(variables as Record<string, unknown>).every((value) => value == null)
  );
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The page: what OrderList selects, in its order, from the rows of the four statements. */
async function orderListData(statements: OrderListStatements) {
  const rows = await statements.ordersPage(PAGE_SIZE + 1);
  const orders = rows.slice(0, PAGE_SIZE);
  const orderIds = orders.map((order) => order.id);
  // Customers and lines in one round of statements, as DataLoader batches them.
  const [customers, items] = await Promise.all([
    orders.length > 0 ? statements.usersByIds(unique(orders.map((o) => o.customer_id))) : [],
    orders.length > 0 ? statements.itemsOfOrders(orderIds) : [],
  ]);
  const customerById = new Map(customers.map((user) => [user.id, user]));
  const itemsByOrder = new Map<string, OrderItemRow[]>(orderIds.map((id) => [id, []]));
  for (const item of items) itemsByOrder.get(item.order_id)?.push(item);
  const productIds = unique(
    orderIds.flatMap((id) => (itemsByOrder.get(id) ?? []).map((item) => item.product_id)),
  );
  const products = productIds.length > 0 ? await statements.productsByIds(productIds) : [];
  const productById = new Map<string, ProductRow>(products.map((product) => [product.id, product]));
  const last = orders.at(-1);
  return {
    orders: {
      nodes: orders.map((order) => {
        const customer = customerById.get(order.customer_id);
        if (!customer) throw new Error(`order ${order.id} has no customer ${order.customer_id}`);
        return {
          id: order.id,
          status: order.status,
          total: { amount: order.total_cents, currency: order.currency },
          createdAt: order.created_at.toISOString(),
          customer: {
            id: customer.id,
            username: customer.username,
            displayName: customer.display_name,
          },
          items: (itemsByOrder.get(order.id) ?? []).map((item) => {
            const product = productById.get(item.product_id);
            return {
              id: item.id,
              quantity: item.quantity,
              subtotal: { amount: item.quantity * item.unit_price_cents, currency: item.currency },
              product: product ? { id: product.id, name: product.name } : null,
            };
          }),
        };
      }),
      pageInfo: {
        hasNextPage: rows.length > PAGE_SIZE,
        endCursor: last ? orderCursor(last) : null,
      },
    },
  };
}

function send(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, {
    'content-type': 'application/graphql-response+json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

function sendError(response: ServerResponse, status: number, code: string, message: string) {
  send(response, status, JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method === 'GET' && (request.url === '/readyz' || request.url === '/healthz')) {
    send(response, 200, '{"status":"ready"}');
    return;
  }
  try {
    if (request.method !== 'POST' || request.url !== '/graphql') {
      throw new Refused(404, 'NOT_FOUND', 'This reference serves POST /graphql only.');
    }
    const text = await readBody(request);
    const viewer = await verify(request.headers.authorization);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Refused(400, 'BAD_REQUEST', 'The body is not JSON.');
    }
    if (!isOrderList(body)) {
      throw new Refused(400, 'PERSISTED_QUERY_NOT_FOUND', 'This reference serves OrderList only.');
    }
    if (!mayReadOrderList(viewer)) {
      throw new Refused(403, 'FORBIDDEN', "This reference serves readers of the tenant's orders.");
    }
    const { data, statementCount } = await inTenantTransaction(
      sql,
      viewer.tenantId,
      async (statements) => ({
        data: await orderListData(statements),
        statementCount: statements.count,
      }),
    );
    send(response, 200, JSON.stringify({ data }), { 'x-sql-statements': String(statementCount) });
  } catch (error) {
    if (error instanceof Refused) sendError(response, error.status, error.code, error.message);
    else if (error instanceof Unauthenticated) {
      sendError(response, 401, 'UNAUTHENTICATED', error.message);
    } else {
      process.stderr.write(`ceiling: ${(error as Error).stack ?? String(error)}\n`);
      sendError(response, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
    }
  }
}

const server = createServer((request, response) => void handle(request, response));
await new Promise<void>((resolve) => server.listen(settings.port, settings.host, resolve));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeIdleConnections();
    void sql.end({ timeout: 5 }).finally(() => process.exit(0));
  });
}
