/**
 * `npm run bench [-- --quick] [-- --out FILE]`: the benchmark suite. Seeds the benchmark data
 * set (scale 100) into PostgreSQL (DATABASE_URL, or a throwaway cluster started and stopped
 * here), starts the servers as child processes on loopback (bench/server.ts, all on one
 * DATA_DIR so one development key signs every token) and drives them with autocannon:
 *
 *   (a) the orders page, persisted (OrderList: 20 orders with customer and items → product),
 *       and as text with pages of 5 and 50 (SQL statements must not depend on the page size)
 *   (b) product search (ProductList with a `search` filter)
 *   (c) createOrder with a fresh idempotency key per request
 *   (d) idempotent replays: one key, sent again and again
 *   (e) an attacker (too deep, alias floods, oversize documents and bodies) on some connections
 *       while (a) runs on the others
 *   (f) (a) uncompressed and with `Accept-Encoding: br`, in alternating rounds (compression)
 *
 * In the same run, on the same data, (a) against the references, in alternating rounds: ours
 * with every protection off, and naive loading without DataLoader; Mercurius with graphql-jit,
 * Yoga with graphql-jit running the same resolvers (the floor of our stack), and a
 * hand-written node:http server, the ceiling (bench/references/: the same JWT check, the same
 * SQL statements, and `data` deep-equal to ours, checked before any load). Then (a) at 100
 * connections (high-concurrency: no request may fail), and with one and two instances behind
 * nginx sharing Redis. Every row has requests/s, p50/p99, the server's CPU time per request
 * (utime + stime from /proc over the measured window ÷ requests), response bytes per request
 * (on the wire: headers and body) and peak RSS. Prints a table;
 * `--out FILE` also writes JSON (top-level `protectionsOnVsOff`, `oursVsCeiling`,
 * `oursVsMercuriusJit`). Everything started is stopped at exit, on failure and on Ctrl-C too.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { and, desc, eq, gte, sql } from 'drizzle-orm';
import { mintDevToken } from '../src/auth/dev-token.ts';
import { isEntryPoint } from '../src/cli/entry-point.ts';
import { loadConfig } from '../src/config.ts';
import { type Database, openDatabase } from '../src/db/client.ts';
import { products } from '../src/db/schema.ts';
import { DEMO_TENANTS, SeedConflictError, seedDatabase } from '../src/db/seed.ts';
import { readManifestFile } from '../src/persisted-operations/manifest.ts';
import { buildBenchServers } from './build.ts';
import { describeDifference, firstDifference } from './compare.ts';
import { type LoadResult, runLoad } from './load.ts';
import {
  type BenchServer,
  nginxAvailable,
  REPO_ROOT,
  startBenchServer,
  startScriptNodeFlags,
  startThrowaway,
  stopThrowaway,
  Teardown,
  versionOf,
} from './processes.ts';
import {
  ATTACKS,
  attackRequests,
  type BenchRequest,
  createOrderRequests,
  createOrderVariables,
  orderListPageRequests,
  orderListRequests,
  type PersistedOperation,
  persistedOperation,
  productSearchRequests,
  replayRequests,
} from './scenarios.ts';
import {
  atLeast,
  atMost,
  formatStatuses,
  mergeSamples,
  noErrors,
  pageSizeIndependence,
  ratio,
  renderTable,
  type Summary,
  summarise,
  type Target,
} from './summary.ts';

export const SCENARIO_GROUPS = [
  'orders',
  'page-sizes',
  'search',
  'create',
  'replay',
  'adversarial',
  'protections-off',
  'naive',
  'references',
  'high-concurrency',
  'compression',
  'scale-out',
] as const;
export type ScenarioGroup = (typeof SCENARIO_GROUPS)[number];

/** Groups compared against (a): they run it too, on the same server, in the same run. */
const NEEDS_ORDERS: readonly ScenarioGroup[] = [
  'adversarial',
  'protections-off',
  'naive',
  'references',
];

/** high-concurrency: (a) on ours with this many connections. */
const HIGH_CONCURRENCY_CONNECTIONS = 100;

export const USAGE = `Usage: npm run bench -- [--quick] [--out FILE] [--only GROUPS] [--reset]

  --quick            short runs (5 s per scenario; the whole suite in under 5 minutes)
  --out FILE         also write the results as JSON to FILE
  --only GROUPS      comma-separated, from: ${SCENARIO_GROUPS.join(', ')}
                     (adversarial, protections-off, naive and references also run orders;
                     references: Mercurius+jit, Yoga+jit and the hand-written ceiling,
                     bench/references;
                     high-concurrency: orders at ${HIGH_CONCURRENCY_CONNECTIONS} connections for 60 s,
                     10 s with --quick; compression: OrderList without and with
                     Accept-Encoding: br, in alternating rounds)
  --seconds N        seconds per scenario (default 30, or 5 with --quick)
  --connections N    concurrent connections of the legitimate load (default 10)
  --reset            with DATABASE_URL: delete its data and seed scale 100 again
  --help             show this help

Uses DATABASE_URL, or starts a throwaway PostgreSQL (scripts/pg-throwaway.sh) and stops it.`;

export interface BenchOptions {
  quick: boolean;
  out: string | null;
  groups: ReadonlySet<ScenarioGroup>;
  reset: boolean;
  connections: number;
  /** Seconds of each measured scenario. */
  seconds: number;
  /** Seconds of load before each measurement, not recorded. */
  warmupSeconds: number;
  /**
   * (a) and its references run in this many alternating rounds, so that drift (a noisy
   * neighbour, the JIT, the database's caches) hits the servers alike.
   */
  rounds: number;
  /** Seconds of each round. */
  roundSeconds: number;
  /** high-concurrency: (a) on ours with this many connections for this many seconds. */
  highConcurrency: { connections: number; seconds: number };
}

/** A mistake on the command line: shown with the usage, exit status 2. */
export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > 3600) {
    throw new BenchUsageError(`--${name} must be an integer from 1 to 3600, got "${raw}".`);
  }
  return value;
}

/** The command line as options; null for --help. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions | null {
  let values: {
    quick?: boolean;
    out?: string;
    only?: string;
    seconds?: string;
    connections?: string;
    reset?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        only: { type: 'string' },
        seconds: { type: 'string' },
        connections: { type: 'string' },
        reset: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new BenchUsageError((error as Error).message);
  }
  if (values.help) return null;
  if (values.out !== undefined && values.out.trim() === '') {
    throw new BenchUsageError('--out needs a file name.');
  }
  const quick = values.quick ?? false;
  const seconds = positiveInteger('seconds', values.seconds, quick ? 5 : 30);
  const rounds = quick ? 2 : 3;
  return {
    quick,
    out: values.out ?? null,
    groups: parseGroups(values.only),
    reset: values.reset ?? false,
    connections: positiveInteger('connections', values.connections, 10),
    seconds,
    warmupSeconds: quick ? 2 : 5,
    rounds,
    roundSeconds: Math.max(seconds / rounds, Math.min(seconds, 5)),
    highConcurrency: { connections: HIGH_CONCURRENCY_CONNECTIONS, seconds: quick ? 10 : 60 },
  };
}

function parseGroups(only: string | undefined): ReadonlySet<ScenarioGroup> {
  if (only === undefined) return new Set(SCENARIO_GROUPS);
  const names = only
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) throw new BenchUsageError('--only needs at least one group.');
  const groups = new Set<ScenarioGroup>();
  for (const name of names) {
    if (!(SCENARIO_GROUPS as readonly string[]).includes(name)) {
      throw new BenchUsageError(
        `--only: unknown group "${name}"; the groups are ${SCENARIO_GROUPS.join(', ')}.`,
      );
    }
    groups.add(name as ScenarioGroup);
    if (NEEDS_ORDERS.includes(name as ScenarioGroup)) groups.add('orders');
  }
  return groups;
}

/** One row of the results: a scenario on one server (or set of servers). */
export interface ScenarioResult {
  title: string;
  server: string;
  summary: Summary;
  /** What was sent and how (operation, user, connections). */
  load: string;
}

export interface BenchReport {
  generatedAt: string;
  mode: 'quick' | 'full';
  settings: {
    connections: number;
    secondsPerScenario: number;
    warmupSeconds: number;
    roundsOfOrders: number;
    secondsPerRound: number;
    highConcurrency: { connections: number; seconds: number };
    serverEnvironment: Record<string, string>;
  };
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    os: string;
    node: string;
    postgres: string | null;
    redis: string | null;
    nginx: string | null;
    /** 1-minute load average when the run started: above 0 means something else was busy. */
    loadAverageAtStart: number;
  };
  /** Requests per second on (a), the protected server ÷ the one with every protection off. */
  protectionsOnVsOff: number | null;
  /** Requests per second on (a), ours ÷ the hand-written ceiling (bench/references/ceiling.ts). */
  oursVsCeiling: number | null;
  /** Requests per second on (a), ours ÷ Mercurius with graphql-jit (bench/references/). */
  oursVsMercuriusJit: number | null;
  scenarios: Record<string, ScenarioResult>;
  ratios: Record<string, number | null>;
  scaleOut: {
    loadBalancer: string;
    instances: Record<string, ScenarioResult>;
  } | null;
  targets: Target[];
  notes: string[];
}

const OUR_SERVER = 'bench/server.ts';
const REFERENCE_SERVERS = ['mercurius-jit', 'yoga-jit', 'ceiling'] as const;

const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

const UNLIMITED_BUDGET = '1000000000/1000000000';
const SCALE = 100;
/** Seeded products per tenant: 50 per scale unit (src/db/seed.ts). */
const PRODUCTS_PER_TENANT_PER_SCALE = 50;
const TOKEN_LIFETIME = '24h';
const TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** Checkouts take one unit of these products in turn; each has at least MIN_STOCK units. */
const CHECKOUT_PRODUCTS = 200;
const MIN_STOCK = 50;

/**
 * The servers' configuration: the demo users' budgets and @rateLimit out of the way (a
 * throughput test would only measure 429s), OrderList of 50 under MAX_COST, text operations
 * allowed (the page-size variants and the attacker send text), logs at warn (one line per
 * request would measure the disk). The limits the attacker trips over keep their defaults.
 */
function serverEnvironment(databaseUrl: string, dataDir: string): Record<string, string> {
  return {
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    JWT_MAX_TOKEN_LIFETIME: TOKEN_LIFETIME,
    PERSISTED_OPERATIONS: 'allow',
    GRAPHIQL: 'false',
    FIELD_RATE_LIMITS: 'false',
    MAX_COST: '5000',
    BUDGET_FREE: UNLIMITED_BUDGET,
    BUDGET_PRO: UNLIMITED_BUDGET,
    BUDGET_ENTERPRISE: UNLIMITED_BUDGET,
    BUDGET_ANONYMOUS: UNLIMITED_BUDGET,
  };
}

const acme = DEMO_TENANTS.find((tenant) => tenant.slug === 'acme');

/** Runs `work` in a transaction scoped to acme (RLS), as the seed and the server do. */
async function asAcme<T>(database: Database, work: (tx: Database['db']) => Promise<T>) {
  if (!acme) throw new Error('The demo tenant acme is missing from src/db/seed.ts.');
  return database.db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${acme.id}, true)`);
    return work(tx);
  });
}

/** Seeds scale 100 unless the database already holds exactly that (and --reset was not given). */
async function prepareData(database: Database, options: { reset: boolean; owned: boolean }) {
  await database.migrate();
  const acmeId = acme?.id ?? '';
  const seededProducts = await asAcme(database, async (tx) => {
    const [row] = await tx
      .select({ count: sql<number>`count(*)::int` })
      .from(products)
      .where(eq(products.tenantId, acmeId));
    return row?.count ?? 0;
  });
  const expected = SCALE * PRODUCTS_PER_TENANT_PER_SCALE;
  if (!options.reset && seededProducts === expected) {
    log(`the database already holds the scale-${SCALE} data set: reusing it`);
    return;
  }
  if (!options.reset && seededProducts > 0) {
    throw new BenchUsageError(
      `DATABASE_URL holds other data (acme has ${seededProducts} products, scale ${SCALE} has ${expected}). ` +
        'Run with --reset to delete it and seed the benchmark data set, or unset DATABASE_URL ' +
        'to use a throwaway PostgreSQL.',
    );
  }
  log(`seeding scale ${SCALE} (about 10k products, 50k orders, 150k items)…`);
  const started = performance.now();
  try {
    await seedDatabase(database.db, { scale: SCALE, reset: options.reset || options.owned });
  } catch (error) {
    if (error instanceof SeedConflictError) throw new BenchUsageError(error.message);
    throw error;
  }
  log(`seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function postgresVersion(database: Database): Promise<string | null> {
  const result = (await database.db.execute(
    sql`select current_setting('server_version') as version`,
  )) as unknown;
  const rows = Array.isArray(result) ? result : (result as { rows?: unknown[] }).rows;
  const first = rows?.[0] as { version?: string } | undefined;
  return first?.version ?? null;
}

async function checkoutProducts(database: Database): Promise<string[]> {
  const acmeId = acme?.id ?? '';
  return asAcme(database, async (tx) => {
    const rows = await tx
      .select({ id: products.id })
      .from(products)
      .where(and(eq(products.tenantId, acmeId), gte(products.stock, MIN_STOCK)))
      .orderBy(desc(products.stock), products.id)
      .limit(CHECKOUT_PRODUCTS);
    return rows.map((row) => row.id);
  });
}

/** The body autocannon would send first (setupRequest applied), for a probe request. */
function firstRequestOf(requests: readonly BenchRequest[]): BenchRequest {
  const [first] = requests;
  if (!first) throw new Error('a scenario without requests');
  return typeof first.setupRequest === 'function' ? first.setupRequest({ ...first }, {}) : first;
}

/**
 * One request before a scenario's load, checked: a misconfigured run must fail loudly instead
 * of measuring how fast the server says no.
 */
async function probe(
  url: string,
  request: BenchRequest,
  expect: { status: number; body?: (body: string) => boolean; what: string },
): Promise<void> {
  const response = await fetch(`${url}${request.path ?? '/graphql'}`, {
    method: request.method ?? 'POST',
    headers: request.headers as Record<string, string>,
    body: request.body as string,
  });
  const text = await response.text();
  const bodyOk = expect.body ? expect.body(text) : true;
  if (response.status !== expect.status || !bodyOk) {
    throw new Error(
      `${expect.what}: expected HTTP ${expect.status}, got ${response.status}: ${text.slice(0, 500)}`,
    );
  }
}

/**
 * Like `probe` for OrderList, and the answer must be encoded as asked (`null`: not encoded):
 * a server with COMPRESSION=false would otherwise measure two identical rows. fetch decodes
 * the body and keeps Content-Encoding; it also asks for gzip unless told otherwise, so a
 * request without Accept-Encoding (as autocannon sends it) is probed with `identity`.
 */
async function probeEncoding(
  url: string,
  request: BenchRequest,
  encoding: string | null,
  what: string,
): Promise<void> {
  const response = await fetch(`${url}${request.path ?? '/graphql'}`, {
    method: request.method ?? 'POST',
    headers: { 'accept-encoding': 'identity', ...(request.headers as Record<string, string>) },
    body: request.body as string,
  });
  const text = await response.text();
  const sent = response.headers.get('content-encoding');
  if (response.status !== 200 || !answered(text) || sent !== encoding) {
    throw new Error(
      `${what}: expected HTTP 200 with data, Content-Encoding ${encoding ?? 'none'}; got ${response.status}, ${sent ?? 'none'}: ${text.slice(0, 500)}`,
    );
  }
}

const answered = (body: string) => body.includes('"data"') && !body.includes('"errors"');

/** The `data` a server answers to `request`; fails unless it is a 200 without errors. */
async function dataOf(server: BenchServer, request: BenchRequest): Promise<unknown> {
  const response = await fetch(`${server.url}${request.path ?? '/graphql'}`, {
    method: request.method ?? 'POST',
    headers: request.headers as Record<string, string>,
    body: request.body as string,
  });
  const text = await response.text();
  let body: { data?: unknown; errors?: unknown } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status !== 200 || body?.data == null || body.errors !== undefined) {
    throw new Error(
      `OrderList on ${server.name}: expected HTTP 200 with data and no errors, got ${response.status}: ${text.slice(0, 500)}`,
    );
  }
  return body.data;
}

/**
 * Fails unless every server answers `request` with the `data` ours answers: a server that
 * answers something else does other work, and its numbers would compare nothing.
 */
async function requireSameData(
  ours: BenchServer,
  others: readonly BenchServer[],
  request: BenchRequest,
): Promise<void> {
  const expected = await dataOf(ours, request);
  for (const server of others) {
    const difference = firstDifference(expected, await dataOf(server, request));
    if (difference) {
      throw new Error(
        `${server.name} does not answer OrderList with ours' data; first difference at ${describeDifference(difference, ours.name, server.name)}`,
      );
    }
  }
}
const noUserErrors = (body: string) => answered(body) && body.includes('"userErrors":[]');

async function warmAndMeasure(
  servers: readonly BenchServer[],
  url: string,
  requests: readonly BenchRequest[],
  connections: number,
  options: BenchOptions,
): Promise<LoadResult> {
  await runLoad({ url, connections, seconds: options.warmupSeconds, requests });
  return runLoad({
    url,
    connections,
    seconds: options.seconds,
    requests,
    pids: servers.map((server) => server.pid),
  });
}

/** The CPU seconds the servers used over the measured windows of `results`, summed. */
function cpuOf(results: readonly LoadResult[]): number | null {
  const seconds = results.map((result) => Object.values(result.cpuSeconds));
  if (seconds.length === 0 || seconds.some((values) => values.length === 0)) return null;
  return seconds.flat().reduce((sum, value) => sum + value, 0);
}

function peakOf(results: readonly LoadResult[]): number | null {
  const peaks = results.flatMap((result) => Object.values(result.peakRssKb));
  return peaks.length > 0 ? Math.max(...peaks) : null;
}

/** The summed peak of several processes (instances that ran side by side). */
function summedPeakOf(result: LoadResult): number | null {
  const peaks = Object.values(result.peakRssKb);
  return peaks.length > 0 ? peaks.reduce((sum, peak) => sum + peak, 0) : null;
}

export async function runBench(options: BenchOptions, teardown: Teardown): Promise<BenchReport> {
  const { groups } = options;
  const notes: string[] = [];
  const loadAverageAtStart = os.loadavg()[0] ?? 0;
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'orders-bench-'));
  let keepWorkDir = true;
  teardown.add('work dir', async () => {
    if (keepWorkDir) log(`server logs kept in ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  });

  // 1. PostgreSQL: DATABASE_URL, or a throwaway cluster of our own.
  const environmentConfig = loadConfig();
  let databaseUrl: string;
  const ownsDatabase = environmentConfig.database.kind !== 'postgres';
  if (environmentConfig.database.kind === 'postgres') {
    databaseUrl = environmentConfig.database.url;
    log('using the PostgreSQL of DATABASE_URL');
  } else {
    log('DATABASE_URL is unset: starting a throwaway PostgreSQL (scripts/pg-throwaway.sh)');
    const pg = startThrowaway('pg-throwaway.sh');
    const dir = pg.PG_THROWAWAY_DIR;
    if (dir) teardown.add('PostgreSQL', () => stopThrowaway('pg-throwaway.sh', dir));
    if (!pg.DATABASE_URL) throw new Error('scripts/pg-throwaway.sh exported no DATABASE_URL');
    databaseUrl = pg.DATABASE_URL;
  }
  const env = serverEnvironment(databaseUrl, workDir);
  const config = loadConfig(env);

  // 2. The data set, the products checkouts take from, the tokens.
  const database = await openDatabase(config.database);
  teardown.add('database pool', () => database.close());
  await prepareData(database, { reset: options.reset, owned: ownsDatabase });
  const postgres = await postgresVersion(database);
  const productIds =
    groups.has('create') || groups.has('replay') ? await checkoutProducts(database) : [];
  if ((groups.has('create') || groups.has('replay')) && productIds.length === 0) {
    throw new Error(`no acme product has ${MIN_STOCK} units in stock left for the checkouts`);
  }
  const token = (user: string) =>
    mintDevToken(config, { tenant: 'acme', user, ttlSeconds: TOKEN_TTL_SECONDS });
  const [alice, bob, carol] = await Promise.all([token('alice'), token('bob'), token('carol')]);
  const manifest = await readManifestFile(config.persistedOperations.manifestFile);
  const operations: Record<'OrderList' | 'ProductList' | 'CreateOrder', PersistedOperation> = {
    OrderList: persistedOperation(manifest, 'OrderList'),
    ProductList: persistedOperation(manifest, 'ProductList'),
    CreateOrder: persistedOperation(manifest, 'CreateOrder'),
  };

  // 3. The servers: ours, and the references when asked for, started side by side, each from
  //    a bundle built as npm start builds ours (bench/build.ts).
  const needsOurs = [...groups].some((group) => group !== 'scale-out');
  log('building the servers…');
  const { outdir: buildDir, files: built } = await buildBenchServers([
    OUR_SERVER,
    ...REFERENCE_SERVERS.map((name) => `bench/references/${name}.ts`),
  ]);
  teardown.add('server builds', () => rm(buildDir, { recursive: true, force: true }));
  // Ours runs with npm start's Node flags; the references with Node's defaults, as their
  // users run them.
  const ourNodeFlags = startScriptNodeFlags();
  const start = (name: string, flags: string[] = [], extraEnv: Record<string, string> = {}) =>
    startBenchServer({
      name,
      env: { ...env, ...extraEnv },
      flags,
      nodeFlags: ourNodeFlags,
      script: built[OUR_SERVER],
      logDir: workDir,
      teardown,
    });
  // The references read the same environment: the same database, pool size and signing key.
  const startReference = (name: (typeof REFERENCE_SERVERS)[number]) =>
    startBenchServer({
      name,
      env,
      script: built[`bench/references/${name}.ts`],
      logDir: workDir,
      teardown,
    });
  log('starting the servers…');
  const [ours, off, naive, mercuriusJit, yogaJit, ceiling] = await Promise.all([
    needsOurs ? start('ours') : undefined,
    groups.has('protections-off') ? start('protections-off', ['--protections', 'off']) : undefined,
    groups.has('naive') ? start('naive', ['--naive']) : undefined,
    groups.has('references') ? startReference('mercurius-jit') : undefined,
    groups.has('references') ? startReference('yoga-jit') : undefined,
    groups.has('references') ? startReference('ceiling') : undefined,
  ]);

  const scenarios: Record<string, ScenarioResult> = {};
  const { connections } = options;
  const users = `${connections} connections`;

  /**
   * Loads each entry for a round in turn, `options.rounds` times, so drift (JIT, GC, a busy
   * neighbour) hits every entry alike; one summary per entry over all its rounds.
   */
  const alternatingRounds = async (
    entries: readonly {
      key: string;
      label: string;
      server: BenchServer;
      requests: BenchRequest[];
    }[],
  ) => {
    const rounds = new Map<string, LoadResult[]>(entries.map(({ key }) => [key, []]));
    for (let round = 1; round <= options.rounds; round++) {
      for (const { key, label, server, requests } of entries) {
        log(`${label}: round ${round}/${options.rounds}`);
        const result = await runLoad({
          url: server.url,
          connections,
          seconds: options.roundSeconds,
          requests,
          pids: [server.pid],
        });
        rounds.get(key)?.push(result);
      }
    }
    return (key: string) => {
      const results = rounds.get(key) ?? [];
      return summarise(
        mergeSamples(results.map((result) => result.samples)),
        peakOf(results),
        cpuOf(results),
      );
    };
  };

  // (a) and its references, in alternating rounds.
  if (ours && groups.has('orders')) {
    const requests = orderListRequests(alice, operations.OrderList);
    const compared = [
      { key: 'orderList', server: ours, title: '(a) OrderList, persisted' },
      ...(off ? [{ key: 'orderListProtectionsOff', server: off, title: '(a) reference' }] : []),
      ...(naive ? [{ key: 'orderListNaive', server: naive, title: '(a) reference' }] : []),
      ...(mercuriusJit
        ? [{ key: 'orderListMercuriusJit', server: mercuriusJit, title: '(a) reference' }]
        : []),
      ...(yogaJit ? [{ key: 'orderListYogaJit', server: yogaJit, title: '(a) reference' }] : []),
      ...(ceiling ? [{ key: 'orderListCeiling', server: ceiling, title: '(a) reference' }] : []),
    ];
    await requireSameData(
      ours,
      compared.filter(({ server }) => server !== ours).map(({ server }) => server),
      firstRequestOf(requests),
    );
    for (const { server } of compared) {
      await probe(server.url, firstRequestOf(requests), {
        status: 200,
        body: answered,
        what: `OrderList on ${server.name}`,
      });
      await runLoad({ url: server.url, connections, seconds: options.warmupSeconds, requests });
    }
    const summaryOf = await alternatingRounds(
      compared.map(({ key, server }) => ({
        key,
        label: `(a) OrderList on ${server.name}`,
        server,
        requests,
      })),
    );
    for (const { key, server, title } of compared) {
      scenarios[key] = {
        title,
        server: server.name,
        load: `OrderList by documentId as acme/alice, ${users}, ${options.rounds} rounds`,
        summary: summaryOf(key),
      };
    }
  }

  // (a) with many more clients than the pool has connections: they must queue, not fail.
  if (ours && groups.has('high-concurrency')) {
    const requests = orderListRequests(alice, operations.OrderList);
    const { connections: many, seconds } = options.highConcurrency;
    await probe(ours.url, firstRequestOf(requests), {
      status: 200,
      body: answered,
      what: 'OrderList on ours',
    });
    log(`(a) OrderList at ${many} connections…`);
    await runLoad({ url: ours.url, connections: many, seconds: options.warmupSeconds, requests });
    const result = await runLoad({
      url: ours.url,
      connections: many,
      seconds,
      requests,
      pids: [ours.pid],
    });
    scenarios.highConcurrency = {
      title: `(a) OrderList, ${many} connections`,
      server: ours.name,
      load: `OrderList by documentId as acme/alice, ${many} connections, ${seconds} s`,
      summary: summarise(result.samples, peakOf([result]), cpuOf([result])),
    };
  }

  // (f) OrderList without and with compression, in alternating rounds on the same server: the
  // bytes it saves and the CPU it costs per request.
  if (ours && groups.has('compression')) {
    const compared = [
      {
        key: 'orderListIdentity',
        title: '(f) OrderList, uncompressed',
        requests: orderListRequests(alice, operations.OrderList),
        encoding: null,
      },
      {
        key: 'orderListBrotli',
        title: '(f) OrderList, Accept-Encoding: br',
        requests: orderListRequests(alice, operations.OrderList, 'br'),
        encoding: 'br',
      },
    ];
    for (const { title, requests, encoding } of compared) {
      await probeEncoding(ours.url, firstRequestOf(requests), encoding, title);
      await runLoad({ url: ours.url, connections, seconds: options.warmupSeconds, requests });
    }
    const summaryOf = await alternatingRounds(
      compared.map(({ key, title, requests }) => ({ key, label: title, server: ours, requests })),
    );
    for (const { key, title, encoding } of compared) {
      scenarios[key] = {
        title,
        server: ours.name,
        load: `OrderList by documentId as acme/alice${encoding ? `, Accept-Encoding: ${encoding}` : ''}, ${users}, ${options.rounds} rounds`,
        summary: summaryOf(key),
      };
    }
  }

  const single = async (
    key: string,
    title: string,
    load: string,
    requests: BenchRequest[],
    check: { status: number; body?: (body: string) => boolean },
  ) => {
    if (!ours) return;
    await probe(ours.url, firstRequestOf(requests), { ...check, what: title });
    log(`${title}…`);
    const result = await warmAndMeasure([ours], ours.url, requests, connections, options);
    scenarios[key] = {
      title,
      server: ours.name,
      load: `${load}, ${users}`,
      summary: summarise(result.samples, peakOf([result]), cpuOf([result])),
    };
  };

  if (groups.has('page-sizes')) {
    for (const pageSize of [5, 50]) {
      await single(
        `orderListPage${pageSize}`,
        `(a) OrderList, ${pageSize} per page`,
        `OrderList text with orders(first: ${pageSize}) as acme/alice`,
        orderListPageRequests(alice, operations.OrderList, pageSize),
        { status: 200, body: answered },
      );
    }
  }
  if (groups.has('search')) {
    await single(
      'productSearch',
      '(b) ProductList, search',
      'ProductList by documentId, first 20, a search word per request, as acme/bob',
      productSearchRequests(bob, operations.ProductList),
      { status: 200, body: answered },
    );
  }
  const runId = Date.now().toString(36);
  if (groups.has('create')) {
    await single(
      'createOrder',
      '(c) createOrder, new keys',
      `CreateOrder by documentId, a new clientMutationId per request, one unit of one of ${productIds.length} products, as acme/bob`,
      createOrderRequests(bob, operations.CreateOrder, productIds, `bench-${runId}`),
      { status: 200, body: noUserErrors },
    );
  }
  if (groups.has('replay') && ours) {
    const key = `bench-${runId}-replay`;
    const productId = productIds[0] ?? '';
    const requests = replayRequests(bob, operations.CreateOrder, productId, key);
    // The first request creates the order; every later one is a replay of its payload.
    await probe(ours.url, firstRequestOf(requests), {
      status: 200,
      body: noUserErrors,
      what: 'the order the replays repeat',
    });
    await single(
      'idempotentReplay',
      '(d) createOrder, replays',
      `CreateOrder by documentId, one clientMutationId (${JSON.stringify(createOrderVariables(key, productId).input.clientMutationId)}) again and again, as acme/bob`,
      requests,
      { status: 200, body: noUserErrors },
    );
  }

  // (e) The attacker on as many connections as the legitimate clients, side by side.
  if (groups.has('adversarial') && ours) {
    const legit = orderListRequests(alice, operations.OrderList);
    const attack = attackRequests(carol);
    const expected = [400, 400, 400, 413];
    for (const [index, request] of attack.entries()) {
      await probe(ours.url, request, {
        status: expected[index] ?? 400,
        what: `attack ${Object.keys(ATTACKS)[index]}`,
      });
    }
    log('(e) OrderList while an attacker sends rejected documents…');
    await Promise.all([
      runLoad({ url: ours.url, connections, seconds: options.warmupSeconds, requests: legit }),
      runLoad({ url: ours.url, connections, seconds: options.warmupSeconds, requests: attack }),
    ]);
    const [legitimate, attacker] = await Promise.all([
      runLoad({
        url: ours.url,
        connections,
        seconds: options.seconds,
        requests: legit,
        pids: [ours.pid],
      }),
      runLoad({ url: ours.url, connections, seconds: options.seconds, requests: attack }),
    ]);
    scenarios.adversarialLegitimate = {
      title: '(e) OrderList under attack',
      server: ours.name,
      load: `OrderList by documentId as acme/alice, ${users}, beside the attacker`,
      summary: summarise(legitimate.samples, peakOf([legitimate]), cpuOf([legitimate])),
    };
    scenarios.adversarialAttacker = {
      title: '(e) the attacker',
      server: ours.name,
      load: `too deep, 100 aliases, a 50 KB document, a 120 KB body in turn, as acme/carol, ${connections} connections`,
      summary: summarise(attacker.samples, null),
    };
  }

  // Scale-out: one and two instances sharing Redis, behind nginx when it is installed.
  let scaleOut: BenchReport['scaleOut'] = null;
  let redisVersion: string | null = null;
  let nginxVersion: string | null = null;
  if (groups.has('scale-out')) {
    log('scale-out: starting Redis and two instances…');
    const redis = startThrowaway('redis-throwaway.sh');
    const redisDir = redis.REDIS_THROWAWAY_DIR;
    if (redisDir) teardown.add('Redis', () => stopThrowaway('redis-throwaway.sh', redisDir));
    if (!redis.REDIS_URL) throw new Error('scripts/redis-throwaway.sh exported no REDIS_URL');
    redisVersion = versionOf('redis-server', ['--version']);
    const shared = { REDIS_URL: redis.REDIS_URL };
    const [first, second] = await Promise.all([
      start('instance-1', [], shared),
      start('instance-2', [], shared),
    ]);
    const requests = orderListRequests(alice, operations.OrderList);
    const instances: Record<string, ScenarioResult> = {};
    const useNginx = nginxAvailable();
    let loadBalancer: string;
    if (useNginx) {
      nginxVersion = versionOf('nginx', ['-v']) ?? versionOf('/usr/sbin/nginx', ['-v']);
      loadBalancer = 'nginx (scripts/nginx-throwaway.sh: round robin, keep-alive upstreams)';
      for (const upstreams of [[first], [first, second]]) {
        const nginx = startThrowaway(
          'nginx-throwaway.sh',
          upstreams.map((server) => String(server.port)),
        );
        const nginxDir = nginx.NGINX_THROWAWAY_DIR;
        let nginxRunning = Boolean(nginxDir);
        const stopNginx = () => {
          if (nginxRunning && nginxDir) stopThrowaway('nginx-throwaway.sh', nginxDir);
          nginxRunning = false;
        };
        teardown.add('nginx', stopNginx);
        if (!nginx.NGINX_URL) throw new Error('scripts/nginx-throwaway.sh exported no NGINX_URL');
        log(`scale-out: OrderList on ${upstreams.length} instance(s) behind nginx…`);
        await probe(nginx.NGINX_URL, firstRequestOf(requests), {
          status: 200,
          body: answered,
          what: 'OrderList through nginx',
        });
        const result = await warmAndMeasure(
          upstreams,
          nginx.NGINX_URL,
          requests,
          connections,
          options,
        );
        instances[`instances${upstreams.length}`] = {
          title: `(a) OrderList, ${upstreams.length} instance${upstreams.length > 1 ? 's' : ''}`,
          server: `nginx → ${upstreams.map((server) => server.name).join(' + ')}`,
          load: `OrderList by documentId as acme/alice, ${users}, Redis shared`,
          summary: summarise(result.samples, summedPeakOf(result), cpuOf([result])),
        };
        stopNginx();
      }
    } else {
      loadBalancer =
        'none: nginx is not installed (apt-get install nginx), so the client splits its connections between the instances';
      notes.push(`scale-out without nginx: ${loadBalancer}`);
      log(`scale-out: ${loadBalancer}`);
      const alone = await warmAndMeasure([first], first.url, requests, connections, options);
      instances.instances1 = {
        title: '(a) OrderList, 1 instance',
        server: first.name,
        load: `OrderList by documentId as acme/alice, ${users}, Redis shared`,
        summary: summarise(alone.samples, summedPeakOf(alone), cpuOf([alone])),
      };
      const half = Math.max(1, Math.floor(connections / 2));
      const both = await Promise.all(
        [first, second].map(async (server) =>
          warmAndMeasure([server], server.url, requests, half, options),
        ),
      );
      instances.instances2 = {
        title: '(a) OrderList, 2 instances',
        server: `${first.name} + ${second.name}`,
        load: `OrderList by documentId as acme/alice, ${half} connections to each, Redis shared`,
        summary: summarise(
          mergeSamples(
            both.map((result) => result.samples),
            { concurrent: true },
          ),
          both.reduce((sum, result) => sum + (summedPeakOf(result) ?? 0), 0) || null,
          cpuOf(both),
        ),
      };
    }
    scaleOut = { loadBalancer, instances };
  }

  // 4. Ratios and targets.
  const rps = (summary: Summary | undefined) => summary?.requestsPerSecond ?? null;
  const orderList = scenarios.orderList?.summary;
  const protectionsOnVsOff = ratio(rps(orderList), rps(scenarios.orderListProtectionsOff?.summary));
  const adversarialP99 = ratio(
    scenarios.adversarialLegitimate?.summary.latencyMs.p99,
    orderList?.latencyMs.p99,
  );
  const mercurius = scenarios.orderListMercuriusJit?.summary;
  const yoga = scenarios.orderListYogaJit?.summary;
  const handWritten = scenarios.orderListCeiling?.summary;
  const oursVsCeiling = ratio(rps(orderList), rps(handWritten));
  const oursVsMercuriusJit = ratio(rps(orderList), rps(mercurius));
  const p99VsMercuriusJit = ratio(orderList?.latencyMs.p99, mercurius?.latencyMs.p99);
  const peakRssVsMercuriusJit = ratio(orderList?.peakRssMb, mercurius?.peakRssMb);
  const ratios: Record<string, number | null> = {
    protectionsOnVsOff,
    protectionsOnVsOffP99: ratio(
      orderList?.latencyMs.p99,
      scenarios.orderListProtectionsOff?.summary.latencyMs.p99,
    ),
    throughputVsNaive: ratio(rps(orderList), rps(scenarios.orderListNaive?.summary)),
    sqlStatementsVsNaive: ratio(
      orderList?.sqlStatementsPerRequest?.mean,
      scenarios.orderListNaive?.summary.sqlStatementsPerRequest?.mean,
    ),
    adversarialP99VsQuiet: adversarialP99,
    oursVsCeiling,
    oursVsMercuriusJit,
    p99VsCeiling: ratio(orderList?.latencyMs.p99, handWritten?.latencyMs.p99),
    p99VsMercuriusJit,
    cpuPerRequestVsCeiling: ratio(orderList?.cpuMsPerRequest, handWritten?.cpuMsPerRequest),
    cpuPerRequestVsMercuriusJit: ratio(orderList?.cpuMsPerRequest, mercurius?.cpuMsPerRequest),
    peakRssVsCeiling: ratio(orderList?.peakRssMb, handWritten?.peakRssMb),
    peakRssVsMercuriusJit,
    // The floor of our stack: Yoga with the Mercurius reference's resolvers, ÷ Mercurius and
    // ÷ the ceiling; and ours ÷ it, what everything above Yoga costs.
    yogaJitVsMercuriusJit: ratio(rps(yoga), rps(mercurius)),
    yogaJitVsCeiling: ratio(rps(yoga), rps(handWritten)),
    oursVsYogaJit: ratio(rps(orderList), rps(yoga)),
    cpuPerRequestVsYogaJit: ratio(orderList?.cpuMsPerRequest, yoga?.cpuMsPerRequest),
    compressedVsUncompressedBytes: ratio(
      scenarios.orderListBrotli?.summary.bytesPerRequest,
      scenarios.orderListIdentity?.summary.bytesPerRequest,
    ),
    compressedVsUncompressedCpu: ratio(
      scenarios.orderListBrotli?.summary.cpuMsPerRequest,
      scenarios.orderListIdentity?.summary.cpuMsPerRequest,
    ),
    twoInstancesVsOne: ratio(
      rps(scaleOut?.instances.instances2?.summary),
      rps(scaleOut?.instances.instances1?.summary),
    ),
  };
  const targets: Target[] = [
    atLeast('protectionsOnVsOff', protectionsOnVsOff, 0.95, ' (requests/s on (a))'),
    pageSizeIndependence(
      groups.has('page-sizes')
        ? [scenarios.orderListPage5?.summary, orderList, scenarios.orderListPage50?.summary]
        : [],
    ),
    atMost('adversarialP99VsQuiet', adversarialP99, 2, ' (p99 of (a) under attack ÷ quiet)'),
    atLeast('oursVsCeiling', oursVsCeiling, 0.6, ' (requests/s on (a), ours ÷ hand-written)'),
    atLeast('oursVsMercuriusJit', oursVsMercuriusJit, 1, ' (requests/s on (a), ours ÷ Mercurius)'),
    atMost('p99VsMercuriusJit', p99VsMercuriusJit, 1.5, ' (p99 on (a), ours ÷ Mercurius)'),
    atMost(
      'peakRssVsMercuriusJit',
      peakRssVsMercuriusJit,
      1.25,
      ' (peak RSS on (a), ours ÷ Mercurius)',
    ),
    noErrors(
      'highConcurrencyFailures',
      scenarios.highConcurrency?.summary,
      ` ((a) at ${options.highConcurrency.connections} connections)`,
    ),
  ];

  const cpus = os.cpus().length;
  if (loadAverageAtStart > cpus / 2) {
    notes.push(
      `the machine was busy when the run started (load average ${loadAverageAtStart.toFixed(2)} on ${cpus} CPUs): the numbers are noisy`,
    );
  }
  keepWorkDir = false;
  return {
    generatedAt: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    settings: {
      connections,
      secondsPerScenario: options.seconds,
      warmupSeconds: options.warmupSeconds,
      roundsOfOrders: options.rounds,
      secondsPerRound: options.roundSeconds,
      highConcurrency: options.highConcurrency,
      serverEnvironment: Object.fromEntries(
        Object.entries(env).filter(([name]) => !['DATABASE_URL', 'DATA_DIR'].includes(name)),
      ),
    },
    machine: {
      cpus,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      postgres,
      redis: redisVersion,
      nginx: nginxVersion,
      loadAverageAtStart: Math.round(loadAverageAtStart * 100) / 100,
    },
    protectionsOnVsOff,
    oursVsCeiling,
    oursVsMercuriusJit,
    scenarios,
    ratios,
    scaleOut,
    targets,
    notes,
  };
}

const dash = '–';

/** The report as the tables printed on stdout. */
export function formatReport(report: BenchReport): string {
  const rows = [
    ...Object.values(report.scenarios),
    ...Object.values(report.scaleOut?.instances ?? {}),
  ].map((result) => {
    const { summary } = result;
    const sql = summary.sqlStatementsPerRequest;
    return [
      result.title,
      result.server,
      summary.requestsPerSecond,
      summary.latencyMs.p50,
      summary.latencyMs.p99,
      summary.cpuMsPerRequest ?? dash,
      summary.bytesPerRequest ?? dash,
      sql === null ? dash : sql.min === sql.max ? sql.min : `${sql.min}–${sql.max}`,
      summary.non2xx,
      summary.peakRssMb ?? dash,
      formatStatuses(summary.statuses) +
        (summary.connectionErrors > 0 ? ` conn-errors×${summary.connectionErrors}` : '') +
        (summary.graphqlErrors > 0 ? ` errors×${summary.graphqlErrors}` : '') +
        (summary.userErrors > 0 ? ` userErrors×${summary.userErrors}` : ''),
    ];
  });
  const machine = report.machine;
  const lines = [
    `Orders API benchmark (${report.mode}), ${report.generatedAt}`,
    `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}, ` +
      `PostgreSQL ${machine.postgres ?? '?'}, load average ${machine.loadAverageAtStart} at start`,
    '',
    renderTable(
      [
        'scenario',
        'server',
        'req/s',
        'p50 ms',
        'p99 ms',
        'CPU ms/req',
        'bytes/req',
        'SQL/req',
        'non-2xx',
        'RSS MB',
        'statuses',
      ],
      rows,
    ),
    '',
    'Ratios (ours ÷ reference):',
    ...Object.entries(report.ratios).map(([name, value]) => `  ${name}: ${value ?? dash}`),
    '',
    'Targets:',
    ...report.targets.map(
      (target) =>
        `  ${target.met === null ? 'not measured' : target.met ? 'met   ' : 'MISSED'}  ${target.name} ${target.target}: ${target.value ?? dash}`,
    ),
  ];
  if (report.scaleOut) lines.push('', `Scale-out load balancer: ${report.scaleOut.loadBalancer}`);
  for (const note of report.notes) lines.push(`Note: ${note}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  let options: BenchOptions | null;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === null) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const teardown = new Teardown();
  // Ctrl-C or a kill: stop the servers, nginx, Redis and PostgreSQL before going.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping everything the bench started…`);
      void teardown.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  const started = performance.now();
  let report: BenchReport;
  try {
    report = await runBench(options, teardown);
  } catch (error) {
    await teardown.run();
    if (error instanceof BenchUsageError) {
      process.stderr.write(`bench: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench: failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
  await teardown.run();
  process.stdout.write(formatReport(report));
  if (options.out) {
    await writeFile(path.resolve(options.out), `${JSON.stringify(report, null, 2)}\n`);
    log(`results written to ${options.out}`);
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s (from ${REPO_ROOT})`);
}

if (isEntryPoint(import.meta.url)) await main();
