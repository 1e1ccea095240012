/**
 * Persisted operations and tenants, in `require` mode (production's), through HTTP: an
 * operation a tenant's admin registers runs for that tenant's callers only, by every id form
 * and whichever tenant asked first (the compiled-document cache is keyed by tenant); the same
 * document registered by two tenants runs for both; the committed manifest runs for everyone;
 * anonymous callers get the manifest only. Below the app, row-level security holds
 * `persisted_operations` to the tenant like every tenant table. Runs on PGlite, and on real
 * PostgreSQL when DATABASE_URL is set.
 */
import { readFileSync } from 'node:fs';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, type Db } from '../../src/db/client.ts';
import { persistedOperations } from '../../src/db/schema.ts';
import { digestsOf } from '../../src/persisted-operations/digests.ts';
import { parseManifest } from '../../src/persisted-operations/manifest.ts';
import { type DemoUserName, startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const MANIFEST = parseManifest(
  readFileSync('persisted-queries/manifest.json', 'utf8'),
  'persisted-queries/manifest.json',
);

function committedId(name: string): string {
  const found = Object.entries(MANIFEST.operations).find(([, entry]) => entry.name === name);
  if (!found) throw new Error(`no ${name} in the manifest`);
  return found[0];
}

const REGISTER_ID = committedId('RegisterPersistedOperation');
const PRODUCT_LIST_ID = committedId('ProductList');
const RATE_LIMIT_ID = committedId('RateLimit');

const GLOBEX_ONLY = 'query GlobexProductNames { products(first: 2) { nodes { name } } }';
const SHARED = 'query SharedProductIds { products(first: 1) { nodes { id } } }';
const ACME_ONLY = 'query AcmeRateLimit { rateLimit { restoreRate } }';

const NOT_FOUND = ['PERSISTED_QUERY_NOT_FOUND'];

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { PERSISTED_OPERATIONS: 'require' } });
});
afterAll(async () => {
  await t.close();
});

async function register(document: string, as: DemoUserName) {
  const response = await t.send(
    {
      documentId: `sha256:${REGISTER_ID}`,
      variables: { input: { document, clientMutationId: newClientMutationId() } },
    },
    { as },
  );
  expect(response.body.errors).toBeUndefined();
  return response.body.data?.registerPersistedOperation;
}

/** The error codes of running `params` (none: it ran), with the HTTP status. */
async function run(
  params: Record<string, unknown>,
  as?: DemoUserName,
  method: 'GET' | 'POST' = 'POST',
) {
  const response = await t.send(params, { as, method });
  return {
    status: response.status,
    codes: response.body.errors?.map((error) => error.extensions?.code) ?? [],
    data: response.body.data,
  };
}

/** Every id form a client may send for `document`. */
function idsOf(document: string): Record<string, unknown>[] {
  const digests = digestsOf(document);
  return [
    { documentId: `sha256:${digests.sha256}` },
    { extensions: { persistedQuery: { version: 1, sha256Hash: digests.sha256 } } },
    { documentId: digests.sha1 },
    { doc_id: digests.md5 },
  ];
}

describe("a tenant's registered operation", () => {
  beforeAll(async () => {
    expect(await register(GLOBEX_ONLY, 'globex/dave')).toMatchObject({
      created: true,
      userErrors: [],
    });
  });

  it("runs for that tenant's callers, by every id form", async () => {
    for (const params of idsOf(GLOBEX_ONLY)) {
      const result = await run(params, 'globex/erin');
      expect(result.codes).toEqual([]);
      expect(result.data?.products.nodes).toHaveLength(2);
    }
  });

  it("is PERSISTED_QUERY_NOT_FOUND for another tenant's callers, by every id form, even once cached for its own", async () => {
    for (const params of idsOf(GLOBEX_ONLY)) {
      // Its own tenant first, so the compiled document is in the cache.
      expect((await run(params, 'globex/frank')).codes).toEqual([]);
      for (const as of ['acme/alice', 'acme/bob', 'acme/carol'] as const) {
        for (const method of ['POST', 'GET'] as const) {
          const result = await run(params, as, method);
          expect(result).toEqual({ status: 404, codes: NOT_FOUND, data: undefined });
        }
      }
    }
  });

  it('is PERSISTED_QUERY_NOT_FOUND for anonymous callers', async () => {
    for (const params of idsOf(GLOBEX_ONLY)) {
      expect(await run(params)).toEqual({ status: 404, codes: NOT_FOUND, data: undefined });
    }
  });

  it('is a 401, not a 404, for a caller whose token is rejected', async () => {
    const response = await t.send(idsOf(GLOBEX_ONLY)[0]!, { authorization: 'Bearer not-a-jwt' });
    expect(response.status).toBe(401);
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it("is not in another tenant's list after that tenant's admin registers something else", async () => {
    expect(await register(ACME_ONLY, 'acme/alice')).toMatchObject({ created: true });
    expect((await run(idsOf(ACME_ONLY)[0]!, 'acme/bob')).codes).toEqual([]);
    expect((await run(idsOf(ACME_ONLY)[0]!, 'globex/erin')).codes).toEqual(NOT_FOUND);
    expect((await run(idsOf(GLOBEX_ONLY)[0]!, 'acme/bob')).codes).toEqual(NOT_FOUND);
  });

  it('is stored for its tenant only', async () => {
    const rows = await t.database.db
      .select({ tenantId: persistedOperations.tenantId })
      .from(persistedOperations)
      .where(eq(persistedOperations.id, digestsOf(GLOBEX_ONLY).sha256));
    expect(rows).toEqual([{ tenantId: t.ids.tenants.globex }]);
  });
});

describe('the same document registered by two tenants', () => {
  it("is created for each (idempotent within a tenant) and runs for both tenants' callers", async () => {
    const acme = await register(SHARED, 'acme/alice');
    const globex = await register(SHARED, 'globex/dave');
    const again = await register(SHARED, 'globex/dave');
    const { sha256 } = digestsOf(SHARED);
    for (const payload of [acme, globex]) {
      expect(payload).toMatchObject({
        created: true,
        persistedOperation: { id: `sha256:${sha256}`, operationName: 'SharedProductIds' },
        userErrors: [],
      });
    }
    expect(again).toMatchObject({ created: false, persistedOperation: globex.persistedOperation });

    for (const params of idsOf(SHARED)) {
      const [fromAcme, fromGlobex] = [
        await run(params, 'acme/bob'),
        await run(params, 'globex/erin'),
      ];
      expect(fromAcme.codes).toEqual([]);
      expect(fromGlobex.codes).toEqual([]);
      // Each tenant's own products: the same document, run under each tenant's RLS.
      expect(fromAcme.data?.products.nodes[0].id).not.toEqual(
        fromGlobex.data?.products.nodes[0].id,
      );
    }
    const rows = await t.database.db
      .select({ tenantId: persistedOperations.tenantId })
      .from(persistedOperations)
      .where(eq(persistedOperations.id, sha256))
      .orderBy(persistedOperations.tenantId);
    expect(rows.map((row) => row.tenantId).sort()).toEqual(
      [t.ids.tenants.acme, t.ids.tenants.globex].sort(),
    );
  });
});

describe("the committed manifest's operations", () => {
  it.each<DemoUserName>(['acme/bob', 'globex/erin', 'globex/frank'])('run for %s', async (as) => {
    const result = await run(
      { documentId: `sha256:${PRODUCT_LIST_ID}`, variables: { first: 1 } },
      as,
    );
    expect(result.codes).toEqual([]);
    expect(result.data?.products.nodes).toHaveLength(1);
  });

  it('run for anonymous callers', async () => {
    const result = await run({ documentId: `sha256:${RATE_LIMIT_ID}` });
    expect(result.status).toBe(200);
    expect(result.codes).toEqual([]);
    expect(result.data?.rateLimit).toBeDefined();
  });
});

describe('row-level security on persisted_operations', () => {
  /** What a request does: a transaction as `orders_app` with `app.tenant_id` set. */
  function asApp<T>(tenantId: string, work: (tx: Db) => Promise<T>): Promise<T> {
    return t.database.db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
      await tx.execute(sql`select set_config('role', ${APP_ROLE}, true)`);
      return work(tx as unknown as Db);
    });
  }

  it('shows a tenant its own rows only, even without a tenant filter', async () => {
    await register(ACME_ONLY, 'acme/alice');
    for (const tenant of ['acme', 'globex'] as const) {
      const own = t.ids.tenants[tenant]!;
      const visible = await asApp(own, (tx) =>
        tx.select({ tenantId: persistedOperations.tenantId }).from(persistedOperations),
      );
      expect(visible.length).toBeGreaterThan(0);
      expect(new Set(visible.map((row) => row.tenantId))).toEqual(new Set([own]));
    }
  });

  it('refuses to insert a row for another tenant', async () => {
    const digests = digestsOf('query Intruder { rateLimit { resetAt } }');
    const attempt = asApp(t.ids.tenants.acme!, (tx) =>
      tx.insert(persistedOperations).values({
        tenantId: t.ids.tenants.globex!,
        id: digests.sha256,
        md5: digests.md5,
        sha1: digests.sha1,
        document: 'query Intruder { rateLimit { resetAt } }',
        operationName: 'Intruder',
        operationType: 'query',
        cost: 0,
        depth: 2,
        createdBy: t.ids.users['acme/alice'],
      }),
    );
    await expect(attempt).rejects.toSatisfy((error: unknown) =>
      /row-level security policy for table "persisted_operations"/.test(messagesOf(error)),
    );
    const rows = await t.database.db
      .select()
      .from(persistedOperations)
      .where(
        and(
          eq(persistedOperations.tenantId, t.ids.tenants.globex!),
          eq(persistedOperations.id, digests.sha256),
        ),
      );
    expect(rows).toEqual([]);
  });
});

/** An error's message and its causes' (drivers wrap the database's error). */
function messagesOf(error: unknown): string {
  const messages: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    messages.push(current.message);
  }
  return messages.join(' / ');
}
