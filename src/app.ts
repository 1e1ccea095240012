/**
 * createApp(deps): the whole HTTP + GraphQL server as a Yoga instance. It never listens:
 * main.ts hands it to node:http, and tests call `app.fetch` directly, through the very same
 * pipeline (plugins/index.ts lists it in order).
 */
import { sql } from 'drizzle-orm';
import { createYoga, useReadinessCheck } from 'graphql-yoga';
import type { AppContext } from './context.ts';
import { createErrorMask } from './errors.ts';
import { graphiqlTabs } from './http/graphiql-examples.ts';
import { yogaLogger } from './logger.ts';
import { createPlugins, type PipelineDeps } from './plugins/index.ts';
import { PERSISTED_OPERATION_PARAMS } from './plugins/persisted-operations.ts';
import { requestIdOf } from './plugins/request-id.ts';
import { schema } from './schema/index.ts';

export interface AppDeps extends PipelineDeps {
  /** Pre-fills GraphiQL's Authorization header in development (a demo user's token). */
  graphiqlAuthorization?: string;
}

export function createApp(deps: AppDeps) {
  const { config, database, logger } = deps;
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
    context: ({ request }) => ({ config, requestId: requestIdOf(request), viewer: null }),
    maskedErrors: {
      maskError: createErrorMask((cause, path) =>
        logger.error({ err: cause, path }, 'unexpected error'),
      ),
    },
    graphiql: config.graphiql
      ? {
          title: 'Orders API',
          defaultTabs: graphiqlTabs(deps.graphiqlAuthorization),
          shouldPersistHeaders: false,
        }
      : false,
    plugins: [
      ...createPlugins(deps),
      useReadinessCheck({
        endpoint: '/readyz',
        // Ready means the database answers; migrations ran before the server listened.
        check: async () => {
          await database.db.execute(sql`select 1`);
        },
      }),
    ],
  });
}

export type App = ReturnType<typeof createApp>;
