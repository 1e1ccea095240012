/**
 * `npm run db:seed -- --scale N [--reset]`: migrates the configured database (PostgreSQL when
 * DATABASE_URL is set, else the embedded PGlite under DATA_DIR) and fills it with the
 * deterministic data set of src/db/seed.ts. Scale 1 is the demo; scale 100 is about 10k
 * products, 50k orders and 150k order items.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import { SeedConflictError, seedDatabase } from '../db/seed.ts';

const USAGE = `Usage: npm run db:seed -- [--scale N] [--reset]

  --scale N   1 (default) seeds the demo tenants acme and globex; N up to 1000 adds bulk
              data: products 100·N, orders ≈ 500·N, order items ≈ 1500·N in total
  --reset     delete all tenants and their rows first (otherwise a non-empty database
              is refused)
  --help      show this help`;

const MAX_SCALE = 1000;

function fail(message: string): never {
  process.stderr.write(`db:seed: ${message}\n`);
  process.exit(1);
}

function parseCommandLine(argv: string[]): { scale: number; reset: boolean } {
  let values: { scale?: string; reset?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scale: { type: 'string', short: 's' },
        reset: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const raw = values.scale ?? '1';
  const scale = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(scale) || scale < 1 || scale > MAX_SCALE) {
    fail(`--scale must be an integer from 1 to ${MAX_SCALE}, got "${raw}".`);
  }
  return { scale, reset: values.reset ?? false };
}

async function main(): Promise<void> {
  const { scale, reset } = parseCommandLine(process.argv.slice(2));
  const config = loadConfig();
  const database = await openDatabase(config.database);
  const where =
    config.database.kind === 'postgres' ? 'PostgreSQL' : `PGlite at ${config.database.dataDir}`;
  try {
    await database.migrate();
    const started = performance.now();
    const summary = await seedDatabase(database.db, { scale, reset });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `Seeded scale ${scale} into ${where}: ${summary.tenants} tenants, ${summary.users} users, ` +
        `${summary.products} products, ${summary.orders} orders, ` +
        `${summary.orderItems} order items in ${seconds}s\n`,
    );
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof SeedConflictError) fail(error.message);
  // Drizzle's "Failed query" message lists every bound parameter: thousands for a chunk.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const message = error instanceof Error ? error.message : String(error);
  fail(`failed: ${cause ? `${cause.message} (in ${message.slice(0, 120)}…)` : message}`);
});
