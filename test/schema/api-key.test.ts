import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphQLResponse, startTestApp, type TestApp } from '../helpers/app.ts';

const CREATE_KEY = /* GraphQL */ `
  mutation CreateKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      apiKey { id name prefix scopes expiresAt lastUsedAt revokedAt }
      secret
      userErrors { field code message }
    }
  }
`;

const REVOKE_KEY = /* GraphQL */ `
  mutation RevokeKey($input: RevokeApiKeyInput!) {
    revokeApiKey(input: $input) {
      apiKey { id revokedAt }
      userErrors { field code message }
    }
  }
`;

const LIST_KEYS = /* GraphQL */ `
  query ListKeys {
    apiKeys(first: 50) { nodes { id name prefix lastUsedAt revokedAt } }
  }
`;

const WHO_AM_I = /* GraphQL */ `
  query WhoAmI {
    viewer { user { id } apiKey { id name } tenant { id } scopes }
  }
`;

const READS = /* GraphQL */ `
  query Reads {
    products(first: 2) { nodes { id } }
    orders(first: 2) { nodes { id } }
  }
`;

const USERS = /* GraphQL */ `
  query Users {
    users(first: 1) { nodes { id } }
  }
`;

const COST_PRICES = /* GraphQL */ `
  query CostPrices {
    products(first: 1) { nodes { id costPrice { amount } } }
  }
`;

const SPEND = /* GraphQL */ `
  query Spend {
    products(first: 50) { nodes { id } }
  }
`;

const BUDGET = /* GraphQL */ `
  query Budget {
    rateLimit { currentlyAvailable maximumAvailable }
  }
`;

const CREATE_ORDER = /* GraphQL */ `
  mutation KeyOrder($input: CreateOrderInput!) {
    createOrder(input: $input) { order { id } userErrors { code } }
  }
`;

const REJECTED = 'The access token is missing, invalid or expired.';

let t: TestApp;

beforeAll(async () => {
  // A small budget that refills slowly, so that what one caller spends shows.
  t = await startTestApp({ env: { BUDGET_PRO: '100000/1' } });
});

afterAll(() => t.close());

interface CreatedKey {
  id: string;
  secret: string;
  bearer: string;
}

async function createKey(
  input: Record<string, unknown>,
  as: 'acme/alice' | 'globex/dave' = 'acme/alice',
): Promise<CreatedKey> {
  const response = await t.graphql(CREATE_KEY, { input }, { as });
  const payload = response.body.data?.createApiKey;
  expect(payload?.userErrors).toEqual([]);
  return { id: payload.apiKey.id, secret: payload.secret, bearer: `Bearer ${payload.secret}` };
}

/** The exact 401 of a rejected credential, a bad JWT's included. */
function expectRejected(response: GraphQLResponse) {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="orders-api"/);
  expect(response.body).toEqual({
    errors: [
      {
        message: REJECTED,
        extensions: { code: 'UNAUTHENTICATED', requestId: response.headers.get('x-request-id') },
      },
    ],
  });
}

describe('createApiKey', () => {
  it('returns an oak_ secret once, its prefix and the asked scopes', async () => {
    const response = await t.graphql(
      CREATE_KEY,
      { input: { name: '  Billing   sync ', scopes: ['read:orders', 'read:products'] } },
      { as: 'acme/alice' },
    );
    const payload = response.body.data?.createApiKey;
    expect(payload.userErrors).toEqual([]);
    expect(payload.secret).toMatch(/^oak_[A-Za-z0-9_-]{43}$/);
    expect(payload.apiKey).toEqual({
      id: expect.stringMatching(/^key_[0-9a-z]{26}$/),
      name: 'Billing sync',
      prefix: payload.secret.slice(0, 12),
      scopes: ['read:orders', 'read:products'],
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    // Stored: the SHA-256 of the secret, never the secret.
    const stored = await t.database.db.execute(
      sql`select * from api_key_by_secret_hash(${createHash('sha256').update(payload.secret).digest('hex')})`,
    );
    expect(JSON.stringify(stored)).toContain(payload.apiKey.id);
    expect(JSON.stringify(stored)).not.toContain(payload.secret.slice(4));
  });

  it('keeps the secret nowhere: a replay answers the key without it, and exports hold none', async () => {
    const clientMutationId = 'key-replay-1';
    const create = /* GraphQL */ `
      mutation CreateKeyAliased($input: CreateApiKeyInput!) {
        createApiKey(input: $input) { apiKey { id } ...Secret userErrors { code } }
      }
      fragment Secret on CreateApiKeyPayload { bearer: secret }
    `;
    const input = { name: 'Replayed', scopes: ['read:products'], clientMutationId };
    const first = await t.graphql(create, { input }, { as: 'acme/alice' });
    const { apiKey, bearer } = first.body.data?.createApiKey ?? {};
    expect(bearer).toMatch(/^oak_/);
    const replay = await t.graphql(create, { input }, { as: 'acme/alice' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.data?.createApiKey).toEqual({ apiKey, bearer: null, userErrors: [] });
    // The creator's export holds the idempotency record of that call, without the secret.
    const exported = await t.graphql('query { dataExport { json } }', {}, { as: 'acme/alice' });
    const { idempotencyRecords } = JSON.parse(exported.body.data?.dataExport.json);
    const record = idempotencyRecords.find(
      (r: { mutation: string; key: string }) =>
        r.mutation === 'createApiKey' && r.key === clientMutationId,
    );
    expect(JSON.parse(record.response)).toEqual({ apiKey, bearer: null, userErrors: [] });
    expect(exported.body.data?.dataExport.json).not.toContain(bearer.slice(4));
  });

  it('refuses scopes beyond the creating admin’s, unknown scopes, a past expiry and an empty name', async () => {
    const narrowed = await t.token('acme/alice', { scopes: ['admin:api-keys', 'read:products'] });
    const response = await t.graphql(
      CREATE_KEY,
      {
        input: {
          name: ' ',
          scopes: ['read:products', 'write:products', 'fly:planes'],
          expiresAt: '2020-01-01T00:00:00Z',
        },
      },
      { authorization: `Bearer ${narrowed}` },
    );
    expect(response.body.data?.createApiKey).toEqual({
      apiKey: null,
      secret: null,
      userErrors: [
        {
          field: ['input', 'name'],
          code: 'BAD_USER_INPUT',
          message: 'The name must be 1 to 100 characters.',
        },
        {
          field: ['input', 'scopes'],
          code: 'BAD_USER_INPUT',
          message: 'Unknown scope: fly:planes.',
        },
        {
          field: ['input', 'scopes'],
          code: 'FORBIDDEN_SCOPE',
          message: 'A key cannot hold a scope you do not have: write:products.',
        },
        {
          field: ['input', 'expiresAt'],
          code: 'BAD_USER_INPUT',
          message: 'expiresAt must be in the future.',
        },
      ],
    });
  });

  it('stores the name as one clean line, and names at most 5 unknown scopes', async () => {
    const cleaned = await t.graphql(
      CREATE_KEY,
      { input: { name: ' Ware\u0000house\u200b\tsync ', scopes: ['read:products'] } },
      { as: 'acme/alice' },
    );
    expect(cleaned.body.data?.createApiKey.apiKey.name).toBe('Warehouse sync');
    const refused = await t.graphql(
      CREATE_KEY,
      {
        input: {
          name: '\u0000\u200b',
          scopes: Array.from({ length: 2000 }, (_, n) => `s${n}${n === 0 ? 'x'.repeat(100) : ''}`),
        },
      },
      { as: 'acme/alice' },
    );
    expect(refused.body.data?.createApiKey.userErrors).toEqual([
      {
        field: ['input', 'name'],
        code: 'BAD_USER_INPUT',
        message: 'The name must be 1 to 100 characters.',
      },
      {
        field: ['input', 'scopes'],
        code: 'BAD_USER_INPUT',
        message: `Unknown scope: s0${'x'.repeat(62)}…, s1, s2, s3, s4 and 1995 more.`,
      },
    ]);
  });

  it('gives a key the creator’s own scopes when none are asked for', async () => {
    const narrowed = await t.token('acme/alice', { scopes: ['admin:api-keys', 'read:products'] });
    const response = await t.graphql(
      CREATE_KEY,
      { input: { name: 'default scopes' } },
      { authorization: `Bearer ${narrowed}` },
    );
    expect(response.body.data?.createApiKey.apiKey.scopes).toEqual([
      'admin:api-keys',
      'read:products',
    ]);
  });

  it('is for admins with admin:api-keys only', async () => {
    const member = await t.graphql(CREATE_KEY, { input: { name: 'x' } }, { as: 'acme/bob' });
    expect(member.body.data?.createApiKey).toBeNull();
    expect(member.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const noScope = await t.token('acme/alice', { scopes: ['read:products'] });
    const narrowed = await t.graphql(
      CREATE_KEY,
      { input: { name: 'x' } },
      { authorization: `Bearer ${noScope}` },
    );
    expect(narrowed.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('a request with an API key', () => {
  let key: CreatedKey;
  beforeAll(async () => {
    key = await createKey({ name: 'Reporting', scopes: ['read:orders', 'read:products'] });
  });

  it('acts as a service principal of its tenant: no user, its own scopes', async () => {
    const response = await t.graphql(WHO_AM_I, {}, { authorization: key.bearer });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: {
        viewer: {
          user: null,
          apiKey: { id: key.id, name: 'Reporting' },
          tenant: { id: t.ids.tenants.acme },
          scopes: ['read:orders', 'read:products'],
        },
      },
    });
  });

  it('reads what its scopes allow and nothing more', async () => {
    const reads = await t.graphql(READS, {}, { authorization: key.bearer });
    expect(reads.body.errors).toBeUndefined();
    expect(reads.body.data?.products.nodes).toHaveLength(2);
    expect(reads.body.data?.orders.nodes).toHaveLength(2);
    const users = await t.graphql(USERS, {}, { authorization: key.bearer });
    expect(users.body.data?.users).toBeNull();
    expect(users.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // A rule that names roles only needs a user: a key has no role.
    const costs = await t.graphql(COST_PRICES, {}, { authorization: key.bearer });
    expect(costs.body.data?.products.nodes[0]).toEqual({ id: expect.any(String), costPrice: null });
    expect(costs.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('places no orders and creates no keys: those need a user', async () => {
    const admin = await createKey({
      name: 'Admin-ish',
      scopes: ['admin:api-keys', 'write:orders'],
    });
    const order = await t.graphql(
      CREATE_ORDER,
      { input: { items: [], clientMutationId: 'key-order-1' } },
      { authorization: admin.bearer },
    );
    expect(order.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const created = await t.graphql(
      CREATE_KEY,
      { input: { name: 'child' } },
      { authorization: admin.bearer },
    );
    expect(created.body.errors?.[0]).toMatchObject({
      message: 'An API key cannot create API keys.',
      extensions: { code: 'FORBIDDEN' },
    });
  });

  it('sees only its own tenant', async () => {
    const globex = await t.graphql(READS, {}, { as: 'globex/dave' });
    const productId = globex.body.data?.products.nodes[0].id;
    const response = await t.graphql(
      /* GraphQL */ 'query One($id: ID!) { product(id: $id) { id } }',
      { id: productId },
      { authorization: key.bearer },
    );
    expect(response.body.data?.product).toBeNull();
  });

  it('has a cost budget of its own, apart from its creator’s and other keys’', async () => {
    const spender = await createKey({ name: 'Spender', scopes: ['read:products'] });
    const other = await createKey({ name: 'Other', scopes: ['read:products'] });
    await t.graphql(SPEND, {}, { authorization: spender.bearer });
    const [spent, untouched, creator] = await Promise.all([
      t.graphql(BUDGET, {}, { authorization: spender.bearer }),
      t.graphql(BUDGET, {}, { authorization: other.bearer }),
      t.graphql(BUDGET, {}, { as: 'acme/carol' }),
    ]);
    expect(untouched.body.data?.rateLimit.currentlyAvailable).toBe(100_000);
    expect(creator.body.data?.rateLimit.currentlyAvailable).toBe(100_000);
    expect(spent.body.data?.rateLimit.currentlyAvailable).toBeLessThan(100_000 - 40);
  });

  it('has field rate limits of its own, apart from its creator’s and other keys’', async () => {
    // createOrder allows 30 calls a minute per caller. The limit counts a call before the
    // resolver runs, so a key's calls count though the resolver then refuses them.
    const busy = await createKey({ name: 'Busy', scopes: ['write:orders'] });
    const idle = await createKey({ name: 'Idle', scopes: ['write:orders'] });
    const callAs = (authorization: string, n: number) =>
      t.graphql(
        CREATE_ORDER,
        { input: { items: [], clientMutationId: `key-limit-${n}` } },
        { authorization },
      );
    for (let n = 0; n < 30; n++) {
      const response = await callAs(busy.bearer, n);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const limited = await callAs(busy.bearer, 30);
    expect(limited.status).toBe(429);
    expect(limited.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const otherKey = await callAs(idle.bearer, 31);
    expect(otherKey.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const products = await t.graphql(READS, {}, { as: 'acme/alice' });
    const creator = await t.graphql(
      CREATE_ORDER,
      {
        input: {
          items: [{ productId: products.body.data?.products.nodes[0].id, quantity: 1 }],
          clientMutationId: 'key-limit-creator',
        },
      },
      { as: 'acme/alice' },
    );
    expect(creator.status).toBe(200);
    expect(creator.body.data?.createOrder).toEqual({
      order: { id: expect.any(String) },
      userErrors: [],
    });
  });

  it('records lastUsedAt off the request path, at most once a minute', async () => {
    const lastUsedAtOf = async () => {
      const list = await t.graphql(LIST_KEYS, {}, { as: 'acme/alice' });
      return list.body.data?.apiKeys.nodes.find((node: { id: string }) => node.id === key.id)
        ?.lastUsedAt as string | null;
    };
    let lastUsedAt: string | null = null;
    for (let attempt = 0; attempt < 50 && !lastUsedAt; attempt++) {
      lastUsedAt = await lastUsedAtOf();
      if (!lastUsedAt) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(Date.parse(lastUsedAt as string)).toBeGreaterThan(Date.now() - 60_000);
    // Used again within the minute (and written again, as another process would): unchanged.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await t.graphql(WHO_AM_I, {}, { authorization: key.bearer })).status).toBe(200);
    await t.database.db.execute(sql`select touch_api_key(${t.ids.tenants.acme}, ${key.id})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await lastUsedAtOf()).toBe(lastUsedAt);
  });
});

describe('keys that are not acceptable', () => {
  it.each([
    ['too short', 'oak_abc'],
    ['with a bad character', `oak_${'a'.repeat(42)}!`],
    ['unknown', `oak_${'A'.repeat(43)}`],
  ])('rejects a key that is %s with the 401 of a bad JWT', async (_case, secret) => {
    expectRejected(await t.graphql(WHO_AM_I, {}, { authorization: `Bearer ${secret}` }));
    expectRejected(await t.graphql(WHO_AM_I, {}, { authorization: 'Bearer not.a.jwt' }));
  });

  it('rejects a revoked key at once, though it was just used', async () => {
    const key = await createKey({ name: 'Short-lived', scopes: ['read:products'] });
    expect((await t.graphql(WHO_AM_I, {}, { authorization: key.bearer })).status).toBe(200);
    const revoked = await t.graphql(REVOKE_KEY, { input: { id: key.id } }, { as: 'acme/alice' });
    expect(revoked.body.data?.revokeApiKey).toEqual({
      apiKey: { id: key.id, revokedAt: expect.any(String) },
      userErrors: [],
    });
    expectRejected(await t.graphql(WHO_AM_I, {}, { authorization: key.bearer }));
    expectRejected(await t.graphql(READS, {}, { authorization: key.bearer }));
    const again = await t.graphql(REVOKE_KEY, { input: { id: key.id } }, { as: 'acme/alice' });
    expect(again.body.data?.revokeApiKey).toEqual(revoked.body.data?.revokeApiKey);
  });

  it('rejects an expired key', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const key = await createKey({ name: 'Expiring', scopes: ['read:products'], expiresAt });
    expect((await t.graphql(WHO_AM_I, {}, { authorization: key.bearer })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt) - Date.now() + 50));
    expectRejected(await t.graphql(WHO_AM_I, {}, { authorization: key.bearer }));
  });
});

describe('keys across tenants', () => {
  it('lists and revokes only the keys of the caller’s tenant', async () => {
    const acmeKey = await createKey({ name: 'Acme only', scopes: ['read:products'] });
    const globexKey = await createKey(
      { name: 'Globex only', scopes: ['read:products'] },
      'globex/dave',
    );
    const globexList = await t.graphql(LIST_KEYS, {}, { as: 'globex/dave' });
    const ids = globexList.body.data?.apiKeys.nodes.map((node: { id: string }) => node.id);
    expect(ids).toEqual([globexKey.id]);
    const revoke = await t.graphql(
      REVOKE_KEY,
      { input: { id: acmeKey.id } },
      { as: 'globex/dave' },
    );
    expect(revoke.body.data?.revokeApiKey).toEqual({
      apiKey: null,
      userErrors: [
        {
          field: ['input', 'id'],
          code: 'NOT_FOUND',
          message: 'No API key with this id in your tenant.',
        },
      ],
    });
    expect((await t.graphql(WHO_AM_I, {}, { authorization: acmeKey.bearer })).status).toBe(200);
  });

  it('answers a malformed id as not found', async () => {
    const revoke = await t.graphql(REVOKE_KEY, { input: { id: 'usr_nope' } }, { as: 'acme/alice' });
    expect(revoke.body.data?.revokeApiKey.userErrors[0].code).toBe('NOT_FOUND');
  });
});
