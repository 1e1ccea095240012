/**
 * Opens the database the config names: PostgreSQL through a postgres.js pool when
 * DATABASE_URL is set, otherwise an embedded PGlite database under DATA_DIR. Both are
 * exposed as the same Drizzle type, so nothing above this file knows which one it has.
 */
import { mkdir } from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Config } from '../config.ts';
import {
  type CircuitSettings,
  createDatabaseCircuit,
  type DatabaseCircuit,
} from './circuit-breaker.ts';
import { createFromPgliteTemplate } from './pglite-template.ts';
import { tenants } from './schema.ts';
import { observePglite, observePostgres, type StatementObserver } from './statement-observer.ts';
import { openWatchedSocket } from './watched-socket.ts';

/** A Drizzle handle: the root database or a transaction; both share this interface. */
export type Db = PgDatabase<PgQueryResultHKT>;

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  /**
   * The circuit breaker everything that takes a connection for a request goes through
   * (tenant transaction, plan lookup, readiness). It never opens on PGlite, which has no
   * connection to lose.
   */
  readonly circuit: DatabaseCircuit;
  /** Applies pending migrations from `drizzle/`. Safe to run from several instances at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /**
   * This database, on the same connections, with every SQL statement sent through `observer`
   * (db/statement-observer.ts): how tracing gets one span per statement. Only tracing calls it.
   */
  observe(observer: StatementObserver): Database;
}

export const MIGRATIONS_FOLDER = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../drizzle',
);

/** The non-superuser role every request switches to; created by the RLS migration. */
export const APP_ROLE = 'orders_app';

/** postgres.js waits 30 s by default; a database that has not answered in 5 is not coming. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * Without an answer timeout from the config (tests, tools): postgres.js has no statement
 * timeout of its own, so a connection that owes an answer waits at most this long.
 */
const DEFAULT_ANSWER_TIMEOUT_MS = 60_000;

/** TCP keepalive's idle time before the first probe, on every pooled connection. */
const KEEPALIVE_MS = 10_000;

/** Any fixed number works: it only has to be the same for every instance of this server. */
const MIGRATION_LOCK_ID = 7_420_151;

export async function openDatabase(database: Config['database']): Promise<Database> {
  if (database.kind === 'postgres') {
    return openPostgres(database.url, {
      poolMax: database.poolMax,
      statementTimeoutMs: database.statementTimeoutMs ?? 0,
      connectTimeoutMs: database.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      answerTimeoutMs: database.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS,
      idleInTransactionTimeoutMs: database.idleInTransactionTimeoutMs ?? 0,
      circuit: database.circuit,
    });
  }
  await mkdir(database.dataDir, { recursive: true });
  return openPglite(database.dataDir);
}

/** A PGlite database kept in memory: what each test file gets. */
export function openMemoryDatabase(): Promise<Database> {
  return openPglite(undefined);
}

/**
 * PostgreSQL's default of 128 MB of shared buffers, which PGlite keeps, is memory that PostgreSQL
 * sets up at every start, and in WebAssembly that is slow: opening an existing database took
 * 0.85 s with 128 MB and 0.5 s with 16 MB (measured; docs/performance.md, Start-up). The demo
 * data is about 1 MB and pages that miss the buffers come from the operating system's file
 * cache: queries ran as fast with 16 MB.
 */
const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB'];

/**
 * A new DATA_DIR starts as a copy of a template cluster rather than from initdb
 * (db/pglite-template.ts).
 *
 * No `statement_timeout` here: PGlite runs PostgreSQL single-threaded inside WebAssembly,
 * without the timer signal that cancels a running statement, so the setting is accepted and
 * ignored (a `pg_sleep(0.5)` under a 50 ms timeout completes). The execution timeout
 * (plugins/execution-timeout.ts) is what bounds an operation on the embedded database.
 */
async function openPglite(dataDir: string | undefined): Promise<Database> {
  // Loaded only here: the embedded PostgreSQL weighs about 40 MB of memory, which a server on
  // DATABASE_URL has no use for.
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  if (dataDir !== undefined) await createFromPgliteTemplate(dataDir);
  const client = await PGlite.create(dataDir, {
    startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS],
  });
  const db = drizzlePglite(client) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    circuit: createDatabaseCircuit(),
    migrate: () => migratePglite(drizzlePglite(client), { migrationsFolder: MIGRATIONS_FOLDER }),
    close: () => client.close(),
    observe(this: Database, observer: StatementObserver) {
      const observed = drizzlePglite(observePglite(client, observer));
      return { ...this, db: observed as unknown as Db };
    },
  };
}

interface PostgresOptions {
  poolMax: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  answerTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  circuit?: CircuitSettings;
}

/** postgres.js's parsed connection options, as its `socket` option receives them. */
interface SocketTarget {
  host: string[];
  port: number[];
  path?: string | false;
}

function openPostgres(url: string, options: PostgresOptions): Database {
  const { poolMax, statementTimeoutMs, connectTimeoutMs, idleInTransactionTimeoutMs } = options;
  // Hosts are tried in turn, as postgres.js does with its own sockets.
  let nextHost = 0;
  // `socket` is a documented postgres.js option that its type declarations leave out.
  const settings: postgres.Options<Record<string, never>> & {
    socket: (target: SocketTarget) => Socket;
  } = {
    max: poolMax,
    // Sockets with an answer timeout, close-before-answer detection and keepalive
    // (db/watched-socket.ts): the waits no postgres.js setting bounds.
    socket: (target: SocketTarget) => {
      const index = nextHost++ % target.host.length;
      return openWatchedSocket({
        target: target.path
          ? { path: target.path }
          : { host: target.host[index] as string, port: target.port[index] ?? 5432 },
        unansweredMs: options.answerTimeoutMs,
        keepAliveMs: KEEPALIVE_MS,
      });
    },
    keep_alive: KEEPALIVE_MS / 1000,
    // Seconds; fractions work. Bounds a connect to a host that drops packets (no refusal).
    connect_timeout: connectTimeoutMs / 1000,
    idle_timeout: 60,
    // NOTICEs (e.g. "role already exists") are not errors; keep them out of the logs.
    onnotice: () => {},
    // A startup parameter, so it holds on every pooled connection from its first statement
    // without a round trip per request: PostgreSQL cancels any statement running longer
    // (SQLSTATE 57014), which aborts its transaction; the execution timeout reports TIMEOUT.
    connection: {
      application_name: 'orders-api',
      ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
      ...(idleInTransactionTimeoutMs > 0
        ? { idle_in_transaction_session_timeout: idleInTransactionTimeoutMs }
        : {}),
    },
  };
  const client = postgres(url, settings);
  const db = drizzlePostgres(client) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    circuit: createDatabaseCircuit(options.circuit),
    async migrate() {
      // One connection holds an advisory lock so that instances starting together migrate
      // one after another instead of racing on the same DDL.
      const lockClient = postgres(url, {
        max: 1,
        connect_timeout: connectTimeoutMs / 1000,
        onnotice: () => {},
      });
      try {
        await lockClient`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
        await migratePostgres(drizzlePostgres(lockClient), { migrationsFolder: MIGRATIONS_FOLDER });
        await lockClient`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
      } finally {
        await lockClient.end();
      }
    },
    close: () => client.end({ timeout: 5 }),
    observe(this: Database, observer: StatementObserver) {
      const observed = drizzlePostgres(observePostgres(client, observer));
      return { ...this, db: observed as unknown as Db };
    },
  };
}

/** True when the database has no tenants yet: the first start of an embedded database. */
export async function isEmpty(db: Db): Promise<boolean> {
  const rows = await db.select({ id: tenants.id }).from(tenants).limit(1);
  return rows.length === 0;
}
