/**
 * JWT hardening as a client and an operator see it, over HTTP against an app that verifies
 * tokens with a JWKS file, as production does: every bad token is the same 401 with
 * `WWW-Authenticate` and a generic message, while the log line of its request names the
 * specific reason. Key rotation through the file is shown end to end as well.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  base64url,
  decodeJwt,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadOrCreateDevKey } from '../../src/auth/dev-key.ts';
import { createTokenVerifier, JWKS_FILE_CHECK_INTERVAL_MS } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { DEMO_TENANTS, seedDatabase } from '../../src/db/seed.ts';
import { createLogger } from '../../src/logger.ts';
import { openPersistedOperationRegistry } from '../../src/persisted-operations/registry.ts';
import { schema } from '../../src/schema/index.ts';
import { splitCostReport } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const WHO_AM_I = /* GraphQL */ `
  query WhoAmI {
    viewer { user { username role } }
  }
`;

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'orders-api-test';
const GENERIC_MESSAGE = 'The access token is missing, invalid or expired.';
const WWW_AUTHENTICATE =
  'Bearer realm="orders-api", error="invalid_token", error_description="The token could not be verified."';

const acme = DEMO_TENANTS.find((tenant) => tenant.slug === 'acme')!;
const bob = acme.users.find((user) => user.username === 'bob')!;

const now = () => Math.floor(Date.now() / 1000);

let dataDir: string;
let jwksFile: string;
let config: Config;
let database: TestDatabase;
let app: ReturnType<typeof createApp>;
let rsa: CryptoKeyPair;
let ec: CryptoKeyPair;
/** Parsed JSON log lines the app wrote. */
const logged: Record<string, unknown>[] = [];

async function writeJwks(keys: { pair: CryptoKeyPair; kid: string; alg: string }[]) {
  const jwks = await Promise.all(
    keys.map(async ({ pair, kid, alg }) => ({
      ...(await exportJWK(pair.publicKey)),
      kid,
      alg,
      use: 'sig',
    })),
  );
  await writeFile(jwksFile, JSON.stringify({ keys: jwks }));
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'orders-jwt-http-'));
  jwksFile = path.join(dataDir, 'jwks.json');
  rsa = await generateKeyPair('RS256');
  ec = await generateKeyPair('ES256');
  await writeJwks([
    { pair: rsa, kid: 'rsa-1', alg: 'RS256' },
    { pair: ec, kid: 'ec-1', alg: 'ES256' },
  ]);
  config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    JWT_JWKS_FILE: jwksFile,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
  });
  database = await createTestDatabase();
  await seedDatabase(database.db, { scale: 1 });
  const logger = createLogger(
    { logLevel: 'info', env: 'test' },
    { write: (line: string) => void logged.push(JSON.parse(line)) },
  );
  app = createApp({
    config,
    database,
    persistedOperations: await openPersistedOperationRegistry(schema, config, database),
    verifier: await createTokenVerifier(config.auth, { logger }),
    logger,
  });
});

afterAll(async () => {
  await database?.destroy();
  await rm(dataDir, { recursive: true, force: true });
});

/** bob's claims as the identity provider issues them; `claims` overrides or adds. */
function claimsOf(claims: Record<string, unknown> = {}): JWTPayload {
  const t = now();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: bob.id,
    tid: acme.id,
    role: bob.role,
    iat: t,
    nbf: t,
    exp: t + 600,
    ...claims,
  };
}

function signRs256(claims: JWTPayload, kid = 'rsa-1', key: CryptoKey = rsa.privateKey) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
}

async function post(authorization: string) {
  const response = await app.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization,
    },
    body: JSON.stringify({ query: WHO_AM_I }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: splitCostReport(await response.json()).body,
  };
}

/** The `token rejected` log lines of one request. */
function rejectionsLogged(requestId: string | null) {
  return logged
    .filter((line) => line.msg === 'token rejected' && line.requestId === requestId)
    .map(({ reason }) => reason);
}

describe('a JWKS-configured app', () => {
  it('answers a good RS256 or ES256 token as its user', async () => {
    const tokens = [
      await signRs256(claimsOf()),
      await new SignJWT(claimsOf())
        .setProtectedHeader({ alg: 'ES256', kid: 'ec-1', typ: 'JWT' })
        .sign(ec.privateKey),
    ];
    for (const token of tokens) {
      const response = await post(`Bearer ${token}`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        data: { viewer: { user: { username: 'bob', role: 'member' } } },
      });
    }
  });

  const BAD_TOKENS: [string, string, () => Promise<string>][] = [
    [
      'alg "none"',
      'unsupported_algorithm',
      async () => {
        const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
        const payload = base64url.encode(JSON.stringify(claimsOf({ role: 'admin' })));
        return `${header}.${payload}.`;
      },
    ],
    [
      'an HS256 token keyed with the RSA public key (algorithm confusion)',
      'unsupported_algorithm',
      async () =>
        new SignJWT(claimsOf({ role: 'admin' }))
          .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1', typ: 'JWT' })
          .sign(new TextEncoder().encode(await exportSPKI(rsa.publicKey))),
    ],
    [
      'a token signed with the development key',
      'unsupported_algorithm',
      async () =>
        new SignJWT(claimsOf())
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .sign(await loadOrCreateDevKey(path.join(dataDir, 'dev-signing-key.json'))),
    ],
    [
      'an expired token',
      'expired',
      () => signRs256(claimsOf({ iat: now() - 600, nbf: now() - 600, exp: now() - 60 })),
    ],
    ['a token not yet valid', 'not_yet_valid', () => signRs256(claimsOf({ nbf: now() + 120 }))],
    [
      'a token from another issuer',
      'wrong_issuer',
      () => signRs256(claimsOf({ iss: 'https://evil.example/' })),
    ],
    [
      'a token for another audience',
      'wrong_audience',
      () => signRs256(claimsOf({ aud: 'billing-api' })),
    ],
    ['a token whose kid is not in the set', 'unknown_key', () => signRs256(claimsOf(), 'rsa-9')],
    [
      'a token signed by a stranger under a known kid',
      'bad_signature',
      async () => signRs256(claimsOf(), 'rsa-1', (await generateKeyPair('RS256')).privateKey),
    ],
    [
      'a token whose payload was tampered with',
      'bad_signature',
      async () => {
        const [header, payload, signature] = (await signRs256(claimsOf())).split('.');
        const forged = base64url.encode(
          JSON.stringify({ ...decodeJwt(`${header}.${payload}.${signature}`), role: 'admin' }),
        );
        return `${header}.${forged}.${signature}`;
      },
    ],
    [
      'a token longer than 8 KB',
      'oversize',
      () => signRs256(claimsOf({ padding: 'x'.repeat(8200) })),
    ],
    ['a malformed token', 'malformed', async () => 'not-a-jwt'],
    ['three segments that are not a JWS', 'malformed', async () => 'a.b.c'],
    [
      'a token that lives longer than JWT_MAX_TOKEN_LIFETIME',
      'lifetime_too_long',
      () => signRs256(claimsOf({ exp: now() + 8 * 3600 })),
    ],
    ['a token without exp', 'bad_claims', () => signRs256(claimsOf({ exp: undefined }))],
    ['a token without iat', 'bad_claims', () => signRs256(claimsOf({ iat: undefined }))],
  ];

  it.each(BAD_TOKENS)(
    'rejects %s with a generic 401 and logs the reason %s',
    async (_case, reason, makeToken) => {
      const response = await post(`Bearer ${await makeToken()}`);
      const requestId = response.headers.get('x-request-id');
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(WWW_AUTHENTICATE);
      expect(response.body).toEqual({
        errors: [{ message: GENERIC_MESSAGE, extensions: { code: 'UNAUTHENTICATED', requestId } }],
      });
      expect(rejectionsLogged(requestId)).toEqual([reason]);
    },
  );

  it('never writes the token itself to the log', async () => {
    const token = await signRs256(claimsOf({ aud: 'billing-api' }));
    await post(`Bearer ${token}`);
    const signature = token.split('.')[2]!;
    expect(logged.some((line) => JSON.stringify(line).includes(signature))).toBe(false);
  });
});

describe('key rotation through the JWKS file, without a restart', () => {
  it('accepts tokens of a newly published key and refuses those of a retired one', async () => {
    const next = await generateKeyPair('RS256');
    const expectStatus = async (token: string, status: number) =>
      expect((await post(`Bearer ${token}`)).status).toBe(status);
    const wait = () =>
      new Promise((resolve) => setTimeout(resolve, JWKS_FILE_CHECK_INTERVAL_MS + 100));

    await expectStatus(await signRs256(claimsOf(), 'rsa-2', next.privateKey), 401);

    await writeJwks([
      { pair: rsa, kid: 'rsa-1', alg: 'RS256' },
      { pair: next, kid: 'rsa-2', alg: 'RS256' },
      { pair: ec, kid: 'ec-1', alg: 'ES256' },
    ]);
    await wait();
    await expectStatus(await signRs256(claimsOf(), 'rsa-2', next.privateKey), 200);
    await expectStatus(await signRs256(claimsOf()), 200);

    await writeJwks([
      { pair: next, kid: 'rsa-2', alg: 'RS256' },
      { pair: ec, kid: 'ec-1', alg: 'ES256' },
    ]);
    await wait();
    const retired = await post(`Bearer ${await signRs256(claimsOf())}`);
    expect(retired.status).toBe(401);
    expect(rejectionsLogged(retired.headers.get('x-request-id'))).toEqual(['unknown_key']);
    await expectStatus(await signRs256(claimsOf(), 'rsa-2', next.privateKey), 200);
  });
});
