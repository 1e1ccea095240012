/**
 * The Yoga reference of `npm run bench` (scenario group `references`): the floor of the stack
 * our server is built on. graphql-yoga 5, the HTTP and plugin layer DESIGN.md prescribes, runs
 * the Mercurius reference's schema and textbook DataLoader resolvers (order-list-schema.ts)
 * with graphql-jit, and nothing else of ours: no Pothos, no Drizzle, no cost controls, limits,
 * logs or metrics. Set against Mercurius (same resolvers, same SQL, same JWT check, same
 * `data`), it measures what Yoga itself costs per request; set against ours, what everything
 * we add on top of Yoga costs.
 *
 * Like the Mercurius reference:
 *   the persisted OrderList document is looked up by its documentId
 *     (@graphql-yoga/plugin-persisted-operations, as our server does), nothing else runs;
 *   the context holds the verified viewer (token.ts), a bad token is a 401;
 *   an operation is compiled by graphql-jit the second time it runs, then runs compiled;
 *   the tenant's transaction opens when execution starts and commits when it ends (before the
 *     response is sent), the loaders built over its statements.
 *
 * Started by bench/bench.ts as a child process, configured by the server's environment
 * variables (settings.ts); answers GET /readyz once PostgreSQL does.
 */
import { createServer } from 'node:http';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { type DocumentNode, type ExecutionArgs, GraphQLError } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { readOrderListOperation } from './order-list.ts';
import { createLoaders, type ReferenceContext, resolvers, schema } from './order-list-schema.ts';
import { readReferenceSettings } from './settings.ts';
import { type OpenTransaction, openPool, openTenantTransaction } from './statements.ts';
import { createTokenCheck, Unauthenticated } from './token.ts';

const settings = readReferenceSettings();
const sql = openPool(settings);
const verify = await createTokenCheck(settings);
const orderList = await readOrderListOperation(settings.manifestFile);
await sql`select 1`;

/** graphql-jit as Mercurius's `jit: 1` uses it: compiled on the second run of a document. */
function useJit(): Plugin {
  const compiled = new WeakMap<DocumentNode, CompiledQuery | 'seen once'>();
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(((args: ExecutionArgs) => {
        const known = compiled.get(args.document);
        if (known === undefined) {
          compiled.set(args.document, 'seen once');
          return executeFn(args);
        }
        if (known !== 'seen once') {
          return known.query(args.rootValue, args.contextValue, args.variableValues);
        }
        const query = compileQuery(args.schema, args.document, args.operationName ?? undefined);
        if (!isCompiledQuery(query)) throw new Error('graphql-jit cannot compile OrderList');
        compiled.set(args.document, query);
        return query.query(args.rootValue, args.contextValue, args.variableValues);
      }) as typeof executeFn);
    },
  };
}

/**
 * The tenant's transaction around execution, and the loaders over its statements; the
 * response says how many statements it ran (`x-sql-statements`, as ours and Mercurius do).
 */
function useTenantTransaction(): Plugin<ReferenceContext> {
  const statementsByRequest = new WeakMap<Request, OpenTransaction['statements']>();
  return {
    async onExecute({ args }) {
      const context = args.contextValue;
      const transaction = await openTenantTransaction(sql, context.viewer.tenantId);
      context.transaction = transaction;
      context.loaders = createLoaders(transaction.statements);
      statementsByRequest.set(context.request, transaction.statements);
      return {
        async onExecuteDone() {
          await transaction.commit();
        },
      };
    },
    onResponse({ request, response }) {
      const statements = statementsByRequest.get(request);
      if (statements) response.headers.set('x-sql-statements', String(statements.count));
    },
  };
}

const yoga = createYoga<object, ReferenceContext>({
  schema: createSchema<ReferenceContext>({ typeDefs: schema, resolvers: resolvers as never }),
  graphqlEndpoint: '/graphql',
  graphiql: false,
  landingPage: false,
  logging: false,
  async context({ request }) {
    try {
      return { viewer: await verify(request.headers.get('authorization') ?? undefined) };
    } catch (error) {
      if (!(error instanceof Unauthenticated)) throw error;
      throw new GraphQLError(error.message, {
        extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
      });
    }
  },
  plugins: [
    // Our clients send `{"documentId": "sha256:…"}` (GraphQL over HTTP's persisted documents).
    usePersistedOperations({
      extractPersistedOperationId: (params) =>
        (params as { documentId?: unknown }).documentId === orderList.documentId
          ? orderList.documentId
          : null,
      getPersistedOperation: (id) => (id === orderList.documentId ? orderList.document : null),
    }),
    useJit(),
    useTenantTransaction(),
  ],
});

const server = createServer((request, response) => {
  if (request.method === 'GET' && (request.url === '/readyz' || request.url === '/healthz')) {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: request.url === '/readyz' ? 'ready' : 'ok' }));
    return;
  }
  void yoga(request, response);
});
server.listen(settings.port, settings.host);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    void sql.end({ timeout: 5 }).finally(() => process.exit(0));
  });
}
