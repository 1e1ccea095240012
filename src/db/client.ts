/**
 * Opens the database the config names: PostgreSQL through a postgres.js pool when
 * DATABASE_URL is set, otherwise an embedded PGlite database under DATA_DIR. Both are
 * exposed as the same Drizzle type, so nothing above this file knows which one it has.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Config } from '../config.ts';
import { tenants } from './schema.ts';
import { statementCountingLogger } from './statement-counter.ts';

/** A Drizzle handle: the root database or a transaction; both share this interface. */
export type Db = PgDatabase<PgQueryResultHKT>;

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  /** Applies pending migrations from `drizzle/`. Safe to run from several instances at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../drizzle',
);

/** The non-superuser role every request switches to; created by the RLS migration. */
export const APP_ROLE = 'orders_app';

/** Any fixed number works: it only has to be the same for every instance of this server. */
const MIGRATION_LOCK_ID = 7_420_151;

export async function openDatabase(database: Config['database']): Promise<Database> {
  if (database.kind === 'postgres') {
    return openPostgres(database.url, database.poolMax, database.statementTimeoutMs ?? 0);
  }
  await mkdir(database.dataDir, { recursive: true });
  return openPglite(database.dataDir);
}

/** A PGlite database kept in memory: what each test file gets. */
export function openMemoryDatabase(): Promise<Database> {
  return openPglite(undefined);
}

/**
 * No `statement_timeout` here: PGlite runs PostgreSQL single-threaded inside WebAssembly,
 * without the timer signal that cancels a running statement, so the setting is accepted and
 * ignored (a `pg_sleep(0.5)` under a 50 ms timeout completes). The execution timeout
 * (plugins/execution-timeout.ts) is what bounds an operation on the embedded database.
 */
async function openPglite(dataDir: string | undefined): Promise<Database> {
  const client = await PGlite.create(dataDir);
  const db = drizzlePglite(client, { logger: statementCountingLogger }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    migrate: () => migratePglite(drizzlePglite(client), { migrationsFolder: MIGRATIONS_FOLDER }),
    close: () => client.close(),
  };
}

function openPostgres(url: string, poolMax: number, statementTimeoutMs: number): Database {
  const client = postgres(url, {
    max: poolMax,
    connect_timeout: 10,
    idle_timeout: 60,
    // NOTICEs (e.g. "role already exists") are not errors; keep them out of the logs.
    onnotice: () => {},
    // A startup parameter, so it holds on every pooled connection from its first statement
    // without a round trip per request: PostgreSQL cancels any statement running longer
    // (SQLSTATE 57014), which aborts its transaction; the execution timeout reports TIMEOUT.
    connection: {
      application_name: 'orders-api',
      ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
    },
  });
  const db = drizzlePostgres(client, { logger: statementCountingLogger }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    async migrate() {
      // One connection holds an advisory lock so that instances starting together migrate
      // one after another instead of racing on the same DDL.
      const lockClient = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await lockClient`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
        await migratePostgres(drizzlePostgres(lockClient), { migrationsFolder: MIGRATIONS_FOLDER });
        await lockClient`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
      } finally {
        await lockClient.end();
      }
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/** True when the database has no tenants yet: the first start of an embedded database. */
export async function isEmpty(db: Db): Promise<boolean> {
  const rows = await db.select({ id: tenants.id }).from(tenants).limit(1);
  return rows.length === 0;
}
