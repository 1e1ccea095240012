/**
 * `/readyz`: ready only when the database answers and has every migration in `drizzle/`;
 * `/healthz`: the process answers. (An unreachable database: test/db/circuit-breaker.test.ts.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from '../../src/db/client.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const tags = (
  JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  }
).entries.map((entry) => entry.tag);
const newest = tags.at(-1);
const previous = tags.at(-2);

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(() => t.close());

async function readyz() {
  const response = await t.fetch('/readyz');
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: await response.json(),
  };
}

describe('/readyz and /healthz', () => {
  it('is ready when every migration has been applied', async () => {
    expect(await readyz()).toEqual({
      status: 200,
      contentType: 'application/json; charset=utf-8',
      body: { status: 'ready' },
    });
  });

  it('is not ready when the newest migration is missing, and names both migrations', async () => {
    await t.database.db.execute(
      sql`delete from drizzle.__drizzle_migrations where created_at = (select max(created_at) from drizzle.__drizzle_migrations)`,
    );
    expect(await readyz()).toEqual({
      status: 503,
      contentType: 'application/json; charset=utf-8',
      body: {
        status: 'unavailable',
        reason: 'database not migrated',
        applied: previous,
        expected: newest,
      },
    });
  });

  it('is not ready on a database no migration has run on', async () => {
    await t.database.db.execute(sql`drop schema drizzle cascade`);
    expect(await readyz()).toEqual({
      status: 503,
      contentType: 'application/json; charset=utf-8',
      body: {
        status: 'unavailable',
        reason: 'database not migrated',
        applied: null,
        expected: newest,
      },
    });
  });

  it('stays alive on /healthz whatever the database says', async () => {
    const response = await t.fetch('/healthz');
    expect(response.status).toBe(200);
  });
});
