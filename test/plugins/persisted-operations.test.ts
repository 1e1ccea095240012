/**
 * Persisted operations through HTTP: every way of naming one (GraphQL over HTTP's documentId,
 * Apollo's persistedQuery extension and APQ, Relay's doc_id, sha1/md5 digests), over POST and
 * GET, in each mode (require, allow, off), runtime registration, and every error: unknown,
 * malformed, conflicting and stale ids.
 */
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { persistedOperations } from '../../src/db/schema.ts';
import { digestsOf } from '../../src/persisted-operations/digests.ts';
import { parseManifest } from '../../src/persisted-operations/manifest.ts';
import { openPersistedOperationRegistry } from '../../src/persisted-operations/registry.ts';
import { schema } from '../../src/schema/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const MANIFEST = parseManifest(
  readFileSync('persisted-queries/manifest.json', 'utf8'),
  'persisted-queries/manifest.json',
);

/** A committed operation's document and sha256, by operation name. */
function committed(name: string): { id: string; document: string } {
  const found = Object.entries(MANIFEST.operations).find(([, entry]) => entry.name === name);
  if (!found) throw new Error(`no ${name} in the manifest`);
  return { id: found[0], document: found[1].document };
}

const PRODUCT_LIST = committed('ProductList');
const PRODUCT_DETAIL = committed('ProductDetail');
const CANCEL_ORDER = committed('CancelOrder');
const REGISTER = committed('RegisterPersistedOperation');

const UNKNOWN_SHA256 = 'f'.repeat(64);
const NEW_DOCUMENT = 'query ProductNames { products(first: 3) { nodes { name } } }';

function apq(sha256Hash: string) {
  return { persistedQuery: { version: 1, sha256Hash } };
}

async function registerAs(
  t: TestApp,
  document: string,
  as: 'acme/alice' | 'acme/bob' = 'acme/alice',
) {
  return t.send(
    {
      documentId: `sha256:${REGISTER.id}`,
      variables: { input: { document, clientMutationId: newClientMutationId() } },
    },
    { as },
  );
}

describe('in allow mode (the default outside production)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs a committed operation by documentId, with the same result as its text', async () => {
    const variables = { first: 3 };
    const byId = await t.send(
      { documentId: `sha256:${PRODUCT_LIST.id}`, variables },
      { as: 'acme/bob' },
    );
    const byText = await t.graphql(PRODUCT_LIST.document, variables, { as: 'acme/bob' });
    expect(byId.status).toBe(200);
    expect(byId.body.errors).toBeUndefined();
    expect(byId.body.data?.products.nodes).toHaveLength(3);
    expect(byId.body).toEqual(byText.body);
  });

  it.each([
    [
      'documentId with upper-case hex',
      () => ({ documentId: `SHA256:${PRODUCT_DETAIL.id.toUpperCase()}` }),
    ],
    ["Apollo's extensions.persistedQuery", () => ({ extensions: apq(PRODUCT_DETAIL.id) })],
    ["Relay's doc_id as an md5 digest", () => ({ doc_id: digestsOf(PRODUCT_DETAIL.document).md5 })],
    [
      'a bare sha1 digest (GraphQL Code Generator)',
      () => ({ documentId: digestsOf(PRODUCT_DETAIL.document).sha1 }),
    ],
    [
      'documentId as md5:<hex>',
      () => ({ documentId: `md5:${digestsOf(PRODUCT_DETAIL.document).md5}` }),
    ],
  ])('accepts %s', async (_name, params) => {
    const response = await t.send(
      { ...params(), variables: { id: 'prod_01h455vb4pex5vsknk084sn02q' } },
      { as: 'acme/bob' },
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { product: null } });
  });

  it('charges each request for its own variables, exactly as the same text', async () => {
    const costs = [];
    for (const first of [1, 50]) {
      const variables = { first };
      const byId = await t.send(
        { documentId: `sha256:${PRODUCT_LIST.id}`, variables },
        { as: 'acme/bob' },
      );
      const byText = await t.graphql(PRODUCT_LIST.document, variables, { as: 'acme/bob' });
      expect(byId.cost?.requestedQueryCost).toBe(byText.cost?.requestedQueryCost);
      costs.push(byId.cost?.requestedQueryCost);
    }
    // Each product costs 2 (itself and its price), plus 1 for the connection: not the
    // manifest's worst case (first: 100 → 202) on every request.
    expect(costs).toEqual([3 + 1, 101 + 1]);
  });

  it('runs a persisted query over GET, with an ETag and a 304 for If-None-Match', async () => {
    const params = { documentId: `sha256:${PRODUCT_LIST.id}`, variables: { first: 2 } };
    const first = await t.send(params, { as: 'acme/bob', method: 'GET' });
    expect(first.status).toBe(200);
    expect(first.body.data?.products.nodes).toHaveLength(2);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/"[\w-]{43}"$/);
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    const again = await t.send(params, {
      as: 'acme/bob',
      method: 'GET',
      headers: { 'if-none-match': etag ?? '' },
    });
    expect(again.status).toBe(304);
  });

  it('runs an Apollo persisted query sent over GET as an extensions parameter', async () => {
    const response = await t.send(
      { extensions: apq(PRODUCT_LIST.id), variables: { first: 1 } },
      { as: 'acme/bob', method: 'GET' },
    );
    expect(response.status).toBe(200);
    expect(response.body.data?.products.nodes).toHaveLength(1);
  });

  it('refuses a persisted mutation over GET with 405 and Allow: POST, and cancels nothing', async () => {
    const orders = await t.graphql(
      '{ viewer { orders(first: 1) { nodes { id status } } } }',
      {},
      { as: 'acme/bob' },
    );
    const { id: orderId, status } = orders.body.data?.viewer.orders.nodes[0] ?? {};
    expect(orderId).toMatch(/^ord_/);
    expect(status).not.toBe('CANCELLED');
    const response = await t.send(
      {
        documentId: `sha256:${CANCEL_ORDER.id}`,
        variables: { input: { id: orderId, clientMutationId: newClientMutationId() } },
      },
      { as: 'acme/bob', method: 'GET' },
    );
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    const after = await t.graphql(
      'query ($id: ID!) { order(id: $id) { status } }',
      { id: orderId },
      { as: 'acme/bob' },
    );
    expect(after.body).toEqual({ data: { order: { status } } });
  });

  it('answers an unknown id with 404 PERSISTED_QUERY_NOT_FOUND', async () => {
    const response = await t.send({ documentId: `sha256:${UNKNOWN_SHA256}` });
    expect(response.status).toBe(404);
    expect(response.body.errors?.map((e) => e.extensions?.code)).toEqual([
      'PERSISTED_QUERY_NOT_FOUND',
    ]);
    expect(response.body.errors?.[0]?.message).toContain(`sha256:${UNKNOWN_SHA256}`);
  });

  it.each([
    [
      'a documentId of the wrong length',
      { documentId: 'sha256:abc' },
      'documentId "sha256:abc" is not a persisted operation id: expected "sha256:<64 hex digits>".',
    ],
    [
      'a documentId with an unknown algorithm',
      { documentId: `sha512:${UNKNOWN_SHA256}` },
      `documentId "sha512:${UNKNOWN_SHA256}" is not a persisted operation id: expected "sha256:<64 hex digits>".`,
    ],
    [
      'a non-string documentId',
      { documentId: 42 },
      'documentId 42 is not a persisted operation id: expected "sha256:<64 hex digits>".',
    ],
    [
      'a doc_id that is not hex',
      { doc_id: 'my-query' },
      'doc_id "my-query" is not a persisted operation id: expected "sha256:<64 hex digits>".',
    ],
    [
      'an Apollo hash that is an md5',
      { extensions: apq('a'.repeat(32)) },
      `extensions.persistedQuery.sha256Hash "${'a'.repeat(32)}" is not a persisted operation id: expected 64 hex digits (sha256).`,
    ],
    [
      'an Apollo persistedQuery of another version',
      { extensions: { persistedQuery: { version: 2, sha256Hash: UNKNOWN_SHA256 } } },
      'extensions.persistedQuery must be { version: 1, sha256Hash: "<64 hex digits>" }.',
    ],
    [
      'two ids naming different operations',
      { documentId: `sha256:${PRODUCT_LIST.id}`, extensions: apq(PRODUCT_DETAIL.id) },
      'documentId and extensions.persistedQuery.sha256Hash name different operations; send one id.',
    ],
    [
      'an id that is not the digest of the text sent with it',
      { query: '{ rateLimit { currentlyAvailable } }', extensions: apq(PRODUCT_LIST.id) },
      `The persisted operation id sha256:${PRODUCT_LIST.id} is not the sha256 of the document sent with it.`,
    ],
  ])('refuses %s with 400 BAD_USER_INPUT', async (_name, params, message) => {
    const response = await t.send(params);
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      { message, extensions: { code: 'BAD_USER_INPUT', requestId: expect.any(String) } },
    ]);
  });

  it('registers unknown APQ hashes automatically, once the document has run', async () => {
    const query = '{ rateLimit { maximumAvailable } }';
    const { sha256 } = digestsOf(query);
    const before = await t.send({ extensions: apq(sha256) });
    expect(before.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registering = await t.send({ query, extensions: apq(sha256) });
    expect(registering.body.data).toEqual({ rateLimit: { maximumAvailable: 1_000_000_000 } });
    const after = await t.send({ extensions: apq(sha256) });
    expect(after.body).toEqual(registering.body);
  });

  it('does not remember an APQ document that was refused', async () => {
    const query = `{ ${'viewer { user { orders(first: 1) { nodes { customer { orders(first: 1) { nodes { customer { orders(first: 1) { nodes { customer { username } } } } } } } } } } }'} }`;
    const { sha256 } = digestsOf(query);
    const refused = await t.send({ query, extensions: apq(sha256) }, { as: 'acme/alice' });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_DEEP');
    const after = await t.send({ extensions: apq(sha256) }, { as: 'acme/alice' });
    expect(after.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('still runs full documents', async () => {
    const response = await t.graphql('{ rateLimit { maximumAvailable } }');
    expect(response.body).toEqual({ data: { rateLimit: { maximumAvailable: 1_000_000_000 } } });
  });
});

describe('registerPersistedOperation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { PERSISTED_OPERATIONS: 'require' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('stores an operation that every request can then run by id, over POST or GET', async () => {
    const { sha256, md5 } = digestsOf(NEW_DOCUMENT);
    const registered = await registerAs(t, NEW_DOCUMENT);
    expect(registered.status).toBe(200);
    expect(registered.body.data?.registerPersistedOperation).toEqual({
      clientMutationId: expect.any(String),
      created: true,
      persistedOperation: {
        id: `sha256:${sha256}`,
        operationName: 'ProductNames',
        operationType: 'QUERY',
        cost: 4,
        depth: 2,
        createdAt: expect.any(String),
      },
      userErrors: [],
    });
    const byId = await t.send({ documentId: `sha256:${sha256}` }, { as: 'acme/bob' });
    expect(byId.body.data?.products.nodes).toHaveLength(3);
    const byRelayId = await t.send({ doc_id: md5 }, { as: 'acme/bob', method: 'GET' });
    expect(byRelayId.body).toEqual(byId.body);
    const [row] = await t.database.db
      .select()
      .from(persistedOperations)
      .where(sql`${persistedOperations.id} = ${sha256}`);
    expect(row).toMatchObject({
      document: NEW_DOCUMENT,
      md5,
      createdBy: t.ids.users['acme/alice'],
    });
  });

  it('is idempotent by hash: registering the same document again returns it, created false', async () => {
    const document = 'query ProductStock { products(first: 2) { nodes { stock } } }';
    const first = await registerAs(t, document);
    const second = await registerAs(t, document);
    expect(first.body.data?.registerPersistedOperation.created).toBe(true);
    expect(second.body.data?.registerPersistedOperation).toMatchObject({
      created: false,
      persistedOperation: first.body.data?.registerPersistedOperation.persistedOperation,
    });
    const rows = await t.database.db
      .select()
      .from(persistedOperations)
      .where(sql`${persistedOperations.id} = ${digestsOf(document).sha256}`);
    expect(rows).toHaveLength(1);
  });

  it.each([
    [
      'a syntax error',
      '{ products(first: 2) { nodes { name }',
      'INVALID_DOCUMENT',
      'Syntax Error: Expected Name, found <EOF>. (line 1, column 38)',
    ],
    [
      'an unknown field',
      'query X { products(first: 2) { nodes { colour } } }',
      'INVALID_DOCUMENT',
      'Cannot query field "colour" on type "Product". (line 1, column 40)',
    ],
    [
      'a NUL character in a comment, which GraphQL allows and PostgreSQL cannot store',
      'query Nul { rateLimit { restoreRate } } # \u0000',
      'INVALID_DOCUMENT',
      'The document contains the character U+0000 (NUL), which cannot be stored; remove it.',
    ],
    [
      'two operations',
      'query A { rateLimit { restoreRate } } query B { rateLimit { resetAt } }',
      'INVALID_DOCUMENT',
      'A persisted document holds exactly one operation; this one has 2.',
    ],
    [
      'an anonymous operation',
      '{ products(first: 2) { nodes { name } } }',
      'ANONYMOUS_OPERATION',
      'The operation has no name; name it (logs, metrics and the manifest list operations by name).',
    ],
    [
      'a page size that can cost too much',
      'query Big($n: Int) { orders(first: $n) { nodes { items { product { name } } } } }',
      'QUERY_TOO_COMPLEX',
      'The operation costs up to 2101 points (every page at its largest); the maximum is 1000. Fix the page sizes (first: 20 rather than first: $n) or select less.',
    ],
    [
      'too many aliases',
      `query A { rateLimit { ${Array.from({ length: 16 }, (_, i) => `a${i}: resetAt`).join(' ')} } }`,
      'TOO_MANY_ALIASES',
      'The operation has 16 aliases; the limit is 15.',
    ],
  ])('refuses %s with a userError', async (_name, document, code, message) => {
    const response = await registerAs(t, document);
    expect(response.body.data?.registerPersistedOperation).toEqual({
      clientMutationId: expect.any(String),
      created: false,
      persistedOperation: null,
      userErrors: [{ field: ['input', 'document'], code, message }],
    });
    const rows = await t.database.db
      .select()
      .from(persistedOperations)
      .where(sql`${persistedOperations.id} = ${digestsOf(document).sha256}`);
    expect(rows).toEqual([]);
  });

  it('is for admins with admin:persisted-operations only', async () => {
    const member = await registerAs(t, 'query M { rateLimit { resetAt } }', 'acme/bob');
    expect(member.body.data?.registerPersistedOperation).toBeNull();
    expect(member.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const narrowed = await t.token('acme/alice', { scopes: ['read:products'] });
    const adminWithoutScope = await t.send(
      {
        documentId: `sha256:${REGISTER.id}`,
        variables: { input: { document: 'query N { rateLimit { resetAt } }' } },
      },
      { authorization: `Bearer ${narrowed}` },
    );
    expect(adminWithoutScope.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('makes an operation registered on one instance run on another', async () => {
    const document = 'query OtherInstance { products(first: 1) { nodes { id } } }';
    const other = createApp({
      config: t.config,
      database: t.database,
      verifier: await createTokenVerifier(t.config.auth),
      persistedOperations: await openPersistedOperationRegistry(schema, t.config, t.database),
      logger: (await import('pino')).pino({ level: 'silent' }),
    });
    const { sha256 } = digestsOf(document);
    const authorization = `Bearer ${await t.token('acme/bob')}`;
    const request = () =>
      other.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ documentId: `sha256:${sha256}` }),
      });
    expect((await (await request()).json()).errors[0].extensions.code).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
    await registerAs(t, document);
    expect((await request()).status).toBe(200);
  });

  it('answers a stored document that no longer validates with 400 PERSISTED_QUERY_INVALID', async () => {
    // What a schema change does to an operation registered before it: inserted directly,
    // because registration would refuse it today.
    const document = 'query Stale { products(first: 1) { nodes { sku } } }';
    const digests = digestsOf(document);
    await t.database.db.insert(persistedOperations).values({
      tenantId: t.ids.tenants.acme!,
      id: digests.sha256,
      md5: digests.md5,
      sha1: digests.sha1,
      document,
      operationName: 'Stale',
      operationType: 'query',
      cost: 2,
      depth: 2,
      createdBy: t.ids.users['acme/alice'],
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await t.send({ documentId: `sha256:${digests.sha256}` }, { as: 'acme/bob' });
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([
        {
          message: `The persisted operation sha256:${digests.sha256} no longer validates against the schema: Cannot query field "sku" on type "Product". Register an updated operation.`,
          extensions: {
            code: 'PERSISTED_QUERY_INVALID',
            documentId: `sha256:${digests.sha256}`,
            requestId: expect.any(String),
          },
        },
      ]);
    }
  });
});

describe('in require mode (the production default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { PERSISTED_OPERATIONS: 'require' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs persisted operations', async () => {
    const response = await t.send(
      { documentId: `sha256:${PRODUCT_LIST.id}`, variables: { first: 1 } },
      { as: 'acme/bob' },
    );
    expect(response.body.data?.products.nodes).toHaveLength(1);
  });

  it.each([
    ['a full document', { query: '{ rateLimit { resetAt } }' }],
    [
      'an APQ registration (hash and text)',
      {
        query: PRODUCT_DETAIL.document,
        extensions: apq(PRODUCT_DETAIL.id),
        variables: { id: 'prod_01h455vb4pex5vsknk084sn02q' },
      },
    ],
  ])('refuses %s with 400 PERSISTED_QUERY_ONLY', async (_name, params) => {
    const response = await t.send(params, { as: 'acme/bob' });
    expect(response.status).toBe(400);
    expect(response.body.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_ONLY']);
    expect(response.body.data).toBeUndefined();
  });

  it('does not register APQ hashes', async () => {
    const query = '{ rateLimit { restoreRate } }';
    const { sha256 } = digestsOf(query);
    await t.send({ query, extensions: apq(sha256) });
    const after = await t.send({ extensions: apq(sha256) });
    expect(after.body.errors?.map((e) => e.extensions?.code)).toEqual([
      'PERSISTED_QUERY_NOT_FOUND',
    ]);
  });

  it('asks for an id when the request has neither id nor document', async () => {
    const response = await t.send({ variables: {} });
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]).toMatchObject({
      message: 'Send a persisted operation id as `documentId: "sha256:<hex>"`.',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });
});

describe('in off mode', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { PERSISTED_OPERATIONS: 'off' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['documentId', { documentId: `sha256:${PRODUCT_LIST.id}` }],
    ['an Apollo hash', { extensions: apq(PRODUCT_LIST.id) }],
    ['doc_id', { doc_id: PRODUCT_LIST.id }],
  ])('refuses %s with PERSISTED_QUERY_NOT_SUPPORTED', async (_name, params) => {
    const response = await t.send(params);
    expect(response.status).toBe(400);
    expect(response.body.errors?.map((e) => e.extensions?.code)).toEqual([
      'PERSISTED_QUERY_NOT_SUPPORTED',
    ]);
  });

  it('runs full documents', async () => {
    const response = await t.graphql('{ rateLimit { maximumAvailable } }');
    expect(response.body).toEqual({ data: { rateLimit: { maximumAvailable: 1_000_000_000 } } });
  });
});
