import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadOrCreateDevKey, signDevToken } from '../../src/auth/dev-key.ts';
import {
  createTokenVerifier,
  JWKS_FILE_CHECK_INTERVAL_MS,
  TokenRejectedError,
  type TokenRejectionReason,
  type TokenVerifier,
} from '../../src/auth/jwt.ts';
import { ROLE_SCOPES } from '../../src/auth/viewer.ts';
import { type Config, ConfigError, loadConfig } from '../../src/config.ts';
import { IdPrefix, newId } from '../../src/ids.ts';
import { createLogger } from '../../src/logger.ts';

const userId = newId(IdPrefix.User);
const tenantId = newId(IdPrefix.Tenant);
const now = () => Math.floor(Date.now() / 1000);

let tempDir: string;
let auth: Config['auth'];
let secret: Uint8Array;
let verifier: TokenVerifier;

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(tmpdir(), 'orders-jwt-test-'));
  auth = {
    issuer: 'orders-api-test',
    audience: 'orders-api',
    algorithms: ['HS256'],
    clockToleranceSeconds: 30,
    maxTokenLifetimeSeconds: 900,
    keys: { kind: 'devKey', file: path.join(tempDir, 'keys', 'dev-signing-key.json') },
  };
  secret = await loadOrCreateDevKey(auth.keys.kind === 'devKey' ? auth.keys.file : '');
  verifier = await createTokenVerifier(auth);
});

afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

/** A signed HS256 token with the usual claims, which `claims` may override or remove. */
async function hsToken(
  claims: Record<string, unknown> = {},
  options: { key?: Uint8Array; omit?: string[] } = {},
): Promise<string> {
  const t = now();
  const payload: Record<string, unknown> = {
    iss: auth.issuer,
    aud: auth.audience,
    sub: userId,
    tid: tenantId,
    role: 'member',
    iat: t,
    nbf: t,
    exp: t + 600,
    ...claims,
  };
  for (const name of options.omit ?? []) delete payload[name];
  return new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(options.key ?? secret);
}

async function rejectionOf(
  token: string,
  by: TokenVerifier = verifier,
): Promise<TokenRejectedError> {
  try {
    await by.verify(token);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenRejectedError);
    return error as TokenRejectedError;
  }
  throw new Error('expected the token to be rejected');
}

async function expectRejected(
  token: string,
  reason: TokenRejectionReason,
  by: TokenVerifier = verifier,
): Promise<void> {
  const error = await rejectionOf(token, by);
  expect(error.reason).toBe(reason);
  // The message is the same whatever went wrong: the reason is for logs, not for callers.
  expect(error.message).toBe('The access token is invalid or expired.');
}

describe('development signing key', () => {
  it('creates a 256-bit secret once, with owner-only permissions, and reads it back later', async () => {
    expect(secret.byteLength).toBe(32);
    const file = auth.keys.kind === 'devKey' ? auth.keys.file : '';
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(Buffer.from(await loadOrCreateDevKey(file))).toEqual(Buffer.from(secret));
  });

  it('gives concurrent first starts the same secret', async () => {
    const file = path.join(tempDir, 'race', 'nested', 'key.json');
    const secrets = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateDevKey(file)));
    const distinct = new Set(secrets.map((s) => base64url.encode(s)));
    expect(distinct.size).toBe(1);
  });

  it('refuses a corrupt key file instead of silently replacing it', async () => {
    const file = path.join(tempDir, 'corrupt.json');
    await writeFile(file, '{"secret": 42}');
    await expect(loadOrCreateDevKey(file)).rejects.toThrow(/not valid/);
  });

  it('signs tokens with iss, aud, sub, tid, role, scope, iat, nbf = iat, exp and jti', async () => {
    const token = await signDevToken(
      secret,
      auth,
      { userId, tenantId, role: 'admin', scopes: ['read:orders', 'read:products'] },
      900,
    );
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: auth.issuer,
      aud: auth.audience,
      sub: userId,
      tid: tenantId,
      role: 'admin',
      scope: 'read:orders read:products',
    });
    expect(claims.nbf).toBe(claims.iat);
    expect(claims.exp).toBe((claims.iat ?? 0) + 900);
    expect(claims.jti).toEqual(expect.any(String));
  });
});

describe('createTokenVerifier with the development key', () => {
  it('verifies a dev token into the viewer it names, with all of its role’s scopes', async () => {
    const token = await signDevToken(secret, auth, { userId, tenantId, role: 'member' }, 60);
    const viewer = await verifier.verify(token);
    expect(viewer.userId).toBe(userId);
    expect(viewer.tenantId).toBe(tenantId);
    expect(viewer.role).toBe('member');
    expect([...viewer.scopes].sort()).toEqual([...ROLE_SCOPES.member].sort());
  });

  it('narrows the role’s scopes to the scope claim', async () => {
    const token = await signDevToken(
      secret,
      auth,
      { userId, tenantId, role: 'member', scopes: ['read:orders'] },
      60,
    );
    expect([...(await verifier.verify(token)).scopes]).toEqual(['read:orders']);
  });

  it('never widens the role’s scopes, and ignores unknown scope names', async () => {
    const token = await hsToken({
      role: 'viewer',
      scope: 'read:products write:orders admin:persisted-operations superpowers',
    });
    expect([...(await verifier.verify(token)).scopes]).toEqual(['read:products']);
  });

  it('treats an empty scope claim as no scopes at all', async () => {
    const token = await hsToken({ role: 'admin', scope: '' });
    expect((await verifier.verify(token)).scopes.size).toBe(0);
  });

  it('accepts a token that expired within the clock tolerance', async () => {
    const token = await hsToken({ iat: now() - 120, nbf: now() - 120, exp: now() - 10 });
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId });
  });

  it('rejects alg "none" as an unsupported algorithm', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(
      JSON.stringify({
        iss: auth.issuer,
        aud: auth.audience,
        sub: userId,
        tid: tenantId,
        role: 'admin',
        iat: now(),
        exp: now() + 600,
      }),
    );
    await expectRejected(`${header}.${payload}.`, 'unsupported_algorithm');
  });

  it('rejects a token signed with a different secret as a bad signature', async () => {
    const other = new Uint8Array(32).fill(7);
    await expectRejected(await hsToken({}, { key: other }), 'bad_signature');
  });

  it('rejects a token expired beyond the clock tolerance', async () => {
    const token = await hsToken({ iat: now() - 3600, nbf: now() - 3600, exp: now() - 31 });
    await expectRejected(token, 'expired');
  });

  it('refuses a token it has already verified once the token expires', async () => {
    const token = await hsToken({ exp: now() + 5 });
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId });
    vi.useFakeTimers({
      toFake: ['Date'],
      now: Date.now() + (5 + auth.clockToleranceSeconds + 1) * 1000,
    });
    try {
      await expectRejected(token, 'expired');
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers a token it has verified before with the same viewer', async () => {
    const token = await hsToken({ role: 'admin', scope: 'read:products' });
    const first = await verifier.verify(token);
    const again = await verifier.verify(token);
    expect(again).toEqual(first);
    expect([...again.scopes]).toEqual(['read:products']);
  });

  it('rejects a token whose nbf is in the future', async () => {
    await expectRejected(await hsToken({ nbf: now() + 120 }), 'not_yet_valid');
  });

  it('rejects a token issued in the future', async () => {
    await expectRejected(await hsToken({ iat: now() + 600, nbf: now() }), 'not_yet_valid');
  });

  it('rejects a token from another issuer', async () => {
    await expectRejected(await hsToken({ iss: 'https://evil.example' }), 'wrong_issuer');
  });

  it('rejects a token for another audience', async () => {
    await expectRejected(await hsToken({ aud: 'billing-api' }), 'wrong_audience');
  });

  it('rejects a token whose payload was tampered with', async () => {
    const [header, , signature] = (await hsToken({ role: 'viewer' })).split('.');
    const forged = base64url.encode(
      JSON.stringify({ ...decodeJwt(await hsToken({ role: 'viewer' })), role: 'admin' }),
    );
    await expectRejected(`${header}.${forged}.${signature}`, 'bad_signature');
  });

  it('rejects a token without exp, sub or iat', async () => {
    await expectRejected(await hsToken({}, { omit: ['exp'] }), 'bad_claims');
    await expectRejected(await hsToken({}, { omit: ['sub'] }), 'bad_claims');
    await expectRejected(await hsToken({}, { omit: ['iat'] }), 'bad_claims');
  });

  it('rejects a token longer than 8 KB before looking at it', async () => {
    await expectRejected(await hsToken({ padding: 'x'.repeat(8200) }), 'oversize');
    await expectRejected('a'.repeat(8193), 'oversize');
  });

  it('rejects strings that are not compact JWS as malformed', async () => {
    for (const token of ['abc', 'a.b.c', '', 'a.b', '...', 'a.b.c.d', 'eyJ.eyJ.sig=']) {
      await expectRejected(token, 'malformed');
    }
  });

  it('rejects claims that are not the API’s ids, roles or scope strings', async () => {
    await expectRejected(await hsToken({ sub: 'alice' }), 'bad_claims');
    await expectRejected(await hsToken({ sub: newId(IdPrefix.Tenant) }), 'bad_claims');
    await expectRejected(await hsToken({ tid: newId(IdPrefix.User) }), 'bad_claims');
    await expectRejected(await hsToken({}, { omit: ['tid'] }), 'bad_claims');
    await expectRejected(await hsToken({ role: 'superuser' }), 'bad_claims');
    await expectRejected(await hsToken({}, { omit: ['role'] }), 'bad_claims');
    await expectRejected(await hsToken({ scope: ['read:orders'] }), 'bad_claims');
    await expectRejected(await hsToken({ exp: 'tomorrow' }), 'bad_claims');
  });
});

describe('token lifetime, required claims and clock tolerance', () => {
  it('accepts a token that lives exactly the maximum lifetime', async () => {
    const t = now();
    await expect(verifier.verify(await hsToken({ iat: t, exp: t + 900 }))).resolves.toMatchObject({
      userId,
    });
  });

  it('rejects a token whose exp - iat exceeds the maximum lifetime, even when fresh', async () => {
    const t = now();
    await expectRejected(await hsToken({ iat: t, exp: t + 901 }), 'lifetime_too_long');
    await expectRejected(await hsToken({ iat: t - 60, exp: t + 8 * 3600 }), 'lifetime_too_long');
  });

  it('measures the lifetime against the configured maximum', async () => {
    const shortLived = await createTokenVerifier({ ...auth, maxTokenLifetimeSeconds: 300 });
    const t = now();
    await expect(shortLived.verify(await hsToken({ iat: t, exp: t + 300 }))).resolves.toBeTruthy();
    await expectRejected(await hsToken({ iat: t, exp: t + 301 }), 'lifetime_too_long', shortLived);
  });

  it('rejects a token without iss or aud as bad claims', async () => {
    await expectRejected(await hsToken({}, { omit: ['iss'] }), 'bad_claims');
    await expectRejected(await hsToken({}, { omit: ['aud'] }), 'bad_claims');
  });

  it('rejects a token whose nbf is a few seconds ahead only beyond the tolerance', async () => {
    await expect(verifier.verify(await hsToken({ nbf: now() + 20 }))).resolves.toBeTruthy();
    await expectRejected(await hsToken({ nbf: now() + 45 }), 'not_yet_valid');
  });

  it('refuses to build a verifier with a clock tolerance above 30 seconds', async () => {
    await expect(createTokenVerifier({ ...auth, clockToleranceSeconds: 31 })).rejects.toThrow(
      'The clock tolerance must be 0 to 30 seconds, got 31.',
    );
  });

  it('never verifies HS256 through a JWKS, even when the allow-list names it', async () => {
    const file = path.join(tempDir, 'hs-jwks.json');
    await writeFile(file, JSON.stringify({ keys: [] }));
    await expect(
      createTokenVerifier({ ...auth, algorithms: ['HS256'], keys: { kind: 'jwksFile', file } }),
    ).rejects.toThrow(/allows no algorithm usable with the jwksFile key source/);
  });
});

describe('JWT_MAX_TOKEN_LIFETIME', () => {
  it('defaults to 15 minutes', () => {
    expect(loadConfig({}).auth.maxTokenLifetimeSeconds).toBe(900);
  });

  it.each([
    ['900', 900],
    ['15m', 900],
    ['90s', 90],
    ['2h', 7200],
    ['1d', 86_400],
  ])('reads %s as %i seconds', (value, seconds) => {
    expect(loadConfig({ JWT_MAX_TOKEN_LIFETIME: value }).auth.maxTokenLifetimeSeconds).toBe(
      seconds,
    );
  });

  it.each(['25h', '2d', '59', '30s'])('refuses %s as outside 1m to 24h', (value) => {
    expect(() => loadConfig({ JWT_MAX_TOKEN_LIFETIME: value })).toThrow(
      new ConfigError(
        'Invalid configuration:\n  JWT_MAX_TOKEN_LIFETIME: must be between 1m and 24h',
      ),
    );
  });

  it.each(['15 minutes', '1.5h', '-5m', 'm', '15M'])('refuses %s as not a duration', (value) => {
    expect(() => loadConfig({ JWT_MAX_TOKEN_LIFETIME: value })).toThrow(
      new ConfigError(
        'Invalid configuration:\n  JWT_MAX_TOKEN_LIFETIME: must be seconds or a duration with a unit: 900, 90s, 15m, 2h, 1d',
      ),
    );
  });
});

describe('createTokenVerifier with a JWKS file', () => {
  let rsa: CryptoKeyPair;
  let ec: CryptoKeyPair;
  let jwksVerifier: TokenVerifier;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256');
    ec = await generateKeyPair('ES256');
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    const file = path.join(tempDir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys }));
    jwksVerifier = await createTokenVerifier({
      ...auth,
      issuer: 'https://idp.example',
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      keys: { kind: 'jwksFile', file },
    });
  });

  async function signed(alg: 'RS256' | 'ES256', kid: string, key: CryptoKey): Promise<string> {
    return new SignJWT({ tid: tenantId, role: 'admin', scope: 'read:orders' })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer('https://idp.example')
      .setAudience(auth.audience)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  }

  it('accepts RS256 and ES256 tokens whose kid is in the set', async () => {
    for (const token of [
      await signed('RS256', 'rsa-1', rsa.privateKey),
      await signed('ES256', 'ec-1', ec.privateKey),
    ]) {
      const viewer = await jwksVerifier.verify(token);
      expect(viewer).toMatchObject({ userId, tenantId, role: 'admin' });
      expect([...viewer.scopes]).toEqual(['read:orders']);
    }
  });

  it('accepts Ed25519 keys signed as EdDSA or as its fully-specified name Ed25519', async () => {
    const ed = await generateKeyPair('Ed25519');
    const file = path.join(tempDir, 'jwks-ed.json');
    await writeFile(
      file,
      JSON.stringify({ keys: [{ ...(await exportJWK(ed.publicKey)), kid: 'ed-1', use: 'sig' }] }),
    );
    for (const allowed of [['EdDSA'], ['Ed25519']] as const) {
      const edVerifier = await createTokenVerifier({
        ...auth,
        algorithms: allowed,
        keys: { kind: 'jwksFile', file },
      });
      for (const alg of ['EdDSA', 'Ed25519']) {
        const token = await new SignJWT({ tid: tenantId, role: 'viewer' })
          .setProtectedHeader({ alg, kid: 'ed-1' })
          .setIssuer(auth.issuer)
          .setAudience(auth.audience)
          .setSubject(userId)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(ed.privateKey);
        await expect(edVerifier.verify(token)).resolves.toMatchObject({ userId, role: 'viewer' });
      }
    }
  });

  it('rejects an Ed25519 token when only RS256 and ES256 are allowed', async () => {
    const ed = await generateKeyPair('Ed25519');
    const token = await new SignJWT({ tid: tenantId, role: 'viewer' })
      .setProtectedHeader({ alg: 'Ed25519', kid: 'ed-1' })
      .setIssuer('https://idp.example')
      .setAudience(auth.audience)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(ed.privateKey);
    const rsOnly = await createTokenVerifier({
      ...auth,
      issuer: 'https://idp.example',
      algorithms: ['RS256', 'ES256'],
      keys: { kind: 'jwksFile', file: path.join(tempDir, 'jwks.json') },
    });
    await expectRejected(token, 'unsupported_algorithm', rsOnly);
  });

  it('rejects a token whose kid is not in the set', async () => {
    await expectRejected(
      await signed('RS256', 'rsa-2', rsa.privateKey),
      'unknown_key',
      jwksVerifier,
    );
  });

  it('rejects a token signed by a key outside the set under a known kid', async () => {
    const stranger = await generateKeyPair('ES256');
    await expectRejected(
      await signed('ES256', 'ec-1', stranger.privateKey),
      'bad_signature',
      jwksVerifier,
    );
  });

  it('rejects an HS256 token keyed with the RSA public key (algorithm confusion)', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    for (const keyMaterial of [pem, JSON.stringify(await exportJWK(rsa.publicKey))]) {
      const token = await new SignJWT({ tid: tenantId, role: 'admin' })
        .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1', typ: 'JWT' })
        .setIssuer('https://idp.example')
        .setAudience(auth.audience)
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(keyMaterial));
      await expectRejected(token, 'unsupported_algorithm', jwksVerifier);
    }
  });

  it('rejects a development token', async () => {
    const token = await signDevToken(secret, auth, { userId, tenantId, role: 'admin' }, 60);
    await expectRejected(token, 'unsupported_algorithm', jwksVerifier);
  });
});

describe('createTokenVerifier with a JWKS URL', () => {
  let server: Server;
  let baseUrl: string;
  let rsa: CryptoKeyPair;
  let fetches = 0;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256');
    const jwks = JSON.stringify({
      keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'remote-1', alg: 'RS256' }],
    });
    server = createServer((request, response) => {
      fetches += 1;
      if (request.url !== '/jwks.json') {
        response.writeHead(500).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const remoteAuth = (url: string): Config['auth'] => ({
    ...auth,
    algorithms: ['RS256'],
    keys: { kind: 'jwksUrl', url },
  });

  async function remoteToken(kid: string): Promise<string> {
    return new SignJWT({ tid: tenantId, role: 'viewer' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(auth.issuer)
      .setAudience(auth.audience)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(rsa.privateKey);
  }

  it('fetches the set once and verifies tokens signed by its keys', async () => {
    const remote = await createTokenVerifier(remoteAuth(`${baseUrl}/jwks.json`));
    const before = fetches;
    await expect(remote.verify(await remoteToken('remote-1'))).resolves.toMatchObject({ userId });
    await expect(remote.verify(await remoteToken('remote-1'))).resolves.toMatchObject({ userId });
    expect(fetches - before).toBe(1);
    // An unknown kid within the cooldown does not refetch: no request amplification.
    await expectRejected(await remoteToken('remote-2'), 'unknown_key', remote);
    expect(fetches - before).toBe(1);
  });

  it('reports an unreachable or failing key set as key_unavailable, not as a bad token', async () => {
    const remote = await createTokenVerifier(remoteAuth(`${baseUrl}/missing.json`));
    await expectRejected(await remoteToken('remote-1'), 'key_unavailable', remote);
  });
});

/** A public JWK of `pair` under `kid`, as an identity provider publishes it. */
async function publicJwk(pair: CryptoKeyPair, kid: string, alg: string) {
  return { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
}

async function rsToken(pair: CryptoKeyPair, kid: string): Promise<string> {
  return new SignJWT({ tid: tenantId, role: 'member' })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(pair.privateKey);
}

/** Long enough for the verifier to look at the JWKS file again. */
const afterFileCheckInterval = () =>
  new Promise((resolve) => setTimeout(resolve, JWKS_FILE_CHECK_INTERVAL_MS + 100));

describe('key rotation without a restart: JWKS file', () => {
  let oldKey: CryptoKeyPair;
  let newKey: CryptoKeyPair;
  let file: string;
  const warnings: string[] = [];
  let rotating: TokenVerifier;

  beforeAll(async () => {
    oldKey = await generateKeyPair('RS256');
    newKey = await generateKeyPair('RS256');
    file = path.join(tempDir, 'rotating-jwks.json');
    await writeFile(file, JSON.stringify({ keys: [await publicJwk(oldKey, 'old', 'RS256')] }));
    rotating = await createTokenVerifier(
      { ...auth, algorithms: ['RS256'], keys: { kind: 'jwksFile', file } },
      {
        logger: createLogger(
          { logLevel: 'warn', env: 'test' },
          { write: (line: string) => void warnings.push(JSON.parse(line).msg) },
        ),
      },
    );
  });

  it('verifies a new key once it is added to the file, and stops verifying a removed one', async () => {
    await expect(rotating.verify(await rsToken(oldKey, 'old'))).resolves.toMatchObject({ userId });
    await expectRejected(await rsToken(newKey, 'new'), 'unknown_key', rotating);

    // Step 1 of a rotation: publish the new key beside the old one.
    await writeFile(
      file,
      JSON.stringify({
        keys: [await publicJwk(oldKey, 'old', 'RS256'), await publicJwk(newKey, 'new', 'RS256')],
      }),
    );
    await afterFileCheckInterval();
    await expect(rotating.verify(await rsToken(newKey, 'new'))).resolves.toMatchObject({ userId });
    await expect(rotating.verify(await rsToken(oldKey, 'old'))).resolves.toMatchObject({ userId });

    // Step 2: retire the old key.
    await writeFile(file, JSON.stringify({ keys: [await publicJwk(newKey, 'new', 'RS256')] }));
    await afterFileCheckInterval();
    await expectRejected(await rsToken(oldKey, 'old'), 'unknown_key', rotating);
    await expect(rotating.verify(await rsToken(newKey, 'new'))).resolves.toMatchObject({ userId });
  });

  it('stops accepting a token it has already verified once its key is removed', async () => {
    const token = await rsToken(newKey, 'new');
    await expect(rotating.verify(token)).resolves.toMatchObject({ userId });
    await writeFile(file, JSON.stringify({ keys: [await publicJwk(oldKey, 'old', 'RS256')] }));
    await afterFileCheckInterval();
    await expectRejected(token, 'unknown_key', rotating);
    // Back to the new key alone, for the tests below.
    await writeFile(file, JSON.stringify({ keys: [await publicJwk(newKey, 'new', 'RS256')] }));
    await afterFileCheckInterval();
    await expect(rotating.verify(token)).resolves.toMatchObject({ userId });
  });

  it('keeps the last good keys, with one warning, when the file becomes unusable', async () => {
    await writeFile(file, '{"keys": [');
    await afterFileCheckInterval();
    await expect(rotating.verify(await rsToken(newKey, 'new'))).resolves.toMatchObject({ userId });
    await afterFileCheckInterval();
    await expect(rotating.verify(await rsToken(newKey, 'new'))).resolves.toMatchObject({ userId });
    expect(warnings).toEqual([
      'JWKS file changed but could not be used; keeping the previous keys',
    ]);
  });

  it('does not look at the file again within the check interval', async () => {
    await writeFile(file, JSON.stringify({ keys: [await publicJwk(oldKey, 'old', 'RS256')] }));
    await afterFileCheckInterval();
    // This verification checks the file and picks up the change...
    await expect(rotating.verify(await rsToken(oldKey, 'old'))).resolves.toMatchObject({ userId });
    await writeFile(file, JSON.stringify({ keys: [await publicJwk(newKey, 'new', 'RS256')] }));
    // ...so a change right after it is not seen yet: unknown kids cannot force re-reads.
    await expectRejected(await rsToken(newKey, 'new'), 'unknown_key', rotating);
    await expect(rotating.verify(await rsToken(oldKey, 'old'))).resolves.toMatchObject({ userId });
    await afterFileCheckInterval();
    await expect(rotating.verify(await rsToken(newKey, 'new'))).resolves.toMatchObject({ userId });
  });
});

describe('key rotation without a restart: JWKS URL', () => {
  let server: Server;
  let url: string;
  let served: string;
  let fetches = 0;

  beforeAll(async () => {
    server = createServer((_request, response) => {
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(served);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('refetches the set for an unknown kid once the 30-second cooldown has passed', async () => {
    const oldKey = await generateKeyPair('RS256');
    const newKey = await generateKeyPair('RS256');
    served = JSON.stringify({ keys: [await publicJwk(oldKey, 'old', 'RS256')] });
    const remote = await createTokenVerifier({
      ...auth,
      algorithms: ['RS256'],
      keys: { kind: 'jwksUrl', url },
    });
    // Only `Date` is faked: jose's cache and cooldown read it; sockets and timers stay real.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });

    await expect(remote.verify(await rsToken(oldKey, 'old'))).resolves.toMatchObject({ userId });
    expect(fetches).toBe(1);

    // The identity provider rotates: the old key is gone, the new one signs.
    served = JSON.stringify({ keys: [await publicJwk(newKey, 'new', 'RS256')] });
    vi.setSystemTime(Date.now() + 29_000);
    await expectRejected(await rsToken(newKey, 'new'), 'unknown_key', remote);
    await expectRejected(await rsToken(newKey, 'new'), 'unknown_key', remote);
    expect(fetches).toBe(1);

    vi.setSystemTime(Date.now() + 2_000);
    await expect(remote.verify(await rsToken(newKey, 'new'))).resolves.toMatchObject({ userId });
    expect(fetches).toBe(2);
    // The refetched set no longer holds the old key, and the cooldown stops a second refetch.
    await expectRejected(await rsToken(oldKey, 'old'), 'unknown_key', remote);
    await expectRejected(await rsToken(oldKey, 'old'), 'unknown_key', remote);
    expect(fetches).toBe(2);
  });
});
