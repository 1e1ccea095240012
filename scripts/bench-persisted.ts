/**
 * Throughput of one query, the orders page a frontend sends (persisted-queries/OrderList.graphql:
 * 20 orders with customer and items → product), sent three ways: as a persisted id
 * (`documentId`, the document parsed and validated once, at its first use), as its full text
 * (Yoga's parse and validation caches answer after the first request, keyed by the text), and as
 * full text that is new every time (a comment with the request number: nothing cached, the
 * attacker's or the badly-built client's case). The app runs in-process on an in-memory PGlite
 * and is called through `app.fetch`, so the numbers are the pipeline's, without sockets.
 * Run with `npx tsx scripts/bench-persisted.ts`; prints one JSON summary. Not a test: timings
 * are noisy, so nothing here asserts on them.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createApp } from '../src/app.ts';
import { mintDevToken } from '../src/auth/dev-token.ts';
import { createTokenVerifier } from '../src/auth/jwt.ts';
import { loadConfig } from '../src/config.ts';
import { openMemoryDatabase } from '../src/db/client.ts';
import { seedDatabase } from '../src/db/seed.ts';
import { digestsOf } from '../src/persisted-operations/digests.ts';
import { openPersistedOperationRegistry } from '../src/persisted-operations/registry.ts';
import { schema } from '../src/schema/index.ts';

const REQUESTS = 400;
const ROUNDS = 5;

async function main() {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'orders-bench-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    PERSISTED_OPERATIONS: 'allow',
    BUDGET_PRO: '1000000000/1000000000',
  });
  const database = await openMemoryDatabase();
  await database.migrate();
  await seedDatabase(database.db, { scale: 1 });
  const app = createApp({
    config,
    database,
    verifier: await createTokenVerifier(config.auth),
    logger: pino({ level: 'silent' }),
    persistedOperations: await openPersistedOperationRegistry(schema, config, database),
  });
  const token = await mintDevToken(config, { tenant: 'acme', user: 'alice' });
  const document = await readFile('persisted-queries/OrderList.graphql', 'utf8');
  const documentId = `sha256:${digestsOf(document).sha256}`;

  const post = async (body: string) => {
    const response = await app.fetch('http://localhost/graphql', {
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
      throw new Error(`answered ${response.status}: ${text.slice(0, 300)}`);
    }
    return text.length;
  };

  const ways = {
    persistedId: () => JSON.stringify({ documentId }),
    fullText: () => JSON.stringify({ query: document }),
    fullTextUncached: (i: number) =>
      JSON.stringify({ query: `${document}\n# ${Math.random()} ${i}` }),
  };

  /** Sequential requests per second; bodies built up front (serializing is the client's work). */
  async function throughput(way: keyof typeof ways): Promise<number> {
    const bodies = Array.from({ length: REQUESTS }, (_, i) => ways[way](i));
    for (let i = 0; i < 50; i++) await post(ways[way](-i));
    const started = performance.now();
    for (const body of bodies) await post(body);
    return REQUESTS / ((performance.now() - started) / 1000);
  }

  try {
    const results: Record<keyof typeof ways, number[]> = {
      persistedId: [],
      fullText: [],
      fullTextUncached: [],
    };
    // Alternate the ways so that drift (JIT, GC, a noisy neighbour) hits all of them alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const way of Object.keys(ways) as (keyof typeof ways)[]) {
        results[way].push(await throughput(way));
      }
    }
    const rps = Object.fromEntries(
      Object.entries(results).map(([way, values]) => [way, Math.round(median(values))]),
    ) as Record<keyof typeof ways, number>;
    console.log(
      JSON.stringify(
        {
          node: process.version,
          database: 'pglite (in memory)',
          operation: 'OrderList (orders(first: 20) with customer and items → product)',
          requestBodyBytes: {
            persistedId: ways.persistedId().length,
            fullText: ways.fullText().length,
          },
          requestsPerRound: REQUESTS,
          rounds: ROUNDS,
          rps,
          persistedVsFullText: Math.round((rps.persistedId / rps.fullText) * 1000) / 1000,
          persistedVsUncachedText:
            Math.round((rps.persistedId / rps.fullTextUncached) * 1000) / 1000,
        },
        null,
        2,
      ),
    );
  } finally {
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

await main();
