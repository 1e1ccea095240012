/**
 * A running app for one test file: a fresh database seeded with the demo data, the real
 * plugin pipeline, and a `graphql()` client that goes through HTTP via `app.fetch`.
 * Tokens are minted with the development key of a temporary DATA_DIR.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { type App, type AppDeps, createApp } from '../../src/app.ts';
import { mintDevToken } from '../../src/auth/dev-token.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { DEMO_TENANTS, seedDatabase } from '../../src/db/seed.ts';
import {
  openPersistedOperationRegistry,
  type PersistedOperationRegistry,
} from '../../src/persisted-operations/registry.ts';
import { SQL_STATEMENTS_HEADER } from '../../src/plugins/tenant-transaction.ts';
import { schema } from '../../src/schema/index.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

/** A demo user as `tenant/username`, e.g. `acme/alice`. */
export type DemoUserName =
  | 'acme/alice'
  | 'acme/bob'
  | 'acme/carol'
  | 'globex/dave'
  | 'globex/erin'
  | 'globex/frank';

/**
 * Response data is untyped JSON: tests reach into it by the shape of their own query, and an
 * `any` there is what a typed client would generate, minus the codegen step.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Json = any;

export interface GraphQLResponse<Data = Record<string, Json>> {
  status: number;
  headers: Headers;
  body: {
    data?: Data | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, Json> }[];
    extensions?: Record<string, unknown>;
  };
  /** SQL statements the request sent (the X-SQL-Statements header). */
  sqlStatements: number;
  /**
   * The response's `extensions.cost` report, split off `body` so that a test's exact
   * assertions on `body` stay about its own data and errors; the cost tests assert on this.
   */
  cost: Record<string, Json> | undefined;
}

/**
 * Splits a response's `extensions.cost` report off its body, so that exact assertions on the
 * body stay about the test's own data and errors; cost tests assert on `cost` instead.
 */
export function splitCostReport(json: Record<string, Json>): {
  body: GraphQLResponse['body'];
  cost: Record<string, Json> | undefined;
} {
  const { extensions, ...payload } = json;
  const { cost, ...otherExtensions } = extensions ?? {};
  const body = Object.keys(otherExtensions).length
    ? { ...payload, extensions: otherExtensions }
    : payload;
  return { body, cost };
}

export interface RequestOptions {
  /** Act as this demo user; omit for an anonymous request. */
  as?: DemoUserName;
  /** Send exactly this Authorization header (overrides `as`). */
  authorization?: string;
  headers?: Record<string, string>;
}

export interface TestApp {
  app: App;
  config: Config;
  database: TestDatabase;
  /** The app's persisted-operation registry (the committed manifest and the table). */
  persistedOperations: PersistedOperationRegistry;
  graphql<Data = Record<string, Json>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<GraphQLResponse<Data>>;
  /**
   * Any GraphQL-over-HTTP parameters (`documentId`, `extensions`, `doc_id` …), by POST (JSON
   * body) or GET (query string, objects as JSON).
   */
  send<Data = Record<string, Json>>(
    params: Record<string, unknown>,
    options?: RequestOptions & { method?: 'GET' | 'POST' },
  ): Promise<GraphQLResponse<Data>>;
  /** A raw HTTP request to the app, for bad bodies and other transport-level cases. */
  fetch(pathname: string, init?: RequestInit): Promise<Response>;
  token(user: DemoUserName, options?: { scopes?: string[]; ttlSeconds?: number }): Promise<string>;
  /** Ids of the demo tenants and users, from the seed's definition. */
  ids: { tenants: Record<string, string>; users: Record<DemoUserName, string> };
  close(): Promise<void>;
}

const UNLIMITED_BUDGETS = {
  BUDGET_FREE: '1000000000/1000000000',
  BUDGET_PRO: '1000000000/1000000000',
  BUDGET_ENTERPRISE: '1000000000/1000000000',
  BUDGET_ANONYMOUS: '1000000000/1000000000',
};

/** GraphQL-over-HTTP parameters as a GET query string: objects (variables, extensions) as JSON. */
function searchParamsOf(params: Record<string, unknown>): URLSearchParams {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    search.set(name, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return search;
}

export async function startTestApp(
  options: {
    env?: Record<string, string>;
    /** Extra app dependencies, e.g. a Redis client or a budget store to share between apps. */
    deps?: Partial<Pick<AppDeps, 'redis' | 'budgetStore' | 'logger' | 'metrics' | 'tracing'>>;
  } = {},
): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'orders-test-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    // Test files send far more expensive operations per second than any client should, as
    // the same demo users: buckets no test drains, unless a test sets its own budgets.
    ...UNLIMITED_BUDGETS,
    ...options.env,
  });
  const database = await createTestDatabase();
  await seedDatabase(database.db, { scale: 1 });
  const verifier = await createTokenVerifier(config.auth);
  const persistedOperations = await openPersistedOperationRegistry(schema, config, database);
  const app = createApp({
    config,
    database,
    verifier,
    persistedOperations,
    logger: pino({ level: 'silent' }),
    ...options.deps,
  });

  const tokens = new Map<string, string>();
  const token: TestApp['token'] = async (user, tokenOptions = {}) => {
    const [tenant, username] = user.split('/') as [string, string];
    return mintDevToken(config, { tenant, user: username, ...tokenOptions });
  };

  const ids = {
    tenants: Object.fromEntries(DEMO_TENANTS.map((tenant) => [tenant.slug, tenant.id])),
    users: Object.fromEntries(
      DEMO_TENANTS.flatMap((tenant) =>
        tenant.users.map((user) => [`${tenant.slug}/${user.username}`, user.id]),
      ),
    ) as Record<DemoUserName, string>,
  };

  async function send<Data>(
    params: Record<string, unknown>,
    requestOptions: RequestOptions & { method?: 'GET' | 'POST' } = {},
  ): Promise<GraphQLResponse<Data>> {
    const method = requestOptions.method ?? 'POST';
    const headers: Record<string, string> = {
      // A GET needs a header that forces a CORS preflight (CSRF prevention, src/http/).
      ...(method === 'POST'
        ? { 'content-type': 'application/json' }
        : { 'graphql-require-preflight': '1' }),
      accept: 'application/graphql-response+json, application/json',
      ...requestOptions.headers,
    };
    if (requestOptions.authorization !== undefined) {
      headers.authorization = requestOptions.authorization;
    } else if (requestOptions.as) {
      let cached = tokens.get(requestOptions.as);
      if (!cached) {
        cached = await token(requestOptions.as);
        tokens.set(requestOptions.as, cached);
      }
      headers.authorization = `Bearer ${cached}`;
    }
    const response =
      method === 'GET'
        ? await app.fetch(`http://localhost/graphql?${searchParamsOf(params)}`, { headers })
        : await app.fetch('http://localhost/graphql', {
            method: 'POST',
            headers,
            body: JSON.stringify(params),
          });
    const text = await response.text();
    const { body, cost } = text ? splitCostReport(JSON.parse(text)) : { body: {}, cost: undefined };
    return {
      status: response.status,
      headers: response.headers,
      body: body as GraphQLResponse<Data>['body'],
      cost,
      sqlStatements: Number(response.headers.get(SQL_STATEMENTS_HEADER) ?? Number.NaN),
    };
  }

  return {
    app,
    config,
    database,
    persistedOperations,
    ids,
    token,
    fetch: async (pathname, init = {}) =>
      app.fetch(new Request(`http://localhost${pathname}`, init)),
    async graphql<Data>(
      query: string,
      variables?: Record<string, unknown>,
      requestOptions: RequestOptions = {},
    ): Promise<GraphQLResponse<Data>> {
      return send<Data>({ query, variables }, requestOptions);
    },
    send,
    async close() {
      await database.destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The app on a database it does not own (a URL), as the server runs it; nothing seeded. */
export interface AppOnDatabase {
  app: App;
  config: Config;
  database: Database;
  /** A token of `tenant/user`, minted with this app's development key. */
  token(user: DemoUserName): Promise<string>;
  close(): Promise<void>;
}

/**
 * The real app, with the settings `env` adds, on the PostgreSQL `databaseUrl` names (through
 * a fault proxy, as another role, or where nothing listens). postgres.js connects lazily:
 * starting the app touches nothing.
 */
export async function startAppOnDatabase(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<AppOnDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'orders-app-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    ...env,
  });
  const database = await openDatabase(config.database);
  const app = createApp({
    config,
    database,
    verifier: await createTokenVerifier(config.auth),
    persistedOperations: await openPersistedOperationRegistry(schema, config, database),
    logger: pino({ level: 'silent' }),
  });
  return {
    app,
    config,
    database,
    token: (user) => {
      const [tenant, username] = user.split('/') as [string, string];
      return mintDevToken(config, { tenant, user: username });
    },
    async close() {
      await database.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
