/**
 * WORKERS=n (main.ts, workers.ts): n processes on one port. The embedded database refuses it
 * always; the cluster itself runs against the PostgreSQL named by DATABASE_URL (CI's
 * PostgreSQL pass), in a database of its own, and is skipped without one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../src/auth/dev-token.ts';
import { loadConfig } from '../src/config.ts';
import {
  EXIT_TIMEOUT_MS,
  exitOf,
  killServers,
  requestOnce,
  type ServerProcess,
  STARTUP_TIMEOUT_MS,
  startServer,
  waitForLog,
} from './helpers/server-process.ts';

const PRODUCTS = /* GraphQL */ `
  query Products {
    products(first: 1) { nodes { id } }
  }
`;

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'orders-workers-'));
});

afterAll(async () => {
  killServers();
  await rm(dataDir, { recursive: true, force: true });
});

describe('WORKERS on the embedded database', () => {
  it(
    'refuses to start, with exit code 1 and a message that says why',
    async () => {
      const server = await startServer({ DATA_DIR: dataDir, WORKERS: '2' });
      expect(await exitOf(server)).toEqual({ code: 1, signal: null });
      expect(server.stderr()).toBe(
        'WORKERS=2 needs DATABASE_URL: the embedded PGlite database runs inside one process and cannot be shared by several workers. Set DATABASE_URL to a PostgreSQL server, or WORKERS=1.\n',
      );
      expect(server.stdout()).toBe('');
    },
    STARTUP_TIMEOUT_MS,
  );
});

/** Which process answered each of `count` requests, each on a new connection. */
async function servingPids(server: ServerProcess, count: number): Promise<Set<string>> {
  const pids = new Set<string>();
  for (let i = 0; i < count; i++) {
    const response = await requestOnce(server.port, { path: '/healthz' });
    expect(response.status).toBe(200);
    pids.add(String(response.headers['x-process-id']));
  }
  return pids;
}

describe.skipIf(!process.env.DATABASE_URL)('WORKERS=2 on PostgreSQL', () => {
  const name = `orders_workers_${randomBytes(6).toString('hex')}`;
  let admin: postgres.Sql;
  let server: ServerProcess;
  let firstPids: Set<string>;

  beforeAll(async () => {
    const serverUrl = process.env.DATABASE_URL as string;
    admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    server = await startServer({ DATA_DIR: dataDir, DATABASE_URL: url.toString(), WORKERS: '2' });
    await waitForLog(server, (log) => log.msg === 'Orders API ready' && log.workers === 2);
  }, STARTUP_TIMEOUT_MS);

  afterAll(async () => {
    killServers();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('serves one port from two worker processes, neither of them the primary', async () => {
    // The primary hands each new connection to the next worker in turn.
    firstPids = await servingPids(server, 6);
    expect(firstPids.size).toBe(2);
    expect(firstPids.has(String(server.child.pid))).toBe(false);
  });

  it('answers GraphQL from every worker, on the database the primary migrated', async () => {
    // Signed with the development key the primary created in DATA_DIR. The database has no
    // tenants (no demo seed on PostgreSQL): alice's tenant has no products.
    const token = await mintDevToken(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }), {
      tenant: 'acme',
      user: 'alice',
    });
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const response = await requestOnce(server.port, {
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: PRODUCTS }),
      });
      expect([response.status, JSON.parse(response.body).data]).toEqual([
        200,
        { products: { nodes: [] } },
      ]);
      seen.add(String(response.headers['x-process-id']));
    }
    expect(seen).toEqual(firstPids);
  });

  it(
    'replaces a worker that dies',
    async () => {
      const [victim, survivor] = [...firstPids] as [string, string];
      process.kill(Number(victim), 'SIGKILL');
      const died = await waitForLog(
        server,
        (log) =>
          log.msg === 'worker died; starting a replacement' && String(log.workerPid) === victim,
      );
      expect(died).toMatchObject({ signal: 'SIGKILL', code: null });
      await waitForLog(
        server,
        (log) =>
          // A new worker's line: not the primary's, nor one of the first two workers'.
          log.msg === 'Orders API ready' &&
          log.pid !== server.child.pid &&
          !firstPids.has(String(log.pid)),
      );
      const now = await servingPids(server, 6);
      expect(now.size).toBe(2);
      expect(now.has(survivor)).toBe(true);
      expect(now.has(victim)).toBe(false);
    },
    STARTUP_TIMEOUT_MS,
  );

  it(
    'passes SIGTERM on to the workers and exits 0 once they all have',
    async () => {
      server.child.kill('SIGTERM');
      expect(await exitOf(server)).toEqual({ code: 0, signal: null });
      const logs = server.logs();
      expect(logs.find((log) => log.msg === 'all workers exited')).toMatchObject({
        failedExits: 0,
      });
      expect(logs.filter((log) => log.msg === 'shut down')).toHaveLength(2);
    },
    EXIT_TIMEOUT_MS + 5_000,
  );
});
