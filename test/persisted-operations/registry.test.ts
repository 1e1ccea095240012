/**
 * The registry on its own (pure apart from the lookup function it is given): which ids parse,
 * that a document is parsed and validated once and then shared by every request, what is and
 * is not remembered, and that a table operation is found for its own tenant only.
 */
import { describe, expect, it } from 'vitest';
import {
  digestsOf,
  type OperationKey,
  parseOperationKey,
} from '../../src/persisted-operations/digests.ts';
import type { Manifest } from '../../src/persisted-operations/manifest.ts';
import { PersistedOperationRegistry } from '../../src/persisted-operations/registry.ts';
import type { StoredDocument } from '../../src/persisted-operations/store.ts';
import { schema } from '../../src/schema/index.ts';

const IN_MANIFEST = 'query InManifest { rateLimit { resetAt } }';
const IN_TABLE = 'query InTable { rateLimit { restoreRate } }';
const STALE = 'query Stale { rateLimit { colour } }';

const MANIFEST: Manifest = {
  version: 1,
  operations: {
    [digestsOf(IN_MANIFEST).sha256]: {
      name: 'InManifest',
      type: 'query',
      source: 'InManifest.graphql',
      cost: 0,
      depth: 1,
      document: IN_MANIFEST,
    },
  },
};

const TENANT = 'ten_01h455vb4pex5vsknk084sn02q';
const OTHER_TENANT = 'ten_01h455vb4pex5vsknk084sn02r';

/**
 * A registry over a fake table where TENANT holds IN_TABLE and STALE; counts the lookups it
 * serves, as [tenant, key].
 */
function registryWithTable() {
  const table = [IN_TABLE, STALE].map((document) => ({
    tenantId: TENANT,
    document,
    ...digestsOf(document),
  }));
  const lookups: [string, OperationKey][] = [];
  const findStored = async (
    tenantId: string,
    key: OperationKey,
  ): Promise<StoredDocument | undefined> => {
    lookups.push([tenantId, key]);
    const row = table.find(
      (candidate) => candidate.tenantId === tenantId && candidate[key.algorithm] === key.digest,
    );
    return row && { id: row.sha256, document: row.document };
  };
  return {
    registry: new PersistedOperationRegistry({ schema, manifest: MANIFEST, findStored }),
    lookups,
  };
}

describe('parseOperationKey', () => {
  const sha256 = 'a'.repeat(64);
  it.each([
    [`sha256:${sha256}`, { algorithm: 'sha256', digest: sha256 }],
    [`SHA256:${sha256.toUpperCase()}`, { algorithm: 'sha256', digest: sha256 }],
    [sha256, { algorithm: 'sha256', digest: sha256 }],
    ['b'.repeat(40), { algorithm: 'sha1', digest: 'b'.repeat(40) }],
    [`md5:${'c'.repeat(32)}`, { algorithm: 'md5', digest: 'c'.repeat(32) }],
  ])('reads %s', (value, key) => {
    expect(parseOperationKey(value)).toEqual(key);
  });

  it.each([
    '',
    'sha256:',
    `sha256:${'a'.repeat(63)}`,
    `md5:${'a'.repeat(64)}`,
    `sha512:${'a'.repeat(128)}`,
    'z'.repeat(64),
    'a'.repeat(33),
    ` ${'a'.repeat(64)}`,
  ])('refuses %j', (value) => {
    expect(parseOperationKey(value)).toBeNull();
  });
});

describe('PersistedOperationRegistry', () => {
  it('hands out one parsed document per operation, whichever digest names it', async () => {
    const { registry } = registryWithTable();
    const digests = digestsOf(IN_MANIFEST);
    const lookups = await Promise.all(
      (['sha256', 'sha1', 'md5', 'sha256'] as const).map((algorithm) =>
        registry.find({ algorithm, digest: digests[algorithm] }, TENANT),
      ),
    );
    const [first] = lookups;
    expect(first?.status).toBe('found');
    for (const lookup of lookups) {
      expect(lookup).toBe(first);
    }
    expect(registry.manifestSize).toBe(1);
  });

  it('reads a table operation once, then serves it from memory', async () => {
    const { registry, lookups } = registryWithTable();
    const key = { algorithm: 'sha1', digest: digestsOf(IN_TABLE).sha1 } as const;
    const [a, b] = await Promise.all([registry.find(key, TENANT), registry.find(key, TENANT)]);
    const c = await registry.find(key, TENANT);
    expect(a).toMatchObject({ status: 'found', id: digestsOf(IN_TABLE).sha256 });
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(lookups).toEqual([[TENANT, key]]);
  });

  it('does not remember a miss: an operation registered a moment later is found', async () => {
    const { registry, lookups } = registryWithTable();
    const key = { algorithm: 'sha256', digest: 'f'.repeat(64) } as const;
    expect(await registry.find(key, TENANT)).toEqual({ status: 'missing' });
    expect(await registry.find(key, TENANT)).toEqual({ status: 'missing' });
    expect(lookups).toHaveLength(2);
  });

  it('does not remember a failed lookup', async () => {
    let failing = true;
    const registry = new PersistedOperationRegistry({
      schema,
      manifest: MANIFEST,
      findStored: async () => {
        if (failing) throw new Error('connection refused');
        return { id: digestsOf(IN_TABLE).sha256, document: IN_TABLE };
      },
    });
    const key = { algorithm: 'sha256', digest: digestsOf(IN_TABLE).sha256 } as const;
    await expect(registry.find(key, TENANT)).rejects.toThrow('connection refused');
    failing = false;
    expect((await registry.find(key, TENANT)).status).toBe('found');
  });

  it('reports a stored document that no longer validates, with graphql-js reasons', async () => {
    const { registry } = registryWithTable();
    const lookup = await registry.find(
      { algorithm: 'sha256', digest: digestsOf(STALE).sha256 },
      TENANT,
    );
    expect(lookup.status).toBe('invalid');
    expect(lookup.status === 'invalid' && lookup.errors.map((error) => error.message)).toEqual([
      'Cannot query field "colour" on type "RateLimit".',
    ]);
  });

  it("finds a table operation for its own tenant only, and never looks for an anonymous caller's", async () => {
    const { registry, lookups } = registryWithTable();
    const key = { algorithm: 'sha256', digest: digestsOf(IN_TABLE).sha256 } as const;
    expect((await registry.find(key, TENANT)).status).toBe('found');
    // Cached for TENANT, yet looked up (and missing) for the other tenant, every time.
    expect(await registry.find(key, OTHER_TENANT)).toEqual({ status: 'missing' });
    expect(await registry.find(key, OTHER_TENANT)).toEqual({ status: 'missing' });
    expect(await registry.find(key, null)).toEqual({ status: 'missing' });
    expect(lookups).toEqual([
      [TENANT, key],
      [OTHER_TENANT, key],
      [OTHER_TENANT, key],
    ]);
  });

  it('compiles a document that two tenants registered once, and shares it', async () => {
    let lookups = 0;
    const registry = new PersistedOperationRegistry({
      schema,
      manifest: MANIFEST,
      findStored: async () => {
        lookups++;
        return { id: digestsOf(IN_TABLE).sha256, document: IN_TABLE };
      },
    });
    const key = { algorithm: 'md5', digest: digestsOf(IN_TABLE).md5 } as const;
    const mine = await registry.find(key, TENANT);
    const theirs = await registry.find(key, OTHER_TENANT);
    expect(mine.status).toBe('found');
    expect(theirs).toBe(mine);
    expect(lookups).toBe(2);
  });

  it('serves manifest operations to every caller, anonymous ones included, without a lookup', async () => {
    const { registry, lookups } = registryWithTable();
    const key = { algorithm: 'sha256', digest: digestsOf(IN_MANIFEST).sha256 } as const;
    const found = registry.find(key, null);
    expect(found).toMatchObject({ status: 'found' });
    expect(registry.find(key, OTHER_TENANT)).toBe(found);
    expect(lookups).toEqual([]);
  });

  it('serves an automatically registered (APQ) document by its sha256 only', async () => {
    const { registry } = registryWithTable();
    const document = 'query Apq { rateLimit { maximumAvailable } }';
    const digests = digestsOf(document);
    registry.rememberAutomatic(digests.sha256, document);
    expect(
      (await registry.find({ algorithm: 'sha256', digest: digests.sha256 }, TENANT)).status,
    ).toBe('found');
    expect(await registry.find({ algorithm: 'md5', digest: digests.md5 }, TENANT)).toEqual({
      status: 'missing',
    });
  });
});
