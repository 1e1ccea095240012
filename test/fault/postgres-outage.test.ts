/**
 * The fault test (CI runs it against its throwaway PostgreSQL 15): the real server runs on a
 * real cluster, and the cluster is stopped under it (pg_ctl stop -m fast, through
 * scripts/pg-throwaway.sh stop-server) and started again.
 *
 * - While PostgreSQL is down, every request is answered 503 SERVICE_UNAVAILABLE with a
 *   numeric Retry-After, and none hangs: each request has a client timeout, which detects a
 *   hang and is no speed limit. (How fast the answers were is printed, not asserted.)
 * - When PostgreSQL is back, the same server process serves again: no restart.
 * - Every order committed before the outage is still there afterwards.
 *
 * Runs only with FAULT_TEST=1, PG_THROWAWAY_DIR and DATABASE_URL (as .ci/run sets them):
 * it stops the cluster that DATABASE_URL names, which no other test may share meanwhile.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/auth/dev-token.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';
import { seedDatabase } from '../../src/db/seed.ts';
import { newClientMutationId } from '../helpers/keys.ts';
import {
  EXIT_TIMEOUT_MS,
  exitOf,
  isReady,
  killServers,
  type RawResponse,
  requestOnce,
  type ServerProcess,
  STARTUP_TIMEOUT_MS,
  startServer,
  waitForLog,
} from '../helpers/server-process.ts';

const enabled = process.env.FAULT_TEST === '1';
const script = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../scripts/pg-throwaway.sh',
);

/** The client timeout that tells a hung request from an answered one. */
const HANG_MS = 5_000;
const ORDERS_BEFORE_OUTAGE = 5;

const PRODUCTS = /* GraphQL */ `
  query Products {
    products(first: 20) { nodes { id stock } }
  }
`;

const CREATE_ORDER = /* GraphQL */ `
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) {
      order { id }
      userErrors { code message }
    }
  }
`;

const ORDER = /* GraphQL */ `
  query Order($id: ID!) {
    order(id: $id) { id }
  }
`;

async function cluster(command: 'stop-server' | 'start-server') {
  await promisify(execFile)('bash', [script, command, process.env.PG_THROWAWAY_DIR as string]);
}

describe.skipIf(!enabled)('PostgreSQL stopped and started under a running server', () => {
  const name = `orders_fault_${randomBytes(6).toString('hex')}`;
  let admin: postgres.Sql;
  let dataDir: string;
  let server: ServerProcess;
  let token: string;
  let productId: string;
  const committed: string[] = [];
  let ordersBefore: number;

  const graphql = (query: string, variables: Record<string, unknown> = {}) =>
    requestOnce(
      server.port,
      {
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      },
      HANG_MS,
    );

  const createOrder = () =>
    graphql(CREATE_ORDER, {
      input: {
        clientMutationId: newClientMutationId('fault'),
        items: [{ productId, quantity: 1 }],
      },
    });

  const countOrders = async () =>
    Number((await admin.unsafe(`select count(*) as n from orders`))[0]?.n);

  beforeAll(async () => {
    if (!process.env.PG_THROWAWAY_DIR || !process.env.DATABASE_URL) {
      throw new Error('FAULT_TEST=1 needs PG_THROWAWAY_DIR and DATABASE_URL (pg-throwaway.sh)');
    }
    const serverUrl = new URL(process.env.DATABASE_URL);
    const bootstrap = postgres(serverUrl.toString(), { max: 1, onnotice: () => {} });
    await bootstrap.unsafe(`create database ${name}`);
    await bootstrap.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    admin = postgres(url.toString(), { max: 1, onnotice: () => {} });

    // The demo data, so that there are tenants, users and products to order.
    const database = await openDatabase({ kind: 'postgres', url: url.toString(), poolMax: 2 });
    await database.migrate();
    await seedDatabase(database.db, { scale: 1 });
    await database.close();

    dataDir = await mkdtemp(path.join(tmpdir(), 'orders-fault-'));
    server = await startServer({ DATA_DIR: dataDir, DATABASE_URL: url.toString() });
    await waitForLog(server, isReady);
    token = await mintDevToken(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }), {
      tenant: 'acme',
      user: 'alice',
    });
    const products = JSON.parse((await graphql(PRODUCTS)).body).data.products.nodes as {
      id: string;
      stock: number;
    }[];
    productId = products.find((product) => product.stock >= 2 * ORDERS_BEFORE_OUTAGE)!.id;
  }, STARTUP_TIMEOUT_MS);

  afterAll(async () => {
    killServers();
    // Whatever happened, the cluster is left running for the steps after this one.
    await cluster('start-server').catch(() => {});
    await admin?.end();
    if (process.env.DATABASE_URL) {
      const cleanup = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, EXIT_TIMEOUT_MS);

  it('commits orders while PostgreSQL is up', async () => {
    for (let i = 0; i < ORDERS_BEFORE_OUTAGE; i++) {
      const response = await createOrder();
      const payload = JSON.parse(response.body).data.createOrder;
      expect([response.status, payload.userErrors]).toEqual([200, []]);
      committed.push(payload.order.id);
    }
    ordersBefore = await countOrders();
    expect(new Set(committed).size).toBe(ORDERS_BEFORE_OUTAGE);
  });

  it(
    'answers every request with 503 and a Retry-After while PostgreSQL is stopped; none hangs',
    async () => {
      await cluster('stop-server');
      const timed = async (send: () => Promise<RawResponse>) => {
        const started = performance.now();
        const response = await send();
        return { response, ms: performance.now() - started };
      };
      const sends = [
        () => graphql(PRODUCTS),
        () => createOrder(),
        () => graphql(ORDER, { id: committed[0] }),
      ];
      const results = [];
      // One after another: the first few fail on a refused connection and open the circuit.
      for (let i = 0; i < 12; i++) results.push(await timed(sends[i % sends.length]!));
      // Then a burst at once, answered by the open circuit.
      results.push(...(await Promise.all(sends.flatMap((send) => [send, send]).map(timed))));

      for (const { response } of results) {
        const body = JSON.parse(response.body);
        expect(response.status).toBe(503);
        expect(
          body.errors.map((error: { extensions: { code: string } }) => error.extensions.code),
        ).toEqual(['SERVICE_UNAVAILABLE']);
        expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        expect(body.errors[0].extensions.retryAfterSeconds).toBe(
          Number(response.headers['retry-after']),
        );
      }
      const readiness = await requestOnce(server.port, { path: '/readyz' }, HANG_MS);
      expect([readiness.status, JSON.parse(readiness.body)]).toEqual([
        503,
        { status: 'unavailable', reason: 'database unreachable' },
      ]);
      const health = await requestOnce(server.port, { path: '/healthz' }, HANG_MS);
      expect(health.status).toBe(200);
      expect(
        server
          .logs()
          .filter(
            (log) => log.msg === 'database unreachable: circuit open, requests fail fast with 503',
          ),
      ).toHaveLength(1);

      const ms = results.map((result) => result.ms).sort((a, b) => a - b);
      console.info(
        `fault test: ${ms.length} requests during the outage, all 503; ` +
          `latency min ${ms[0]?.toFixed(1)} ms, median ${ms[Math.floor(ms.length / 2)]?.toFixed(1)} ms, ` +
          `max ${ms.at(-1)?.toFixed(1)} ms`,
      );
    },
    STARTUP_TIMEOUT_MS,
  );

  it(
    'serves again once PostgreSQL is back, from the same process',
    async () => {
      await cluster('start-server');
      // An honest client: on 503 it waits as long as Retry-After says, then tries again.
      let response = await graphql(PRODUCTS);
      let attempts = 1;
      while (response.status === 503 && attempts < 10) {
        await new Promise((resolve) =>
          setTimeout(resolve, Number(response.headers['retry-after']) * 1000),
        );
        response = await graphql(PRODUCTS);
        attempts++;
      }
      expect(response.status).toBe(200);
      expect(response.headers['x-process-id']).toBe(String(server.child.pid));
      expect(server.child.exitCode).toBe(null);
      const readiness = await requestOnce(server.port, { path: '/readyz' }, HANG_MS);
      expect([readiness.status, JSON.parse(readiness.body)]).toEqual([200, { status: 'ready' }]);
      expect(
        server.logs().filter((log) => log.msg === 'database reachable again: circuit closed'),
      ).toHaveLength(1);
      console.info(`fault test: served again after ${attempts} attempt(s)`);
    },
    STARTUP_TIMEOUT_MS,
  );

  it('has lost no committed order, and takes new ones', async () => {
    expect(await countOrders()).toBe(ordersBefore);
    for (const id of committed) {
      const response = await graphql(ORDER, { id });
      expect(JSON.parse(response.body).data).toEqual({ order: { id } });
    }
    const created = await createOrder();
    expect(JSON.parse(created.body).data.createOrder.userErrors).toEqual([]);
    expect(await countOrders()).toBe(ordersBefore + 1);
  });

  it(
    'still shuts down cleanly',
    async () => {
      server.child.kill('SIGTERM');
      expect(await exitOf(server)).toEqual({ code: 0, signal: null });
    },
    EXIT_TIMEOUT_MS,
  );
});
