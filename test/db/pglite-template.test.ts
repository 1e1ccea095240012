/**
 * A new embedded database is a copy of the template cluster (db/pglite-template.ts) instead of
 * the output of its own initdb; an existing one is opened as it is.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { createFromPgliteTemplate, preparePgliteTemplate } from '../../src/db/pglite-template.ts';
import { DEMO_TENANTS } from '../../src/db/seed.ts';

let root: string;
let template: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'orders-template-'));
  template = await preparePgliteTemplate();
}, 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the PGlite template', () => {
  it('is an initialized PostgreSQL cluster kept under node_modules/.cache', async () => {
    expect(template).toMatch(/node_modules\/\.cache\/orders-api\/pglite-[\d.]+-template-\d+$/);
    expect(await readdir(template)).toEqual(expect.arrayContaining(['PG_VERSION', 'base']));
    // Ready to copy: no server process left its lock file behind.
    expect(await readdir(template)).not.toContain('postmaster.pid');
  });

  it('is made once: asking again returns the same directory', async () => {
    expect(await preparePgliteTemplate()).toBe(template);
  });
});

describe('a new DATA_DIR', () => {
  it('receives a copy of the template when it is missing or empty', async () => {
    const missing = path.join(root, 'missing');
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    expect(await createFromPgliteTemplate(missing)).toBe(true);
    expect(await createFromPgliteTemplate(empty)).toBe(true);
    for (const dataDir of [missing, empty]) {
      expect((await readdir(dataDir)).sort()).toEqual((await readdir(template)).sort());
    }
    // Nothing is left beside it: the copy was built in a sibling and renamed into place.
    expect((await readdir(root)).sort()).toEqual(['empty', 'missing']);
  });

  it('leaves a directory that already holds files alone', async () => {
    const used = path.join(root, 'used');
    await mkdir(used);
    await writeFile(path.join(used, 'notes.txt'), 'mine\n');
    expect(await createFromPgliteTemplate(used)).toBe(false);
    expect(await readdir(used)).toEqual(['notes.txt']);
  });

  it('becomes a working database that keeps its data across restarts', async () => {
    const dataDir = path.join(root, 'data');
    const database = await openDatabase({ kind: 'pglite', dataDir, seedDemoData: true });
    await database.migrate();
    await database.db.execute(
      sql`insert into tenants (id, slug, name, plan) values (${DEMO_TENANTS[0]!.id}, 'acme', 'Acme', 'pro')`,
    );
    await database.close();

    // The second open finds a database: no copy over it.
    expect(await createFromPgliteTemplate(dataDir)).toBe(false);
    const reopened = await openDatabase({ kind: 'pglite', dataDir, seedDemoData: true });
    try {
      await reopened.migrate();
      const { rows } = (await reopened.db.execute(sql`select slug from tenants`)) as unknown as {
        rows: { slug: string }[];
      };
      expect(rows).toEqual([{ slug: 'acme' }]);
    } finally {
      await reopened.close();
    }
  }, 60_000);
});
