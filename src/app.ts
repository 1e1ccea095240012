/**
 * createApp(deps): the whole HTTP + GraphQL server as a Yoga instance. It never listens:
 * main.ts hands it to node:http, and tests call `app.fetch` directly, through the very same
 * pipeline (plugins/index.ts lists it in order).
 */
import { createYoga, useReadinessCheck } from 'graphql-yoga';
import { createApiKeyVerifier, withApiKeys } from './auth/api-keys.ts';
import type { AppContext } from './context.ts';
import { maskErrorForClient } from './errors.ts';
import { corsOptions } from './http/cors.ts';
import { graphiqlPage } from './http/graphiql.ts';
import { graphiqlHeaders, graphiqlTabs } from './http/graphiql-examples.ts';
import { createReadinessCheck } from './http/readiness.ts';
import { requestIdOf } from './http/request-id.ts';
import { yogaLogger } from './logger.ts';
import { createPlugins, type PipelineDeps } from './plugins/index.ts';
import { PERSISTED_OPERATION_PARAMS } from './plugins/persisted-operations.ts';
import { schema } from './schema/index.ts';

export interface AppDeps extends PipelineDeps {
  /** Pre-fills GraphiQL's Authorization header in development (a demo user's token). */
  graphiqlAuthorization?: string;
  /**
   * `false` loads every relation one key per SQL statement instead of one statement per level
   * (loaders/batching.ts): the naive reference, the N+1 pattern of a server without DataLoader,
   * that benchmarks compare against. Results are the same. Default true. Never set from
   * configuration, like `protections`. (Not `BATCHING`: several operations per HTTP request.)
   */
  batching?: boolean;
}

export function createApp(deps: AppDeps) {
  const { config, logger } = deps;
  // With tracing, each SQL statement of a request is a span; without it, the database as given.
  const database = deps.tracing
    ? deps.database.observe(deps.tracing.observeStatement)
    : deps.database;
  // GraphiQL from our own origin (http/graphiql.ts): the page, its files and its policy.
  const graphiql = config.graphiql
    ? graphiqlPage({
        title: 'Orders API',
        defaultTabs: graphiqlTabs(deps.graphiqlAuthorization),
        // The headers editor starts from these (GraphiQL keeps a tab's own headers only when
        // it persists headers, which would leave the token in the browser's storage).
        headers: graphiqlHeaders(deps.graphiqlAuthorization),
        shouldPersistHeaders: false,
      })
    : undefined;
  return createYoga<Record<string, never>, AppContext>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    // Persisted-operation ids besides GraphQL over HTTP's own parameters (Relay's doc_id).
    extraParamNames: [...PERSISTED_OPERATION_PARAMS],
    // Several operations in one HTTP request (a JSON array) only when configured.
    batching: config.limits.batching ? { limit: config.limits.batching.maxOperations } : false,
    logging: yogaLogger(logger),
    context: ({ request }) => ({
      config,
      requestId: requestIdOf(request),
      viewer: null,
      batching: deps.batching !== false,
    }),
    // Unexpected failures reach clients as a bare INTERNAL_SERVER_ERROR; their causes are
    // logged with the request id (plugins/unexpected-errors.ts).
    maskedErrors: { maskError: maskErrorForClient },
    graphiql: graphiql !== undefined,
    renderGraphiQL: graphiql ? () => graphiql.html : undefined,
    // Before any parsing: a declared Content-Length over the limit is refused unread, and a
    // body without one (chunked) is read no further than the limit. 413 REQUEST_ENTITY_TOO_LARGE.
    maxRequestBodySize: config.http.maxBodyBytes,
    // Only the configured origins, answered per request (http/cors.ts).
    cors: corsOptions(config.http.cors),
    plugins: [
      ...createPlugins({
        ...deps,
        // Bearer JWTs, and `oak_…` API keys looked up in this database (auth/api-keys.ts).
        verifier: withApiKeys(deps.verifier, createApiKeyVerifier(database, { logger })),
        database,
        graphiqlPolicy: graphiql?.policy,
      }),
      // Ready: the database answers and has every migration (http/readiness.ts).
      useReadinessCheck({
        endpoint: '/readyz',
        check: createReadinessCheck(database, logger, config.timeouts.poolMs),
      }),
    ],
  });
}

export type App = ReturnType<typeof createApp>;
