/**
 * Introspection (issue 4, item 5): open to everyone outside production; in production only to
 * admins, everyone else gets HTTP 403 FORBIDDEN and nothing runs. The production app is the
 * real one built from a NODE_ENV=production configuration, with a JWKS file of a key this
 * test generates, since production refuses the development signing key.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTROSPECTION_REFUSED_MESSAGE } from '../../src/plugins/introspection.ts';
import {
  type DemoUserName,
  type GraphQLResponse,
  startTestApp,
  type TestApp,
} from '../helpers/app.ts';

const FULL_INTROSPECTION = getIntrospectionQuery();

const TYPE_LOOKUP = /* GraphQL */ `
  query TypeLookup {
    __type(name: "Product") { name }
  }
`;

const TYPENAME_ONLY = /* GraphQL */ `
  query TypenameOnly {
    __typename
  }
`;

const PRODUCT_COUNT_PAGE = /* GraphQL */ `
  query FirstProduct {
    products(first: 1) { pageInfo { hasNextPage } }
  }
`;

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'orders-api-test';
const KID = 'introspection-test-key';

function expectRefused(response: GraphQLResponse) {
  expect(response.status).toBe(403);
  expect(response.body).toEqual({
    errors: [
      {
        message: INTROSPECTION_REFUSED_MESSAGE,
        extensions: { code: 'FORBIDDEN', requestId: response.headers.get('x-request-id') },
      },
    ],
  });
}

describe('in production', () => {
  let t: TestApp;
  let dir: string;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orders-introspection-'));
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
    const jwksFile = path.join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
    t = await startTestApp({
      env: {
        NODE_ENV: 'production',
        JWT_JWKS_FILE: jwksFile,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        // Production requires it; the test app opens its own test database regardless.
        DATABASE_URL: 'postgres://unused@localhost:5432/unused',
        // Production runs only persisted operations by default, which would refuse these full
        // documents before introspection is looked at; this file is about introspection.
        PERSISTED_OPERATIONS: 'allow',
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A token as the identity provider would issue it for a demo user. */
  async function bearer(user: DemoUserName): Promise<string> {
    const [tenant] = user.split('/') as [string];
    const role =
      { alice: 'admin', bob: 'member', carol: 'viewer' }[user.split('/')[1]!] ?? 'viewer';
    const token = await new SignJWT({ tid: t.ids.tenants[tenant], role })
      .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
      .setSubject(t.ids.users[user])
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    return `Bearer ${token}`;
  }

  it('refuses the full introspection query to an anonymous caller with 403 FORBIDDEN', async () => {
    expectRefused(await t.graphql(FULL_INTROSPECTION));
  });

  it.each(['acme/bob', 'acme/carol'] as const)(
    'refuses introspection to %s, who is not an admin',
    async (user) => {
      expectRefused(await t.graphql(FULL_INTROSPECTION, {}, { authorization: await bearer(user) }));
      expectRefused(await t.graphql(TYPE_LOOKUP, {}, { authorization: await bearer(user) }));
    },
  );

  it('allows an admin to introspect', async () => {
    const authorization = await bearer('acme/alice');
    const full = await t.graphql(FULL_INTROSPECTION, {}, { authorization });
    expect(full.status).toBe(200);
    expect(full.body.errors).toBeUndefined();
    expect(full.body.data?.__schema.queryType).toEqual({ name: 'Query', kind: 'OBJECT' });
    const lookup = await t.graphql(TYPE_LOOKUP, {}, { authorization });
    expect(lookup.body).toEqual({ data: { __type: { name: 'Product' } } });
  });

  it('still answers __typename and ordinary queries for everyone (the control)', async () => {
    const typename = await t.graphql(TYPENAME_ONLY);
    expect(typename.status).toBe(200);
    expect(typename.body).toEqual({ data: { __typename: 'Query' } });
    const products = await t.graphql(
      PRODUCT_COUNT_PAGE,
      {},
      {
        authorization: await bearer('acme/carol'),
      },
    );
    expect(products.body).toEqual({ data: { products: { pageInfo: { hasNextPage: true } } } });
  });
});

describe('outside production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('lets anyone introspect, even without a token', async () => {
    const response = await t.graphql(TYPE_LOOKUP);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { __type: { name: 'Product' } } });
  });

  it('lets a viewer run the full introspection query', async () => {
    const response = await t.graphql(FULL_INTROSPECTION, {}, { as: 'acme/carol' });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.__schema.mutationType).toEqual({ name: 'Mutation', kind: 'OBJECT' });
  });
});
