/**
 * The app on a real PostgreSQL behind a fault proxy (test/helpers/fault-proxy.ts), for the
 * network faults a `pg_ctl stop` cannot show: a network that goes silent with connections
 * open, a proxy that accepts and closes, connections reset under running requests, and a
 * COMMIT whose answer never arrives.
 *
 * For each: every request is answered (503 or 504 with a numeric Retry-After) within its
 * execution deadline and a margin, none hangs; the circuit breaker opens and then refuses
 * without opening a connection; after the network heals, service comes back within the
 * breaker's reset time, in the same process. A createOrder caught mid-COMMIT and retried with
 * its key makes exactly one order.
 *
 * Also here: the idempotency-key expiry job during an outage (through the breaker, backing
 * off, one log line when it starts and one when it ends) and with migrations run by a role
 * other than the app's.
 *
 * Needs DATABASE_URL (CI's PostgreSQL pass); skipped on PGlite, which has no network.
 */

import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { DEMO_TENANTS, seedDatabase } from '../../src/db/seed.ts';
import {
  deleteExpiredIdempotencyKeys,
  startIdempotencyKeyExpiry,
} from '../../src/idempotency/expiry.ts';
import { CREATE_ORDER } from '../fixtures/operations.ts';
import { type AppOnDatabase, type DemoUserName, startAppOnDatabase } from '../helpers/app.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const serverUrl = process.env.DATABASE_URL;

/** Small limits, so that each fault plays out in seconds. */
const EXECUTION_TIMEOUT_MS = 1_500;
const RESET_MS = 1_500;
const SETTINGS = {
  EXECUTION_TIMEOUT_MS: String(EXECUTION_TIMEOUT_MS),
  STATEMENT_TIMEOUT_MS: '500',
  DB_POOL_TIMEOUT_MS: '1000',
  DB_CONNECT_TIMEOUT_MS: '1000',
  DB_POOL_MAX: '4',
  DB_CIRCUIT_FAILURES: '3',
  DB_CIRCUIT_RESET_MS: String(RESET_MS),
  IDEMPOTENCY_WAIT_MS: '1000',
};
/** A client timeout that tells a hung request from an answered one; not a speed limit. */
const HANG_MS = EXECUTION_TIMEOUT_MS + 3_000;

const PRODUCTS = /* GraphQL */ `
  query Products {
    products(first: 5) { nodes { id stock } }
  }
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Reply {
  status: number;
  retryAfter: string | null;
  codes: unknown[];
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

/** A database of its own on the CI server, migrated and seeded; dropped by `drop`. */
async function createDatabase(owner?: string) {
  const name = `orders_fault_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl as string, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}${owner ? ` owner ${owner}` : ''}`);
  const url = new URL(serverUrl as string);
  url.pathname = `/${name}`;
  return {
    name,
    url,
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

describe.skipIf(!serverUrl)('the app behind a faulty network to PostgreSQL', () => {
  let created: Awaited<ReturnType<typeof createDatabase>>;
  let proxy: FaultProxy;
  let started: AppOnDatabase;
  let database: Database;
  let app: App;
  let token: string;
  let productId: string;
  let direct: postgres.Sql;

  const post = async (query: string, variables: Record<string, unknown> = {}): Promise<Reply> => {
    const request = Promise.resolve(
      app.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      }),
    ).then(async (response) => {
      const body = (await response.json()) as Reply['body'];
      return {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        codes: (body.errors ?? []).map((error) => error.extensions?.code),
        body,
      };
    });
    const hang = sleep(HANG_MS).then(() => {
      throw new Error(`no answer within ${HANG_MS} ms: the request hung`);
    });
    return Promise.race([request, hang]);
  };

  const createOrder = (clientMutationId: string) =>
    post(CREATE_ORDER, { input: { clientMutationId, items: [{ productId, quantity: 1 }] } });

  /** Every reply is a 503 or 504 with a numeric Retry-After and a stable code. */
  const expectRefusedInTime = (replies: Reply[]) => {
    for (const reply of replies) {
      expect([503, 504]).toContain(reply.status);
      expect(reply.retryAfter).toMatch(/^\d+$/);
      expect(['SERVICE_UNAVAILABLE', 'TIMEOUT']).toContain(reply.codes[0]);
    }
  };

  /** Requests until the breaker has opened (each one answered in time). */
  const failUntilOpen = async () => {
    for (let i = 0; i < 20 && database.circuit.state !== 'open'; i++) {
      expectRefusedInTime([await post(PRODUCTS)]);
    }
    expect(database.circuit.state).toBe('open');
  };

  /** While open: refused at once, and no connection is even attempted. */
  const expectFastFailure = async () => {
    const attempts = proxy.accepted;
    const reply = await post(PRODUCTS);
    expect(reply.status).toBe(503);
    expect(reply.codes).toEqual(['SERVICE_UNAVAILABLE']);
    expect(Number(reply.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(reply.retryAfter)).toBeLessThanOrEqual(Math.ceil(RESET_MS / 1000));
    expect(proxy.accepted).toBe(attempts);
  };

  /** After healing: served again within the reset time (and a margin), same process. */
  const expectRecovery = async () => {
    let reply: Reply | undefined;
    for (let i = 0; i < 40; i++) {
      reply = await post(PRODUCTS);
      if (reply.status === 200) break;
      await sleep(RESET_MS / 10);
    }
    expect(reply?.status).toBe(200);
    expect(database.circuit.state).toBe('closed');
  };

  beforeAll(async () => {
    created = await createDatabase();
    const setup = await openDatabase({ kind: 'postgres', url: created.url.toString(), poolMax: 2 });
    await setup.migrate();
    await seedDatabase(setup.db, { scale: 1 });
    await setup.close();
    direct = postgres(created.url.toString(), { max: 1, onnotice: () => {} });

    proxy = await startFaultProxy({
      host: created.url.hostname,
      port: Number(created.url.port || 5432),
    });
    const proxied = new URL(created.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    started = await startAppOnDatabase(proxied.toString(), SETTINGS);
    ({ app, database } = started);
    token = await started.token('acme/alice');
    const products = (await post(PRODUCTS)).body.data?.products as {
      nodes: { id: string; stock: number }[];
    };
    productId = products.nodes.find((product) => product.stock >= 10)?.id as string;
  });

  afterAll(async () => {
    await started?.close();
    await proxy?.close();
    await direct?.end();
    await created?.drop();
  });

  it('silent network, connections open: bounded 503/504s, then fast failures, then recovery', async () => {
    // Every pooled connection in use first, so the silence catches open connections.
    await Promise.all(Array.from({ length: 4 }, () => post(PRODUCTS)));
    proxy.setMode('silent');
    expectRefusedInTime(await Promise.all(Array.from({ length: 6 }, () => post(PRODUCTS))));
    await failUntilOpen();
    await expectFastFailure();
    proxy.setMode('forward');
    await expectRecovery();
  });

  it('a proxy that accepts and closes: bounded 503s (no endless reconnecting), then recovery', async () => {
    proxy.dropConnections();
    proxy.setMode('accept-close');
    const before = proxy.accepted;
    expectRefusedInTime(await Promise.all(Array.from({ length: 6 }, () => post(PRODUCTS))));
    await failUntilOpen();
    // A handful of attempts per request at most, not a reconnect loop.
    await sleep(500);
    const attempts = proxy.accepted - before;
    await sleep(500);
    expect(proxy.accepted - before).toBe(attempts);
    await expectFastFailure();
    proxy.setMode('forward');
    await expectRecovery();
  });

  it('connections reset under running requests: bounded 503s, then fast failures, then recovery', async () => {
    proxy.setMode('silent');
    const running = Promise.all(Array.from({ length: 6 }, () => post(PRODUCTS)));
    await sleep(200);
    proxy.dropConnections();
    proxy.setMode('accept-close');
    expectRefusedInTime(await running);
    await failUntilOpen();
    await expectFastFailure();
    proxy.setMode('forward');
    await expectRecovery();
  });

  const keysNamed = async (key: string) => {
    const rows = await direct<{ n: number }[]>`
      select count(*)::int as n from idempotency_keys where key = ${key}`;
    return rows[0]?.n;
  };
  const orderCount = async () =>
    (await direct<{ n: number }[]>`select count(*)::int as n from orders`)[0]?.n as number;

  /** /readyz until it answers 200 (bounded): the pool has a working connection again. */
  const readyAgain = async () => {
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await app.fetch('http://localhost/readyz')).status;
      if (status !== 200) await sleep(RESET_MS / 10);
    }
    expect(status).toBe(200);
  };

  /** Retries with the same key until the server has an answer (bounded). */
  const retryUntilAnswered = async (key: string) => {
    let reply: Reply | undefined;
    for (let i = 0; i < 30; i++) {
      reply = await createOrder(key);
      if (reply.status === 200) return reply;
      // In progress (the first attempt still holds its key) or the breaker: try again later.
      expect(['SERVICE_UNAVAILABLE', 'TIMEOUT', 'IDEMPOTENCY_IN_PROGRESS']).toContain(
        reply.codes[0],
      );
      await sleep(RESET_MS / 5);
    }
    return reply as Reply;
  };

  it.each([
    ['reached PostgreSQL (committed, answer lost)', true],
    ['never reached PostgreSQL (not committed)', false],
  ])(
    'a createOrder whose COMMIT %s, retried with its key, makes exactly one order',
    async (_, delivered) => {
      await expectRecovery();
      // New connections: the first COMMIT on a connection carries its text, which the proxy
      // recognises (later ones reuse the prepared statement). /readyz reconnects without a
      // transaction (no COMMIT), so the mutation's COMMIT is its connection's first, and no
      // pooled connection the drop killed is left for the mutation to meet. (The caller's plan
      // was read by expectRecovery and is cached: no other transaction comes first.)
      proxy.dropConnections();
      await readyAgain();
      const key = newClientMutationId('mid-commit');
      const before = await orderCount();
      const silenced = proxy.silenceAfter('commit\0', { deliver: delivered });
      const first = await createOrder(key);
      // Caught at the COMMIT, not before it (a test that never got there proves nothing).
      await Promise.race([
        silenced,
        sleep(HANG_MS).then(() => Promise.reject(new Error('no COMMIT seen'))),
      ]);
      // Timed out waiting (504), or the silent connection was destroyed first (503).
      expectRefusedInTime([first]);
      expect(first.body.errors?.[0]?.message).toMatch(/whether it applied is unknown/);
      proxy.setMode('forward');

      const retried = await retryUntilAnswered(key);
      expect(retried.status).toBe(200);
      const orderOf = (reply: Reply) =>
        (reply.body.data?.createOrder as { order: { id: string } } | undefined)?.order.id;
      const orderId = orderOf(retried);
      expect(orderId).toEqual(expect.any(String));
      // Once more: the same order, still one.
      const again = await retryUntilAnswered(key);
      expect(orderOf(again)).toBe(orderId);
      expect(await orderCount()).toBe(before + 1);
      expect(await keysNamed(key)).toBe(1);
    },
  );

  it('runs the expiry job through the breaker: backs off in an outage, logs its start and end once', async () => {
    await expectRecovery();
    // One expired key (written as the superuser the tests connect as), to see the job work.
    await direct`
      insert into idempotency_keys (tenant_id, user_id, mutation, key, fingerprint, expires_at)
      select tenant_id, id, 'createOrder', 'expired-fault-key', 'fingerprint',
             now() - interval '1 hour'
      from users limit 1`;
    const lines: { msg: string; level: number }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    );
    proxy.dropConnections();
    proxy.setMode('accept-close');
    const job = startIdempotencyKeyExpiry({
      database,
      intervalMs: 50,
      batchSize: 100,
      timeoutMs: 1_000,
      logger,
    });
    try {
      await sleep(RESET_MS * 2);
      // Attempts are the breaker's probes and backed-off runs, not one per 50 ms.
      expect(proxy.accepted).toBeGreaterThan(0);
      const during = lines.map((line) => line.msg);
      expect(during).toEqual(['idempotency-key expiry: database unavailable, backing off']);
      proxy.setMode('forward');
      for (let i = 0; i < 100 && lines.length < 2; i++) await sleep(100);
      expect(lines.map((line) => line.msg)).toEqual([
        'idempotency-key expiry: database unavailable, backing off',
        'idempotency-key expiry: database available again, resumed',
      ]);
      expect(await keysNamed('expired-fault-key')).toBe(0);
    } finally {
      job.stop();
    }
  });
});

/** `url` with `role` as its user (the CI cluster trusts loopback connections). */
function asRoleUrl(url: URL, role: string): string {
  const copy = new URL(url);
  copy.username = role;
  return copy.toString();
}

describe.skipIf(!serverUrl)(
  "roles: the tables' owner is not a superuser, the app may be another role",
  () => {
    const suffix = randomBytes(4).toString('hex');
    const migrator = `orders_migrator_${suffix}`;
    const appLogin = `orders_login_${suffix}`;
    let created: Awaited<ReturnType<typeof createDatabase>>;
    let admin: postgres.Sql;
    /** Set by the first test, which migrates and seeds as the migrating role. */
    let seeded = false;

    beforeAll(async () => {
      admin = postgres(serverUrl as string, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create role ${migrator} login nosuperuser createrole`);
      await admin.unsafe(`create role ${appLogin} login nosuperuser`);
      created = await createDatabase(migrator);
    });

    afterAll(async () => {
      await created?.drop();
      await admin.unsafe(`drop role if exists ${appLogin}`);
      await admin.unsafe(`drop owned by ${migrator} cascade`).catch(() => {});
      await admin.unsafe(`drop role if exists ${migrator}`);
      await admin.end();
    });

    it("finds a tenant's plan when the app connects as the tables' owner, not a superuser", async () => {
      const migrating = await openDatabase({
        kind: 'postgres',
        url: asRoleUrl(created.url, migrator),
        poolMax: 1,
      });
      await migrating.migrate();
      await seedDatabase(migrating.db, { scale: 1 });
      await migrating.close();
      seeded = true;
      // Row-level security is FORCE'd on tenants, so it holds for their non-superuser owner.
      const owner = await startAppOnDatabase(asRoleUrl(created.url, migrator));
      try {
        const budgetOf = async (user: DemoUserName) => {
          const token = await owner.token(user);
          const response = await owner.app.fetch('http://localhost/graphql', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: '{ rateLimit { maximumAvailable } }' }),
          });
          const body = (await response.json()) as {
            data: { rateLimit: { maximumAvailable: number } };
          };
          return body.data.rateLimit.maximumAvailable;
        };
        // acme is on the pro plan (2,000 points), globex on free (1,000).
        expect(await budgetOf('acme/alice')).toBe(owner.config.cost.budgets.pro.size);
        expect(await budgetOf('globex/dave')).toBe(owner.config.cost.budgets.free.size);
      } finally {
        await owner.close();
      }
    });

    it('deletes expired keys when the app connects as a role that did not run the migrations', async () => {
      expect(seeded).toBe(true);
      const asRole = (role: string) => asRoleUrl(created.url, role);
      // The migrating role is subject to its own row-level security: it writes as a tenant.
      const asMigrator = postgres(asRole(migrator), { max: 1, onnotice: () => {} });
      const tenant = DEMO_TENANTS[0] as (typeof DEMO_TENANTS)[number];
      await asMigrator.begin(async (sql) => {
        await sql`select set_config('app.tenant_id', ${tenant.id}, true)`;
        for (const user of tenant.users.slice(0, 2)) {
          await sql`
          insert into idempotency_keys (tenant_id, user_id, mutation, key, fingerprint, expires_at)
          values (${tenant.id}, ${user.id}, 'createOrder', 'expired', 'fingerprint',
                  now() - interval '1 hour')`;
        }
      });
      await asMigrator.end();

      const app = await openDatabase({ kind: 'postgres', url: asRole(appLogin), poolMax: 1 });
      try {
        expect(await deleteExpiredIdempotencyKeys(app.db, 1)).toBe(1);
        expect(await deleteExpiredIdempotencyKeys(app.db, 100)).toBe(1);
        expect(await deleteExpiredIdempotencyKeys(app.db, 100)).toBe(0);
      } finally {
        await app.close();
      }
    });
  },
);
