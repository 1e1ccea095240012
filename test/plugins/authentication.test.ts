/**
 * Authentication and authorization as a client sees them over HTTP. The token verifier itself
 * is unit-tested in test/auth/jwt.test.ts; here: what each kind of Authorization header does
 * to a request, and what each role and scope may read.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateDevKey } from '../../src/auth/dev-key.ts';
import { EMAILS } from '../fixtures/operations.ts';
import { type GraphQLResponse, startTestApp, type TestApp } from '../helpers/app.ts';

const TOUR = /* GraphQL */ `
  query Tour {
    viewer { user { username } }
    products(first: 1) { pageInfo { hasNextPage } }
    orders(first: 1) { pageInfo { hasNextPage } }
    users(first: 1) { pageInfo { hasNextPage } }
  }
`;

const WHO_AM_I = /* GraphQL */ `
  query WhoAmI {
    viewer { scopes user { username } }
  }
`;

const SCOPED_READS = /* GraphQL */ `
  query ScopedReads {
    viewer { scopes }
    products(first: 1) { pageInfo { hasNextPage } }
    users(first: 1) { nodes { username } }
  }
`;

const TENANT_USERS = /* GraphQL */ `
  query TenantUsers {
    viewer { user { username } }
    users(first: 10) { nodes { username role } }
  }
`;

const USERS_WITH_EMAILS = /* GraphQL */ `
  query UsersWithEmails {
    users(first: 10) { nodes { username email } }
  }
`;

const REJECTED_TOKEN_MESSAGE = 'The access token is missing, invalid or expired.';

let t: TestApp;
let secret: Uint8Array;

beforeAll(async () => {
  t = await startTestApp();
  const keys = t.config.auth.keys;
  if (keys.kind !== 'devKey') throw new Error('the test app signs with the development key');
  secret = await loadOrCreateDevKey(keys.file);
});
afterAll(() => t.close());

const now = () => Math.floor(Date.now() / 1000);

/**
 * alice's real token, re-signed with some claims changed (or with another key): everything
 * except the one defect under test is exactly what the server accepts.
 */
async function aliceTokenWith(claims: JWTPayload, key: Uint8Array = secret): Promise<string> {
  const payload = { ...decodeJwt(await t.token('acme/alice')), ...claims };
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
}

/** The exact 401 every rejected Authorization header gets. */
function expectRejected(response: GraphQLResponse) {
  const requestId = response.headers.get('x-request-id');
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
  expect(response.body).toEqual({
    errors: [
      { message: REJECTED_TOKEN_MESSAGE, extensions: { code: 'UNAUTHENTICATED', requestId } },
    ],
  });
}

describe('without an Authorization header', () => {
  it('answers as anonymous: viewer is null and tenant data is UNAUTHENTICATED at its path, with HTTP 200', async () => {
    const response = await t.graphql(TOUR);
    const requestId = response.headers.get('x-request-id');
    expect(response.status).toBe(200);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(response.body.data).toEqual({ viewer: null, products: null, orders: null, users: null });
    expect(
      response.body.errors?.map(({ path, message, extensions }) => ({ path, message, extensions })),
    ).toEqual(
      ['products', 'orders', 'users'].map((field) => ({
        path: [field],
        message: 'Authentication is required for this field.',
        extensions: { code: 'UNAUTHENTICATED', requestId },
      })),
    );
  });
});

describe('with an Authorization header that is present but not acceptable', () => {
  it.each([
    ['garbage', 'garbage'],
    ['another scheme', 'Basic xyz'],
    ['Bearer with nothing after it', 'Bearer'],
    ['Bearer with only spaces after it', 'Bearer    '],
    ['Bearer with two tokens', 'Bearer abc def'],
    ['Bearer with something that is not a JWT', 'Bearer not-a-jwt'],
  ])(
    'rejects %s with 401 and WWW-Authenticate, never as anonymous',
    async (_case, authorization) => {
      expectRejected(await t.graphql(WHO_AM_I, {}, { authorization }));
    },
  );

  it('rejects an expired token', async () => {
    const token = await aliceTokenWith({ iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 });
    expectRejected(await t.graphql(WHO_AM_I, {}, { authorization: `Bearer ${token}` }));
  });

  it('rejects a token signed with another secret', async () => {
    const token = await aliceTokenWith({}, new Uint8Array(randomBytes(32)));
    expectRejected(await t.graphql(WHO_AM_I, {}, { authorization: `Bearer ${token}` }));
  });

  it('rejects a token from another issuer', async () => {
    const token = await aliceTokenWith({ iss: 'https://issuer.example' });
    expectRejected(await t.graphql(WHO_AM_I, {}, { authorization: `Bearer ${token}` }));
  });

  it('rejects a token for another audience', async () => {
    const token = await aliceTokenWith({ aud: 'billing-api' });
    expectRejected(await t.graphql(WHO_AM_I, {}, { authorization: `Bearer ${token}` }));
  });

  it('rejects a token whose payload was altered after signing', async () => {
    const token = await t.token('acme/carol');
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(token), role: 'admin' })).toString(
      'base64url',
    );
    expectRejected(
      await t.graphql(WHO_AM_I, {}, { authorization: `Bearer ${header}.${payload}.${signature}` }),
    );
  });

  it('rejects before running anything, so a query with several fields gets no data at all', async () => {
    const response = await t.graphql(TOUR, {}, { authorization: 'Bearer x.y.z' });
    expectRejected(response);
    expect(response.sqlStatements).toBeNaN();
  });
});

describe('with a valid token', () => {
  it('accepts a re-signed copy of a real token (the control for the rejections above)', async () => {
    const token = await aliceTokenWith({ iat: now() - 60, nbf: now() - 60, exp: now() + 600 });
    const response = await t.graphql(WHO_AM_I, {}, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: {
        viewer: {
          scopes: [
            'admin:api-keys',
            'admin:persisted-operations',
            'admin:privacy',
            'admin:webhooks',
            'read:orders',
            'read:pii',
            'read:products',
            'read:users',
            'write:orders',
            'write:products',
          ],
          user: { username: 'alice' },
        },
      },
    });
  });

  it('accepts the Bearer scheme in any letter case', async () => {
    const token = await t.token('acme/bob');
    const response = await t.graphql(WHO_AM_I, {}, { authorization: `bearer ${token}` });
    expect(response.status).toBe(200);
    expect(response.body.data?.viewer.user).toEqual({ username: 'bob' });
  });
});

describe('scopes in the token', () => {
  it('narrow what an admin may read: with only read:products, users is FORBIDDEN and the rest is returned', async () => {
    const token = await t.token('acme/alice', { scopes: ['read:products'] });
    const response = await t.graphql(SCOPED_READS, {}, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: {
        viewer: { scopes: ['read:products'] },
        products: { pageInfo: { hasNextPage: true } },
        users: null,
      },
      errors: [
        {
          message: 'Not authorized to resolve Query.users',
          locations: [{ line: 5, column: 5 }],
          path: ['users'],
          extensions: { code: 'FORBIDDEN', requestId: response.headers.get('x-request-id') },
        },
      ],
    });
  });

  it('narrow products away too: an admin token with only read:users cannot list products', async () => {
    const token = await t.token('acme/alice', { scopes: ['read:users'] });
    const response = await t.graphql(SCOPED_READS, {}, { authorization: `Bearer ${token}` });
    expect(response.body.data).toEqual({
      viewer: { scopes: ['read:users'] },
      products: null,
      users: { nodes: [{ username: 'alice' }] },
    });
    expect(response.body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['products'], 'FORBIDDEN'],
    ]);
  });
});

describe('users', () => {
  it("lists the tenant's users, oldest first, for an admin", async () => {
    const acme = await t.graphql(TENANT_USERS, {}, { as: 'acme/alice' });
    expect(acme.body).toEqual({
      data: {
        viewer: { user: { username: 'alice' } },
        users: {
          nodes: [
            { username: 'alice', role: 'admin' },
            { username: 'bob', role: 'member' },
            { username: 'carol', role: 'viewer' },
          ],
        },
      },
    });
    const globex = await t.graphql(TENANT_USERS, {}, { as: 'globex/dave' });
    expect(globex.body.data?.users).toEqual({
      nodes: [
        { username: 'dave', role: 'admin' },
        { username: 'erin', role: 'member' },
        { username: 'frank', role: 'viewer' },
      ],
    });
  });

  it.each([
    ['a member', 'acme/bob', 'bob'],
    ['a viewer', 'globex/frank', 'frank'],
  ] as const)(
    'is FORBIDDEN for %s, at its path, with the rest of the data',
    async (_role, as, username) => {
      const response = await t.graphql(TENANT_USERS, {}, { as });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        data: { viewer: { user: { username } }, users: null },
        errors: [
          {
            message: 'Not authorized to resolve Query.users',
            locations: [{ line: 4, column: 5 }],
            path: ['users'],
            extensions: { code: 'FORBIDDEN', requestId: response.headers.get('x-request-id') },
          },
        ],
      });
    },
  );
});

describe('User.email', () => {
  it('is visible to the user themself; for other users it is null and FORBIDDEN while the rest is returned', async () => {
    const ids = [t.ids.users['acme/alice'], t.ids.users['acme/bob'], t.ids.users['acme/carol']];
    const response = await t.graphql(EMAILS, { ids }, { as: 'acme/bob' });
    const requestId = response.headers.get('x-request-id');
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({
      nodes: [
        { username: 'alice', email: null },
        { username: 'bob', email: 'bob@acme.example' },
        { username: 'carol', email: null },
      ],
    });
    expect(response.body.errors?.map(({ path, extensions }) => ({ path, extensions }))).toEqual([
      { path: ['nodes', 0, 'email'], extensions: { code: 'FORBIDDEN', requestId } },
      { path: ['nodes', 2, 'email'], extensions: { code: 'FORBIDDEN', requestId } },
    ]);
  });

  it('is visible to an admin (read:pii) for every user of the tenant', async () => {
    const response = await t.graphql(USERS_WITH_EMAILS, {}, { as: 'acme/alice' });
    expect(response.body).toEqual({
      data: {
        users: {
          nodes: [
            { username: 'alice', email: 'alice@acme.example' },
            { username: 'bob', email: 'bob@acme.example' },
            { username: 'carol', email: 'carol@acme.example' },
          ],
        },
      },
    });
  });

  it('is hidden from an admin whose token drops read:pii, except their own', async () => {
    const token = await t.token('acme/alice', { scopes: ['read:users'] });
    const response = await t.graphql(USERS_WITH_EMAILS, {}, { authorization: `Bearer ${token}` });
    expect(response.body.data).toEqual({
      users: {
        nodes: [
          { username: 'alice', email: 'alice@acme.example' },
          { username: 'bob', email: null },
          { username: 'carol', email: null },
        ],
      },
    });
    expect(response.body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['users', 'nodes', 1, 'email'], 'FORBIDDEN'],
      [['users', 'nodes', 2, 'email'], 'FORBIDDEN'],
    ]);
  });
});
