/**
 * What the cost controls cost a legitimate request: throughput of benchmark scenario (a), the
 * persisted OrderList (`orders(first: 20)` with customer and items → product) as alice, on two
 * apps over the SAME PostgreSQL database: one with every protection on (operation limits,
 * execution timeout, cost analysis, cost budget, field rate limits; budgets raised out of
 * reach so nothing throttles) and one built with `protections: false`. Rounds alternate
 * between the two so that drift (JIT, GC, a noisy neighbour) hits both alike; each side's
 * median requests per second and their ratio (`protectionsOnVsOff`) are printed, sequential
 * and with several requests in flight (the real bench drives ~10 connections), with this
 * process's CPU time per request: with requests in flight the server's CPU is what runs out,
 * and CPU time is far less disturbed than the request rate by other work on the machine.
 *
 * The apps run in-process and are called through `app.fetch`, so the numbers are the
 * pipeline's and the database's, without sockets. Needs DATABASE_URL (e.g.
 * `eval "$(bash scripts/pg-throwaway.sh start)"`); an empty database is seeded at scale 100
 * first. Run with `npx tsx scripts/bench-protections.ts [--rounds N] [--requests N]
 * [--concurrency 1,8] [--only on|off]`; profile one side with
 * `node --cpu-prof --import tsx scripts/bench-protections.ts --only on --concurrency 8`.
 * Not a test: timings are noisy, so nothing here asserts on them.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { type App, createApp } from '../src/app.ts';
import { mintDevToken } from '../src/auth/dev-token.ts';
import { createTokenVerifier } from '../src/auth/jwt.ts';
import { loadConfig } from '../src/config.ts';
import { type Database, isEmpty, openDatabase } from '../src/db/client.ts';
import { seedDatabase } from '../src/db/seed.ts';
import { openPersistedOperationRegistry } from '../src/persisted-operations/registry.ts';
import { schema } from '../src/schema/index.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    requests: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '1,8' },
    // `on` or `off` drives one side only: a CPU profile then shows that side alone.
    only: { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds);
const REQUESTS = Number(args.requests);
const CONCURRENCIES = args.concurrency.split(',').map(Number);
const ONLY = args.only;
if (ONLY !== undefined && ONLY !== 'on' && ONLY !== 'off') throw new Error('--only is on or off');
const WARM_UP = 100;

/** Budgets out of reach: this measures what the controls cost, not what they refuse. */
const ROOMY_BUDGETS = {
  BUDGET_PRO: '1000000000/1000000000',
  BUDGET_FREE: '1000000000/1000000000',
  BUDGET_ENTERPRISE: '1000000000/1000000000',
  BUDGET_ANONYMOUS: '1000000000/1000000000',
};

interface Side {
  app: App;
  database: Database;
}

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  process.stderr.write('bench-protections: set DATABASE_URL (scripts/pg-throwaway.sh start)\n');
  process.exit(1);
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'orders-bench-'));
const config = loadConfig({
  NODE_ENV: 'test',
  DATA_DIR: dataDir,
  DATABASE_URL: databaseUrl,
  PERSISTED_OPERATIONS: 'allow',
  FIELD_RATE_LIMITS: 'true',
  JWT_MAX_TOKEN_LIFETIME: '24h',
  ...ROOMY_BUDGETS,
});
const verifier = await createTokenVerifier(config.auth);

/** One app with its own pool, as a separate server would have. */
async function boot(protections: boolean): Promise<Side> {
  const database = await openDatabase(config.database);
  const app = createApp({
    config,
    database,
    verifier,
    logger: pino({ level: 'silent' }),
    protections,
    persistedOperations: await openPersistedOperationRegistry(schema, config, database),
  });
  return { app, database };
}

const setup = await openDatabase(config.database);
await setup.migrate();
if (await isEmpty(setup.db)) {
  process.stderr.write('bench-protections: seeding scale 100 (once)…\n');
  await seedDatabase(setup.db, { scale: 100 });
}
await setup.close();

const manifest = JSON.parse(await readFile('persisted-queries/manifest.json', 'utf8')) as {
  operations: Record<string, { name: string }>;
};
const orderListId = Object.entries(manifest.operations).find(([, op]) => op.name === 'OrderList');
if (!orderListId) throw new Error('OrderList is not in persisted-queries/manifest.json');
const body = JSON.stringify({ documentId: `sha256:${orderListId[0]}` });
const token = await mintDevToken(config, { tenant: 'acme', user: 'alice', ttlSeconds: 86_400 });

async function post(side: Side): Promise<void> {
  const response = await side.app.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${token}`,
    },
    body,
  });
  const text = await response.text();
  if (response.status !== 200 || text.includes('"errors"')) {
    throw new Error(`OrderList answered ${response.status}: ${text.slice(0, 300)}`);
  }
}

interface Round {
  /** Requests per second. */
  rps: number;
  /**
   * This process's CPU time (user + system) per request, in microseconds: what the pipeline
   * costs, hardly moved by other processes on the machine, unlike the request rate.
   */
  cpuUs: number;
}

/** REQUESTS requests, `concurrency` of them in flight at any time. */
async function throughput(side: Side, concurrency: number): Promise<Round> {
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      next++;
      await post(side);
    }
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { rps: REQUESTS / (elapsed / 1000), cpuUs: (used.user + used.system) / REQUESTS };
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const on = await boot(true);
const off = await boot(false);
try {
  for (let i = 0; i < WARM_UP; i++) {
    await post(on);
    await post(off);
  }
  if (ONLY) {
    const side = ONLY === 'on' ? on : off;
    for (const concurrency of CONCURRENCIES) {
      const rounds: Round[] = [];
      for (let round = 0; round < ROUNDS; round++) rounds.push(await throughput(side, concurrency));
      const rps = Math.round(median(rounds.map((r) => r.rps)));
      const cpuUsPerRequest = Math.round(median(rounds.map((r) => r.cpuUs)));
      console.log(JSON.stringify({ only: ONLY, concurrency, rps, cpuUsPerRequest }));
    }
  } else {
    await compare();
  }
} finally {
  await Promise.all([on.database.close(), off.database.close()]);
  await rm(dataDir, { recursive: true, force: true });
}

async function compare() {
  const results: Record<string, unknown>[] = [];
  for (const concurrency of CONCURRENCIES) {
    const onRounds: Round[] = [];
    const offRounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Which side goes first alternates too, so neither always follows the other's GC.
      const first = round % 2 === 0;
      const a = await throughput(first ? on : off, concurrency);
      const b = await throughput(first ? off : on, concurrency);
      onRounds.push(first ? a : b);
      offRounds.push(first ? b : a);
    }
    const onRps = median(onRounds.map((r) => r.rps));
    const offRps = median(offRounds.map((r) => r.rps));
    const onCpu = median(onRounds.map((r) => r.cpuUs));
    const offCpu = median(offRounds.map((r) => r.cpuUs));
    const ratios = onRounds.map((r, i) => r.rps / offRounds[i]!.rps);
    results.push({
      concurrency,
      protectionsOnRps: Math.round(onRps),
      protectionsOffRps: Math.round(offRps),
      protectionsOnVsOff: round3(onRps / offRps),
      medianOfRoundRatios: round3(median(ratios)),
      cpuUsPerRequest: { on: Math.round(onCpu), off: Math.round(offCpu) },
      // What the rate ratio tends to when this process's CPU is the bottleneck.
      cpuOffVsOn: round3(offCpu / onCpu),
    });
  }
  console.log(
    JSON.stringify(
      {
        node: process.version,
        cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
        database: 'postgresql (DATABASE_URL)',
        scenario: 'a: persisted OrderList as alice (acme, pro)',
        requestsPerRound: REQUESTS,
        rounds: ROUNDS,
        results,
      },
      null,
      2,
    ),
  );
}
