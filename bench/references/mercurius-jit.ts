/**
 * The Mercurius reference of `npm run bench` (scenario group `references`): what a well-built
 * GraphQL server of the usual kind does with the page (a) measures. Fastify 5 + Mercurius 16
 * with `jit: 1` (graphql-jit compiles an operation the second time it runs; Mercurius caches
 * parsed and validated documents), textbook DataLoader resolvers with the loaders built per
 * request, postgres.js, jose. Nothing of our cost controls, limits, logs or metrics.
 *
 * It matches our server for OrderList, so the bench can require the same `data`:
 *   the schema is the subset of ours that OrderList needs, with the same names
 *     (order-list-schema.ts, shared with the Yoga reference), so the persisted document runs unchanged, looked up by its
 *     documentId;
 *   the same JWT check (token.ts) in the context function;
 *   the same SQL statements in one transaction (statements.ts: BEGIN, set_config for tenant,
 *     role and read-only, orders page, then the loaders' users by ids, order items by order
 *     ids, products by ids, COMMIT), on a pool of the same size, from the same PostgreSQL;
 *     like ours, the transaction is opened when execution starts (preExecution) and committed
 *     before the response is sent (onResolution);
 *   the same ids, cursors, Money, enum values and DateTime strings.
 *
 * Started by bench/bench.ts as a child process (`node --import tsx
 * bench/references/mercurius-jit.ts`), configured by the server's environment variables
 * (settings.ts); answers GET /readyz once PostgreSQL does.
 */
import Fastify from 'fastify';
import mercurius from 'mercurius';
import { readOrderListOperation } from './order-list.ts';
import { createLoaders, type ReferenceContext, resolvers, schema } from './order-list-schema.ts';
import { readReferenceSettings } from './settings.ts';
import { type OpenTransaction, openPool, openTenantTransaction } from './statements.ts';
import { createTokenCheck, Unauthenticated } from './token.ts';

declare module 'mercurius' {
  interface MercuriusContext extends ReferenceContext {}
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's transaction, for onResponse to close should execution never finish. */
    transaction: OpenTransaction | null;
  }
}

const settings = readReferenceSettings();
const sql = openPool(settings);
const verify = await createTokenCheck(settings);
const orderList = await readOrderListOperation(settings.manifestFile);
await sql`select 1`;

const app = Fastify({ logger: false });
app.decorateRequest('transaction', null);

await app.register(mercurius, {
  schema,
  resolvers: resolvers as mercurius.IResolvers,
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
