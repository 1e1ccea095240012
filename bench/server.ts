/**
 * The server `npm run bench` drives (bench/bench.ts starts it; not for deployments): the real
 * app, configured from the environment like `npm start`, and the two reference servers that no
 * configuration can produce, only these flags:
 *
 *   --protections off   every cost control dropped (createApp's `protections: false`)
 *   --naive             relations loaded one key per SQL statement (createApp's `batching: false`)
 *
 * One process, no workers; it neither migrates nor seeds (the bench did). Responses carry
 * X-Process-Id outside production, as `npm start`'s do, so the bench sees which instance
 * answered behind a load balancer. SIGTERM/SIGINT shut it down gracefully.
 */
import { parseArgs } from 'node:util';
import { createApp } from '../src/app.ts';
import { createTokenVerifier } from '../src/auth/jwt.ts';
import { type Config, ConfigError, loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { handleShutdownSignals } from '../src/http/graceful-shutdown.ts';
import { createHttpServer } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { openPersistedOperationRegistry } from '../src/persisted-operations/registry.ts';
import { openRedis } from '../src/redis.ts';
import { schema } from '../src/schema/index.ts';

const USAGE = 'Usage: node --import tsx bench/server.ts [--protections on|off] [--naive]';

function fail(message: string): never {
  process.stderr.write(`bench-server: ${message}\n`);
  process.exit(1);
}

function parseCommandLine(argv: string[]): { protections: boolean; batching: boolean } {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        protections: { type: 'string', default: 'on' },
        naive: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.protections !== 'on' && values.protections !== 'off') {
      fail(`--protections must be on or off, got "${values.protections}".\n${USAGE}`);
    }
    return { protections: values.protections === 'on', batching: !values.naive };
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const { protections, batching } = parseCommandLine(process.argv.slice(2));
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    fail(error.message);
  }
  // The references exist to be measured against, never to serve anyone.
  if (config.isProduction && (!protections || !batching)) {
    fail('--protections off and --naive are for benchmarks: refused when NODE_ENV=production.');
  }
  const logger = createLogger(config);
  const database = await openDatabase(config.database);
  const verifier = await createTokenVerifier(config.auth, { logger });
  const persistedOperations = await openPersistedOperationRegistry(schema, config, database);
  const redis = config.redis ? openRedis(config.redis, logger) : undefined;
  const app = createApp({
    config,
    database,
    verifier,
    logger,
    persistedOperations,
    redis,
    protections,
    batching,
  });
  const server = createHttpServer(app, config);
  handleShutdownSignals({
    server,
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    async cleanup() {
      await database.close();
      redis?.disconnect();
    },
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  logger.info(
    { port: config.port, database: database.kind, protections, batching, redis: Boolean(redis) },
    'Orders API ready',
  );
}

await main();
