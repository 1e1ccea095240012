import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphQLResponse, startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const EXPORT = /* GraphQL */ `
  query Export($userId: ID) {
    dataExport(userId: $userId) { generatedAt json }
  }
`;

const ERASE = /* GraphQL */ `
  mutation Erase($input: EraseUserInput!) {
    eraseUser(input: $input) {
      user { id username displayName email erasedAt }
      userErrors { field code message }
    }
  }
`;

const AUDIT = /* GraphQL */ `
  query Audit {
    auditEvents(first: 100) { nodes { action actorId targetId requestId createdAt } }
  }
`;

const WHO_AM_I = /* GraphQL */ `
  query WhoAmI {
    viewer { user { id } apiKey { id } }
  }
`;

const FIRST_PRODUCT = /* GraphQL */ `
  query FirstProduct {
    products(first: 1, filter: { currency: USD }) { nodes { id stock } }
  }
`;

const CREATE_ORDER = /* GraphQL */ `
  mutation PlaceOrder($input: CreateOrderInput!) {
    createOrder(input: $input) { order { id } userErrors { code } }
  }
`;

const ORDER_CUSTOMER = /* GraphQL */ `
  query OrderCustomer($id: ID!) {
    order(id: $id) { id customer { id username displayName email erasedAt } }
  }
`;

const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterPersistedOperationInput!) {
    registerPersistedOperation(input: $input) { persistedOperation { id } userErrors { code } }
  }
`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

function expectRejected(response: GraphQLResponse) {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="orders-api"/);
  expect(response.body).toEqual({
    errors: [
      {
        message: 'The access token is missing, invalid or expired.',
        extensions: { code: 'UNAUTHENTICATED', requestId: response.headers.get('x-request-id') },
      },
    ],
  });
}

/** An API key created by `userId`, written straight into the table (only admins create keys). */
async function insertKeyOf(userId: string, scopes: string[]): Promise<string> {
  const secret = `oak_${'k'.repeat(20)}${userId.slice(-23)}`;
  await t.database.db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${t.ids.tenants.acme!}, true)`);
    await tx.execute(
      sql`insert into api_keys (id, tenant_id, name, prefix, secret_hash, scopes, created_by)
          values (${`key_01h455vb4pex5vsknk084sn${userId.slice(-3)}`}, ${t.ids.tenants.acme!}, 'test key',
                  ${secret.slice(0, 12)}, ${createHash('sha256').update(secret).digest('hex')},
                  ${`{${scopes.join(',')}}`}, ${userId})`,
    );
  });
  return secret;
}

describe('dataExport', () => {
  it('exports the caller’s own data without userId', async () => {
    const response = await t.graphql(EXPORT, {}, { as: 'acme/bob' });
    expect(response.body.errors).toBeUndefined();
    const { generatedAt, json } = response.body.data!.dataExport;
    const exported = JSON.parse(json);
    expect(exported.generatedAt).toBe(generatedAt);
    expect(exported.user).toMatchObject({ id: t.ids.users['acme/bob'], username: 'bob' });
    expect(exported.orders.length).toBeGreaterThan(0);
    for (const order of exported.orders) {
      expect(order.customerId).toBe(t.ids.users['acme/bob']);
      expect(order.items.length).toBeGreaterThan(0);
    }
    expect(exported).toMatchObject({ ordersTruncated: false, idempotencyRecords: [], apiKeys: [] });
  });

  it('is priced at the orders it may read', async () => {
    const response = await t.graphql(EXPORT, {}, { as: 'acme/carol' });
    expect(response.cost?.requestedQueryCost).toBe(501);
  });

  it('exports another user for an admin with admin:privacy only', async () => {
    const admin = await t.graphql(
      EXPORT,
      { userId: t.ids.users['acme/bob'] },
      { as: 'acme/alice' },
    );
    expect(JSON.parse(admin.body.data?.dataExport.json).user.id).toBe(t.ids.users['acme/bob']);

    const member = await t.graphql(
      EXPORT,
      { userId: t.ids.users['acme/alice'] },
      { as: 'acme/bob' },
    );
    expect(member.body.data).toBeNull();
    expect(member.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const narrowed = await t.token('acme/alice', { scopes: ['read:users', 'read:pii'] });
    const withoutScope = await t.graphql(
      EXPORT,
      { userId: t.ids.users['acme/bob'] },
      { authorization: `Bearer ${narrowed}` },
    );
    expect(withoutScope.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('does not find users of another tenant, or ids that are no user', async () => {
    for (const userId of [t.ids.users['globex/erin'], 'usr_nope', t.ids.tenants.acme]) {
      const response = await t.graphql(EXPORT, { userId }, { as: 'acme/alice' });
      expect(response.body.errors?.[0]?.extensions?.code, userId).toBe('NOT_FOUND');
    }
  });

  it('exports for an API key with admin:privacy, which has no data of its own', async () => {
    const created = await t.graphql(
      'mutation K($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
      { input: { name: 'privacy', scopes: ['admin:privacy'] } },
      { as: 'acme/alice' },
    );
    const authorization = `Bearer ${created.body.data?.createApiKey.secret}`;
    const carol = t.ids.users['acme/carol'];
    const other = await t.graphql(EXPORT, { userId: carol }, { authorization });
    expect(JSON.parse(other.body.data?.dataExport.json).user.id).toBe(carol);
    const own = await t.graphql(EXPORT, {}, { authorization });
    expect(own.body.errors?.[0]).toMatchObject({
      message: 'An API key has no data of its own: pass userId.',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('is recorded in the audit log, with the request id and no personal data', async () => {
    const response = await t.graphql(
      EXPORT,
      { userId: t.ids.users['acme/carol'] },
      { as: 'acme/alice' },
    );
    const audit = await t.graphql(AUDIT, {}, { as: 'acme/alice' });
    const event = audit.body.data?.auditEvents.nodes[0];
    expect(event).toEqual({
      action: 'USER_EXPORTED',
      actorId: t.ids.users['acme/alice'],
      targetId: t.ids.users['acme/carol'],
      requestId: response.headers.get('x-request-id'),
      createdAt: expect.any(String),
    });
    expect(JSON.stringify(audit.body)).not.toMatch(/carol|@/);
  });
});

describe('auditEvents', () => {
  it('is for admins with admin:privacy, and per tenant', async () => {
    const member = await t.graphql(AUDIT, {}, { as: 'acme/bob' });
    expect(member.body.data?.auditEvents).toBeNull();
    expect(member.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const globex = await t.graphql(AUDIT, {}, { as: 'globex/dave' });
    expect(globex.body.data?.auditEvents.nodes).toEqual([]);
  });

  it('records API-key changes and persisted-operation registrations', async () => {
    const created = await t.graphql(
      'mutation K($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }',
      { input: { name: 'audited', scopes: ['read:products'] } },
      { as: 'acme/alice' },
    );
    const keyId = created.body.data?.createApiKey.apiKey.id;
    await t.graphql(
      'mutation R($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }',
      { input: { id: keyId } },
      { as: 'acme/alice' },
    );
    const registered = await t.graphql(
      REGISTER,
      { input: { document: 'query AuditedOperation { viewer { scopes } }' } },
      { as: 'acme/alice' },
    );
    const operationId = registered.body.data?.registerPersistedOperation.persistedOperation.id;
    const audit = await t.graphql(AUDIT, {}, { as: 'acme/alice' });
    const events = audit.body.data?.auditEvents.nodes.slice(0, 3);
    expect(events.map((event: Record<string, unknown>) => [event.action, event.targetId])).toEqual([
      ['PERSISTED_OPERATION_REGISTERED', operationId],
      ['API_KEY_REVOKED', keyId],
      ['API_KEY_CREATED', keyId],
    ]);
  });
});

describe('the audit log of webhook endpoints', () => {
  it('records their creation, change, secret rotation and deletion', async () => {
    const created = await t.graphql(
      /* GraphQL */ `mutation W($input: CreateWebhookEndpointInput!) {
        createWebhookEndpoint(input: $input) { webhookEndpoint { id } userErrors { code } }
      }`,
      {
        input: {
          url: 'http://127.0.0.1:9/hooks',
          events: ['ORDER_CREATED'],
          clientMutationId: newClientMutationId('hook'),
        },
      },
      { as: 'acme/alice' },
    );
    const id = created.body.data?.createWebhookEndpoint.webhookEndpoint.id;
    for (const mutation of [
      'mutation U($id: ID!) { updateWebhookEndpoint(input: { id: $id, enabled: false }) { userErrors { code } } }',
      'mutation R($id: ID!) { rotateWebhookSecret(input: { id: $id }) { userErrors { code } } }',
      'mutation D($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { userErrors { code } } }',
    ]) {
      const response = await t.graphql(mutation, { id }, { as: 'acme/alice' });
      expect(Object.values(response.body.data ?? {})[0]).toEqual({ userErrors: [] });
    }
    const audit = await t.graphql(AUDIT, {}, { as: 'acme/alice' });
    const events = audit.body.data?.auditEvents.nodes.slice(0, 4);
    expect(events.map((event: Record<string, unknown>) => [event.action, event.targetId])).toEqual([
      ['WEBHOOK_ENDPOINT_DELETED', id],
      ['WEBHOOK_ENDPOINT_SECRET_ROTATED', id],
      ['WEBHOOK_ENDPOINT_UPDATED', id],
      ['WEBHOOK_ENDPOINT_CREATED', id],
    ]);
  });
});

describe('eraseUser', () => {
  let bobToken: string;
  let bobKey: string;
  let orderId: string;

  beforeAll(async () => {
    bobToken = `Bearer ${await t.token('acme/bob')}`;
    bobKey = `Bearer ${await insertKeyOf(t.ids.users['acme/bob'], ['read:products'])}`;
    const product = (await t.graphql(FIRST_PRODUCT, {}, { as: 'acme/bob' })).body.data?.products
      .nodes[0];
    const placed = await t.graphql(
      CREATE_ORDER,
      {
        input: {
          clientMutationId: newClientMutationId('erase'),
          items: [{ productId: product.id, quantity: 1 }],
        },
      },
      { authorization: bobToken },
    );
    orderId = placed.body.data?.createOrder.order.id;
    // Both work, and the token is now in the verifier's memory of verified tokens.
    expect((await t.graphql(WHO_AM_I, {}, { authorization: bobToken })).status).toBe(200);
    expect((await t.graphql(WHO_AM_I, {}, { authorization: bobKey })).status).toBe(200);
    const before = JSON.parse(
      (await t.graphql(EXPORT, { userId: t.ids.users['acme/bob'] }, { as: 'acme/alice' })).body.data
        ?.dataExport.json,
    );
    expect(before.idempotencyRecords).toHaveLength(1);
    expect(before.apiKeys).toHaveLength(1);
  });

  it('replaces the personal data with a tombstone', async () => {
    const response = await t.graphql(
      ERASE,
      { input: { id: t.ids.users['acme/bob'], clientMutationId: 'erase-bob' } },
      { as: 'acme/alice' },
    );
    const tombstone = `erased-${t.ids.users['acme/bob'].slice(-25)}`;
    expect(response.body.data?.eraseUser).toEqual({
      user: {
        id: t.ids.users['acme/bob'],
        username: tombstone,
        displayName: tombstone,
        email: `${tombstone}@erased.invalid`,
        erasedAt: expect.any(String),
      },
      userErrors: [],
    });
  });

  it('refuses the user’s tokens and API keys from then on, with the 401 of a bad token', async () => {
    expectRejected(await t.graphql(WHO_AM_I, {}, { authorization: bobToken }));
    expectRejected(await t.graphql(WHO_AM_I, {}, { authorization: bobKey }));
    expectRejected(
      await t.graphql(FIRST_PRODUCT, {}, { authorization: `Bearer ${await t.token('acme/bob')}` }),
    );
  });

  it('keeps the orders, showing the tombstone as customer', async () => {
    const response = await t.graphql(ORDER_CUSTOMER, { id: orderId }, { as: 'acme/alice' });
    const tombstone = `erased-${t.ids.users['acme/bob'].slice(-25)}`;
    expect(response.body.data?.order.customer).toEqual({
      id: t.ids.users['acme/bob'],
      username: tombstone,
      displayName: tombstone,
      email: `${tombstone}@erased.invalid`,
      erasedAt: expect.any(String),
    });
  });

  it('deletes the stored idempotency payloads and revokes the user’s API keys', async () => {
    const after = JSON.parse(
      (await t.graphql(EXPORT, { userId: t.ids.users['acme/bob'] }, { as: 'acme/alice' })).body.data
        ?.dataExport.json,
    );
    expect(after.idempotencyRecords).toEqual([]);
    expect(after.apiKeys).toEqual([expect.objectContaining({ revokedAt: expect.any(String) })]);
    expect(JSON.stringify(after)).not.toContain('bob@');
  });

  it('is idempotent: erasing again returns the same state and records nothing new', async () => {
    const first = await t.graphql(
      ERASE,
      { input: { id: t.ids.users['acme/bob'] } },
      { as: 'acme/alice' },
    );
    const again = await t.graphql(
      ERASE,
      { input: { id: t.ids.users['acme/bob'] } },
      { as: 'acme/alice' },
    );
    expect(again.body.data).toEqual(first.body.data);
    const audit = await t.graphql(AUDIT, {}, { as: 'acme/alice' });
    const erasures = audit.body.data?.auditEvents.nodes.filter(
      (event: { action: string }) => event.action === 'USER_ERASED',
    );
    expect(erasures).toEqual([
      expect.objectContaining({
        actorId: t.ids.users['acme/alice'],
        targetId: t.ids.users['acme/bob'],
      }),
    ]);
  });

  it('cannot be undone, even by a direct write', async () => {
    await expect(
      t.database.db.transaction(async (tx) => {
        await tx.execute(sql`select set_config('app.tenant_id', ${t.ids.tenants.acme!}, true)`);
        await tx.execute(
          sql`update users set username = 'bob', erased_at = null where id = ${t.ids.users['acme/bob']}`,
        );
      }),
    ).rejects.toThrow();
  });

  it('refuses bad input with userErrors: unknown, foreign and malformed ids, and oneself', async () => {
    const cases = [
      [t.ids.users['globex/erin'], 'NOT_FOUND'],
      ['usr_nope', 'NOT_FOUND'],
      [t.ids.tenants.acme, 'NOT_FOUND'],
      [t.ids.users['acme/alice'], 'INVALID_STATE'],
    ] as const;
    for (const [id, code] of cases) {
      const response = await t.graphql(ERASE, { input: { id } }, { as: 'acme/alice' });
      expect(response.body.data?.eraseUser.user, id).toBeNull();
      expect(response.body.data?.eraseUser.userErrors, id).toEqual([
        expect.objectContaining({ field: ['input', 'id'], code }),
      ]);
    }
  });

  it('is for admins with admin:privacy only', async () => {
    const viewer = await t.graphql(
      ERASE,
      { input: { id: t.ids.users['acme/carol'] } },
      { as: 'acme/carol' },
    );
    expect(viewer.body.data?.eraseUser).toBeNull();
    expect(viewer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
