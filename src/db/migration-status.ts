/**
 * Whether the database has every migration this code was built with: the newest entry of
 * `drizzle/meta/_journal.json` against Drizzle's own record of what it applied
 * (`drizzle.__drizzle_migrations`). Drizzle applies a migration when its journal timestamp
 * is newer than the newest applied one, so the same comparison says "up to date".
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { max } from 'drizzle-orm';
import { bigint, pgSchema, serial, text } from 'drizzle-orm/pg-core';
import { type Db, MIGRATIONS_FOLDER } from './client.ts';

/** Drizzle's bookkeeping table, as its migrator creates it (pg-core/dialect.js). */
const drizzleMigrations = pgSchema('drizzle').table('__drizzle_migrations', {
  id: serial('id').primaryKey(),
  hash: text('hash').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }),
});

interface JournalEntry {
  readonly tag: string;
  readonly when: number;
}

/** SQLSTATE of a missing table or schema: a database no migration has run on. */
const UNDEFINED_TABLE = '42P01';
const INVALID_SCHEMA_NAME = '3F000';

export interface MigrationStatus {
  readonly upToDate: boolean;
  /** Tag of the newest applied migration (`0003_…`), or null when none has run. */
  readonly applied: string | null;
  /** Tag of the newest migration in `drizzle/`. */
  readonly expected: string;
}

let journal: readonly JournalEntry[] | undefined;

function journalEntries(): readonly JournalEntry[] {
  journal ??= (
    JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
      entries: JournalEntry[];
    }
  ).entries;
  return journal;
}

export async function migrationStatus(db: Db): Promise<MigrationStatus> {
  const entries = journalEntries();
  const newest = entries.at(-1);
  if (!newest) throw new Error(`${MIGRATIONS_FOLDER} has no migrations in its journal.`);
  let appliedAt: number | null;
  try {
    const [row] = await db
      .select({ appliedAt: max(drizzleMigrations.createdAt) })
      .from(drizzleMigrations);
    appliedAt = row?.appliedAt ?? null;
  } catch (error) {
    if (!isMissingTable(error)) throw error;
    appliedAt = null;
  }
  return {
    upToDate: appliedAt !== null && appliedAt >= newest.when,
    applied:
      appliedAt === null
        ? null
        : (entries.find((entry) => entry.when === appliedAt)?.tag ?? `created_at ${appliedAt}`),
    expected: newest.tag,
  };
}

function isMissingTable(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === UNDEFINED_TABLE || code === INVALID_SCHEMA_NAME) return true;
    current = current.cause;
  }
  return false;
}
