/**
 * A fresh, migrated database for one test file. Without DATABASE_URL it is an in-memory
 * PGlite; with DATABASE_URL (CI's PostgreSQL pass) it is a new database created on that
 * server and dropped afterwards, so test files never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { type Database, openDatabase, openMemoryDatabase } from '../../src/db/client.ts';

export interface TestDatabase extends Database {
  /** Closes the connection and drops the database when one was created. */
  destroy(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const database = await openMemoryDatabase();
    await database.migrate();
    return { ...database, destroy: () => database.close() };
  }
  const name = `orders_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ kind: 'postgres', url: url.toString(), poolMax: 5 });
  await database.migrate();
  return {
    ...database,
    async destroy() {
      await database.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
