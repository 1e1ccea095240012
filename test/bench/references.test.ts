/**
 * The reference servers of bench/references/ must do our server's work for OrderList and no
 * other: the same configuration, the same token check, a schema that runs the same document
 * with the same names, and ours' cursors. (The bench itself also compares the servers' `data`
 * before every load, on the scale-100 data.)
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  buildSchema,
  type GraphQLField,
  type GraphQLInputObjectType,
  type GraphQLNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  parse,
  validate,
} from 'graphql';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderCursor, readOrderListOperation } from '../../bench/references/order-list.ts';
import { schema as referenceSdl } from '../../bench/references/order-list-schema.ts';
import { durationSeconds, readReferenceSettings } from '../../bench/references/settings.ts';
import {
  createTokenCheck,
  mayReadOrderList,
  type ReferenceViewer,
  Unauthenticated,
} from '../../bench/references/token.ts';
import { persistedOperation } from '../../bench/scenarios.ts';
import { loadOrCreateDevKey, signDevToken } from '../../src/auth/dev-key.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import type { Viewer } from '../../src/auth/viewer.ts';
import { loadConfig } from '../../src/config.ts';
import { parseManifest } from '../../src/persisted-operations/manifest.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const DATABASE_URL = 'postgres://bench@127.0.0.1:5432/orders';

describe('readReferenceSettings', () => {
  /** What our server's configuration says about the settings a reference shares with it. */
  function oursFor(env: Record<string, string>) {
    const config = loadConfig(env);
    if (config.database.kind !== 'postgres' || config.auth.keys.kind !== 'devKey') {
      throw new Error('expected PostgreSQL and the development key');
    }
    return {
      port: config.port,
      host: config.host,
      databaseUrl: config.database.url,
      poolMax: config.database.poolMax,
      statementTimeoutMs: config.database.statementTimeoutMs,
      signingKeyFile: config.auth.keys.file,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      clockToleranceSeconds: config.auth.clockToleranceSeconds,
      maxTokenLifetimeSeconds: config.auth.maxTokenLifetimeSeconds,
      manifestFile: config.persistedOperations.manifestFile,
    };
  }

  it("has our server's defaults", () => {
    const env = { DATABASE_URL, DATA_DIR: '/tmp/bench-data' };
    expect(readReferenceSettings(env)).toEqual(oursFor(env));
    expect(readReferenceSettings(env).poolMax).toBe(10);
  });

  it('reads the variables our server reads, as it reads them', () => {
    const env = {
      DATABASE_URL,
      DATA_DIR: 'relative/data',
      PORT: '4123',
      HOST: '0.0.0.0',
      DB_POOL_MAX: '7',
      STATEMENT_TIMEOUT_MS: '0',
      JWT_ISSUER: 'issuer',
      JWT_AUDIENCE: 'audience',
      JWT_CLOCK_TOLERANCE_SECONDS: '5',
      JWT_MAX_TOKEN_LIFETIME: '24h',
      PERSISTED_OPERATIONS_MANIFEST: 'persisted-queries/manifest.json',
    };
    expect(readReferenceSettings(env)).toEqual(oursFor(env));
    // An empty variable is unset, as for our server.
    expect(readReferenceSettings({ ...env, DB_POOL_MAX: '' }).poolMax).toBe(10);
  });

  it('needs DATABASE_URL and refuses a JWKS the references cannot verify with', () => {
    expect(() => readReferenceSettings({})).toThrow('DATABASE_URL');
    expect(() => readReferenceSettings({ DATABASE_URL, JWT_JWKS_URL: 'https://x' })).toThrow(
      'development tokens only',
    );
  });

  it('reads token lifetimes in seconds or with a unit', () => {
    expect(['900', '90s', '15m', '2h', '1d'].map((value) => durationSeconds('X', value))).toEqual([
      900, 90, 900, 7200, 86_400,
    ]);
    expect(() => durationSeconds('JWT_MAX_TOKEN_LIFETIME', '1w')).toThrow(
      'JWT_MAX_TOKEN_LIFETIME must be seconds or a duration such as 15m, got "1w".',
    );
  });
});

describe("the references' schema", () => {
  let ours: ReturnType<typeof buildSchema>;
  const reference = buildSchema(referenceSdl);

  beforeAll(async () => {
    ours = buildSchema(await readFile('schema.graphql', 'utf8'));
  });

  it('runs the persisted OrderList document unchanged', async () => {
    const operation = await readOrderListOperation(path.resolve('persisted-queries/manifest.json'));
    expect(validate(reference, parse(operation.document))).toEqual([]);
  });

  /** Every field (or input field, or enum value) of a type with its type and arguments. */
  function shapeOf(type: GraphQLNamedType | undefined): Record<string, string> | string {
    if (type === undefined) return '(missing)';
    if (isEnumType(type)) {
      return Object.fromEntries(type.getValues().map((value) => [value.name, value.name]));
    }
    if (isInputObjectType(type)) {
      return Object.fromEntries(
        Object.values((type as GraphQLInputObjectType).getFields()).map((field) => [
          field.name,
          `${field.type}${field.defaultValue === undefined ? '' : ` = ${String(field.defaultValue)}`}`,
        ]),
      );
    }
    if (isObjectType(type) || isInterfaceType(type)) {
      const fields = Object.values(type.getFields()) as GraphQLField<unknown, unknown>[];
      return Object.fromEntries(
        fields.map((field) => [
          field.name,
          `(${field.args.map((arg) => `${arg.name}: ${arg.type}`).join(', ')}): ${field.type}`,
        ]),
      );
    }
    return type.name;
  }

  it('names every type, field, argument and enum value as ours does, with the same types', () => {
    for (const [name, type] of Object.entries(reference.getTypeMap())) {
      if (name.startsWith('__') || ['String', 'Int', 'Boolean', 'ID'].includes(name)) continue;
      const mine = shapeOf(type);
      const theirs = shapeOf(ours.getType(name) ?? undefined);
      if (typeof mine === 'string') {
        expect(theirs, name).toBe(mine);
        continue;
      }
      // The reference may leave fields out, never add or change one.
      for (const [field, signature] of Object.entries(mine)) {
        expect(`${name}.${field}${(theirs as Record<string, string>)[field] ?? ' (missing)'}`).toBe(
          `${name}.${field}${signature}`,
        );
      }
    }
  });

  it('declares every value of the enums OrderList returns, and every argument of orders', () => {
    for (const name of ['OrderStatus', 'Currency']) {
      expect(shapeOf(reference.getType(name) ?? undefined)).toEqual(
        shapeOf(ours.getType(name) ?? undefined),
      );
    }
    const args = (schema: ReturnType<typeof buildSchema>) =>
      schema
        .getQueryType()
        ?.getFields()
        .orders?.args.map((arg) => `${arg.name}: ${arg.type}`);
    expect(args(reference)).toEqual(args(ours));
  });
});

describe('readOrderListOperation', () => {
  it("finds OrderList's documentId and document in the manifest, as the bench sends them", async () => {
    const file = path.resolve('persisted-queries/manifest.json');
    const manifest = parseManifest(await readFile(file, 'utf8'), 'manifest.json');
    expect(await readOrderListOperation(file)).toEqual(persistedOperation(manifest, 'OrderList'));
  });
});

describe('the token check', () => {
  const env = { DATABASE_URL, JWT_MAX_TOKEN_LIFETIME: '1h' };
  const alice = {
    userId: 'usr_01hk242g70e008000009a0qs01',
    tenantId: 'ten_01hk240nm0e008000000000001',
  };
  let config: ReturnType<typeof loadConfig>;
  let secret: Uint8Array;
  let verifyOurs: (token: string) => Promise<Viewer>;
  let verifyReference: (header: string | undefined) => Promise<ReferenceViewer>;

  beforeAll(async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-references-'));
    config = loadConfig({ ...env, DATA_DIR: dataDir });
    if (config.auth.keys.kind !== 'devKey') throw new Error('expected the development key');
    secret = await loadOrCreateDevKey(config.auth.keys.file);
    verifyOurs = (await createTokenVerifier(config.auth)).verify;
    verifyReference = await createTokenCheck(readReferenceSettings({ ...env, DATA_DIR: dataDir }));
  });

  const now = () => Math.floor(Date.now() / 1000);
  /** A token with the claims our `npm run token` writes, then `change` applied. */
  function token(change: (jwt: SignJWT) => SignJWT = (jwt) => jwt, claims: object = {}) {
    const jwt = new SignJWT({ tid: alice.tenantId, role: 'admin', ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(config.auth.issuer)
      .setAudience(config.auth.audience)
      .setSubject(alice.userId)
      .setIssuedAt(now())
      .setExpirationTime(now() + 600);
    return change(jwt).sign(secret);
  }

  async function outcome(
    check: () => Promise<{
      userId: string | null;
      apiKeyId?: string | null;
      tenantId: string;
      role: string | null;
      scopes: ReadonlySet<string>;
    }>,
  ) {
    try {
      // The reference server takes JWTs only: API keys (`apiKeyId`) are ours alone.
      const { apiKeyId: _apiKeyId, ...viewer } = await check();
      return { ...viewer, scopes: [...viewer.scopes].sort() };
    } catch (error) {
      return (error as Error).name;
    }
  }

  it('accepts and refuses exactly the tokens ours does, with the same viewer', async () => {
    const tokens = {
      valid: await signDevToken(secret, config.auth, { ...alice, role: 'admin' }, 600),
      narrowed: await signDevToken(
        secret,
        config.auth,
        { ...alice, role: 'member', scopes: ['read:orders', 'write:products'] },
        600,
      ),
      expired: await token((jwt) => jwt.setIssuedAt(now() - 900).setExpirationTime(now() - 60)),
      wrongAudience: await token((jwt) => jwt.setAudience('someone-else')),
      wrongIssuer: await token((jwt) => jwt.setIssuer('someone-else')),
      tooLongLived: await token((jwt) => jwt.setExpirationTime(now() + 7200)),
      issuedInTheFuture: await token((jwt) =>
        jwt.setIssuedAt(now() + 600).setExpirationTime(now() + 900),
      ),
      unknownRole: await token(undefined, { role: 'owner' }),
      notAUserId: await token((jwt) => jwt.setSubject('alice')),
      otherSecret: await new SignJWT({ tid: alice.tenantId, role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(config.auth.issuer)
        .setAudience(config.auth.audience)
        .setSubject(alice.userId)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new Uint8Array(32).fill(7)),
    };
    const results: Record<string, [unknown, unknown]> = {};
    for (const [name, jwt] of Object.entries(tokens)) {
      results[name] = [
        await outcome(() => verifyOurs(jwt)),
        await outcome(() => verifyReference(`Bearer ${jwt}`)),
      ];
    }
    for (const [name, [oursSays, referenceSays]] of Object.entries(results)) {
      const expected = oursSays === 'TokenRejectedError' ? 'Unauthenticated' : oursSays;
      expect({ name, says: referenceSays }).toEqual({ name, says: expected });
    }
    expect(results.valid?.[1]).toMatchObject({ ...alice, role: 'admin' });
    expect(results.narrowed?.[1]).toMatchObject({ role: 'member', scopes: ['read:orders'] });
    expect(results.expired?.[1]).toBe('Unauthenticated');
  });

  it('takes only a Bearer header', async () => {
    const jwt = await token();
    await expect(verifyReference(`Bearer ${jwt}`)).resolves.toMatchObject(alice);
    for (const header of [undefined, jwt, `Basic ${jwt}`, `Bearer ${jwt} extra`]) {
      await expect(verifyReference(header)).rejects.toThrow(Unauthenticated);
    }
  });

  it("serves the page to readers of the tenant's orders and products only", () => {
    const viewer = (role: ReferenceViewer['role'], scopes: string[]) =>
      ({ ...alice, role, scopes: new Set(scopes) }) as ReferenceViewer;
    expect(mayReadOrderList(viewer('admin', ['read:orders', 'read:products']))).toBe(true);
    expect(mayReadOrderList(viewer('member', ['read:orders', 'read:products']))).toBe(true);
    expect(mayReadOrderList(viewer('viewer', ['read:orders', 'read:products']))).toBe(false);
    expect(mayReadOrderList(viewer('member', ['read:products']))).toBe(false);
    expect(mayReadOrderList(viewer('admin', ['read:orders']))).toBe(false);
  });
});

describe('orderCursor', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp({ env: { MAX_COST: '5000', PERSISTED_OPERATIONS: 'allow' } });
  });

  afterAll(() => testApp.close());

  it("is the cursor ours gives the page's last order", async () => {
    const operation = await readOrderListOperation(testApp.config.persistedOperations.manifestFile);
    const response = await testApp.send({ documentId: operation.documentId }, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    const { nodes, pageInfo } = response.body.data?.orders ?? {};
    const last = nodes.at(-1);
    expect(pageInfo.endCursor).toBeTypeOf('string');
    expect(orderCursor({ id: last.id, created_at: new Date(last.createdAt) })).toBe(
      pageInfo.endCursor,
    );
  });
});
