/**
 * What the operation limits cost: how long rejecting a 1 MB document and a 5,000-alias
 * document takes, and the throughput of a normal query (an orders page) with the whole
 * cost-control stack at its defaults, with its limits raised out of reach, and removed
 * (`protections: false`). The app runs in-process on an in-memory PGlite
 * (as in the tests) and is called through `app.fetch`, so the numbers are the pipeline's,
 * without sockets. Run with `npx tsx scripts/bench-limits.ts`; prints one JSON summary.
 * Not a test: timings are noisy, so nothing here asserts on them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { type App, createApp } from '../src/app.ts';
import { mintDevToken } from '../src/auth/dev-token.ts';
import { createTokenVerifier } from '../src/auth/jwt.ts';
import { loadConfig } from '../src/config.ts';
import { openMemoryDatabase } from '../src/db/client.ts';
import { seedDatabase } from '../src/db/seed.ts';
import { openPersistedOperationRegistry } from '../src/persisted-operations/registry.ts';
import { schema } from '../src/schema/index.ts';

const REJECTIONS = 50;
const THROUGHPUT_REQUESTS = 400;
const ROUNDS = 5;

/** Budgets and cost out of the way in every app: this measures the limits. */
const ROOMY_BUDGET = {
  MAX_COST: '1000000000',
  BUDGET_PRO: '1000000000/1000000000',
  BUDGET_FREE: '1000000000/1000000000',
  BUDGET_ANONYMOUS: '1000000000/1000000000',
};

/** Every operation limit raised out of reach ("the limit stack off"). */
const HUGE_LIMITS = {
  MAX_DOCUMENT_SIZE: '100000000',
  MAX_TOKENS: '100000000',
  MAX_DEPTH: '100000',
  MAX_ALIASES: '100000000',
  MAX_ROOT_FIELDS: '100000000',
  MAX_DIRECTIVES: '100000000',
};

/** Size and tokens raised so that the alias count is what rejects the document. */
const ALIASES_ONLY = { MAX_DOCUMENT_SIZE: '100000000', MAX_TOKENS: '100000000' };

const ORDERS_PAGE = /* GraphQL */ `
  query OrdersPage {
    orders(first: 20) {
      nodes { id status total { amount currency } customer { username } items { quantity } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

const ONE_MEGABYTE = `{ __typename }${' '.repeat(1_048_576 - 14)}`;
const FIVE_THOUSAND_ALIASES = `{ products(first: 1) { ${Array.from(
  { length: 5_000 },
  (_, i) => `a${i}: __typename`,
).join(' ')} } }`;

interface Bench {
  app: App;
  token: string;
  close(): Promise<void>;
}

async function boot(env: Record<string, string>, protections = true): Promise<Bench> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'orders-bench-'));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, ...ROOMY_BUDGET, ...env });
  const database = await openMemoryDatabase();
  await database.migrate();
  await seedDatabase(database.db, { scale: 1 });
  const verifier = await createTokenVerifier(config.auth);
  const logger = pino({ level: 'silent' });
  const persistedOperations = await openPersistedOperationRegistry(schema, config, database);
  const app = createApp({ config, database, verifier, logger, protections, persistedOperations });
  const token = await mintDevToken(config, { tenant: 'acme', user: 'alice' });
  return {
    app,
    token,
    async close() {
      await database.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function post(bench: Bench, query: string): Promise<{ status: number; code?: string }> {
  return postBody(bench, JSON.stringify({ query }));
}

async function postBody(bench: Bench, body: string): Promise<{ status: number; code?: string }> {
  const response = await bench.app.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${bench.token}`,
    },
    body,
  });
  const answer = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
  return { status: response.status, code: answer.errors?.[0]?.extensions?.code };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return Math.round(value * 1000) / 1000;
}

/**
 * Milliseconds per rejection, median of REJECTIONS. A comment with the iteration number
 * makes every document new, so Yoga's parse and validation caches never answer: the
 * attacker's case, not the cached one.
 */
async function rejection(bench: Bench, document: string, expectedCode: string) {
  // Bodies are serialized up front: JSON.stringify of 1 MB is the client's cost, not ours.
  const bodies = Array.from({ length: REJECTIONS }, (_, i) =>
    JSON.stringify({ query: `${document}\n#${i}` }),
  );
  const times: number[] = [];
  for (const body of bodies) {
    const started = performance.now();
    const { status, code } = await postBody(bench, body);
    times.push(performance.now() - started);
    if (code !== expectedCode) throw new Error(`expected ${expectedCode}, got ${status} ${code}`);
  }
  return { code: expectedCode, medianMs: median(times), requests: REJECTIONS };
}

/** Sequential requests per second of the same (cached) orders page. */
async function throughput(bench: Bench): Promise<number> {
  for (let i = 0; i < 50; i++) await post(bench, ORDERS_PAGE);
  const started = performance.now();
  for (let i = 0; i < THROUGHPUT_REQUESTS; i++) {
    const { status } = await post(bench, ORDERS_PAGE);
    if (status !== 200) throw new Error(`orders page answered ${status}`);
  }
  return THROUGHPUT_REQUESTS / ((performance.now() - started) / 1000);
}

async function main() {
  const limited = await boot({});
  const unlimited = await boot(HUGE_LIMITS);
  const unprotected = await boot({}, false);
  const aliasesOnly = await boot(ALIASES_ONLY);
  try {
    const oneMegabyte = await rejection(limited, ONE_MEGABYTE, 'DOCUMENT_TOO_LARGE');
    const aliasesBySize = await rejection(limited, FIVE_THOUSAND_ALIASES, 'DOCUMENT_TOO_LARGE');
    const aliasesByCount = await rejection(aliasesOnly, FIVE_THOUSAND_ALIASES, 'TOO_MANY_ALIASES');

    // Alternate the two apps so that drift (JIT, GC, thermal) hits both alike.
    const on: number[] = [];
    const raised: number[] = [];
    const off: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      on.push(await throughput(limited));
      raised.push(await throughput(unlimited));
      off.push(await throughput(unprotected));
    }
    const onRps = median(on);
    const raisedRps = median(raised);
    const offRps = median(off);
    console.log(
      JSON.stringify(
        {
          node: process.version,
          database: 'pglite (in memory)',
          rejectOneMegabyteDocument: oneMegabyte,
          rejectFiveThousandAliases: {
            atDefaultLimits: aliasesBySize,
            withSizeAndTokenLimitsRaised: aliasesByCount,
          },
          ordersPageThroughput: {
            requestsPerRound: THROUGHPUT_REQUESTS,
            rounds: ROUNDS,
            limitsOnRps: Math.round(onRps),
            limitsRaisedRps: Math.round(raisedRps),
            protectionsOffRps: Math.round(offRps),
            protectionsOnVsOff: Math.round((onRps / offRps) * 1000) / 1000,
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await Promise.all([
      limited.close(),
      unlimited.close(),
      unprotected.close(),
      aliasesOnly.close(),
    ]);
  }
}

await main();
