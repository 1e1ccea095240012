/**
 * `npm start`: load config → open the database (embedded PGlite unless DATABASE_URL) →
 * migrate → seed the demo data on an empty embedded database → createApp → listen.
 * SIGTERM/SIGINT stop accepting, let in-flight requests finish, close the pool, exit 0.
 */
import { createServer } from 'node:http';
import { createApp } from './app.ts';
import { createTokenVerifier } from './auth/jwt.ts';
import { formatDuration, mintDevToken } from './cli/token.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { isEmpty, openDatabase } from './db/client.ts';
import { DEMO_TENANTS, seedDatabase } from './db/seed.ts';
import { startIdempotencyKeyExpiry } from './idempotency/expiry.ts';
import { createLogger } from './logger.ts';
import { ManifestError } from './persisted-operations/manifest.ts';
import { openPersistedOperationRegistry } from './persisted-operations/registry.ts';
import { openRedis } from './redis.ts';
import { schema } from './schema/index.ts';

const SHUTDOWN_DEADLINE_MS = 10_000;
const IDEMPOTENCY_EXPIRY_INTERVAL_MS = 60_000;
const IDEMPOTENCY_EXPIRY_BATCH_SIZE = 1_000;

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const logger = createLogger(config);
  const started = performance.now();

  const database = await openDatabase(config.database);
  await database.migrate();
  if (
    config.database.kind === 'pglite' &&
    config.database.seedDemoData &&
    (await isEmpty(database.db))
  ) {
    const summary = await seedDatabase(database.db, { scale: 1 });
    logger.info(summary, 'seeded the demo data into the embedded database');
  }

  const verifier = await createTokenVerifier(config.auth, { logger });
  const persistedOperations = await openPersistedOperationRegistry(
    schema,
    config,
    database.db,
  ).catch((error: unknown) => {
    // A missing or tampered manifest is an operator's mistake: say which, without a stack.
    if (!(error instanceof ManifestError)) throw error;
    console.error(error.message);
    process.exit(1);
  });
  const redis = config.redis ? openRedis(config.redis, logger) : undefined;
  const demoTokens = config.auth.keys.kind === 'devKey' ? await mintDemoTokens(config) : [];
  const app = createApp({
    config,
    database,
    verifier,
    logger,
    persistedOperations,
    redis,
    graphiqlAuthorization: demoTokens[0] ? `Bearer ${demoTokens[0].token}` : undefined,
  });

  // Expired idempotency keys go in batches, every minute; the timer is unref'd.
  const stopExpiry = startIdempotencyKeyExpiry({
    db: database.db,
    intervalMs: IDEMPOTENCY_EXPIRY_INTERVAL_MS,
    batchSize: IDEMPOTENCY_EXPIRY_BATCH_SIZE,
    onError: (error) => logger.error({ err: error }, 'deleting expired idempotency keys failed'),
  });

  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const url = `http://${config.host === '0.0.0.0' || config.host === '127.0.0.1' ? 'localhost' : config.host}:${config.port}/graphql`;
  logger.info(
    { url, database: database.kind, startupMs: Math.round(performance.now() - started) },
    'Orders API ready',
  );
  printBanner(config, url, demoTokens);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.warn('in-flight requests did not finish in time; closing anyway');
      server.closeAllConnections();
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    server.close(async () => {
      stopExpiry();
      await database.close();
      redis?.disconnect();
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function mintDemoTokens(config: Config) {
  const tokens: { tenant: string; user: string; role: string; token: string }[] = [];
  for (const tenant of DEMO_TENANTS) {
    for (const user of tenant.users) {
      const token = await mintDevToken(config, {
        tenant: tenant.slug,
        user: user.username,
        // As long as the server accepts (JWT_MAX_TOKEN_LIFETIME), and the banner says how long.
        ttlSeconds: config.auth.maxTokenLifetimeSeconds,
      });
      tokens.push({ tenant: tenant.slug, user: user.username, role: user.role, token });
    }
  }
  return tokens;
}

function printBanner(
  config: Config,
  url: string,
  tokens: { tenant: string; user: string; role: string; token: string }[],
) {
  const lines = [
    '',
    `  Orders API on ${url}`,
    config.graphiql
      ? `  GraphiQL:  open ${url} in a browser (Authorization is pre-filled as alice)`
      : '',
  ];
  if (tokens.length > 0) {
    lines.push(
      '',
      `  Development tokens, valid for ${formatDuration(config.auth.maxTokenLifetimeSeconds)} (JWT_MAX_TOKEN_LIFETIME; new ones: npm run -s token -- --tenant acme --user bob):`,
    );
    for (const { tenant, user, role, token } of tokens) {
      lines.push(`    ${`${tenant}/${user}`.padEnd(14)} ${role.padEnd(7)} Bearer ${token}`);
    }
  }
  process.stdout.write(
    `${lines.filter((line, i) => line !== '' || i === 0 || lines[i - 1] !== '').join('\n')}\n\n`,
  );
}

await main();
