/**
 * `npm start`: load config → open the database (embedded PGlite unless DATABASE_URL) →
 * migrate → seed the demo data on an empty embedded database → createApp → listen.
 * SIGTERM/SIGINT stop accepting, let in-flight requests finish, close the pool, exit 0
 * (http/graceful-shutdown.ts). With WORKERS=n this process is the cluster's primary: it
 * migrates once, then forks n workers that run this file again, as workers (workers.ts).
 */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { createApp } from './app.ts';
import { formatDuration, mintDevToken } from './auth/dev-token.ts';
import { createTokenVerifier } from './auth/jwt.ts';
import { type Config, loadConfigOrExit } from './config.ts';
import { logCircuitTransitions } from './db/circuit-breaker.ts';
import { isEmpty, openDatabase } from './db/client.ts';
import { DEMO_TENANTS, seedDatabase } from './db/seed.ts';
import { handleShutdownSignals } from './http/graceful-shutdown.ts';
import { startMetricsServer } from './http/metrics-server.ts';
import { createHttpServer } from './http/server.ts';
import { startIdempotencyKeyExpiry } from './idempotency/expiry.ts';
import { createLogger } from './logger.ts';
import { shareWithPrimary, workersMetrics } from './metrics/cluster.ts';
import { createMetrics } from './metrics/metrics.ts';
import { startTracing } from './observability/tracing.ts';
import { ManifestError } from './persisted-operations/manifest.ts';
import { openPersistedOperationRegistry } from './persisted-operations/registry.ts';
import { poolMaxOf } from './plugins/index.ts';
import { schema } from './schema/index.ts';
import { createWebhookMetrics } from './webhooks/metrics.ts';
import { startWebhookWorker, webhookWorkerSettings } from './webhooks/worker.ts';
import { runPrimary } from './workers.ts';

const IDEMPOTENCY_EXPIRY_INTERVAL_MS = 60_000;
const IDEMPOTENCY_EXPIRY_BATCH_SIZE = 1_000;

/**
 * When each step of start-up ended, in milliseconds since the process started: the "Orders API
 * ready" log line carries them, so that a slow start says where its time went
 * (scripts/measure-startup.ts prints them; docs/performance.md, Start-up). `modules` is all that
 * happens before main() runs: Node's own start and loading the code.
 */
function startupSteps() {
  const steps: Record<string, number> = {};
  return {
    steps,
    done(step: string) {
      steps[step] = Math.round(performance.now());
    },
  };
}

async function main() {
  const startup = startupSteps();
  startup.done('modules');
  const config = loadConfigOrExit();
  const logger = createLogger(config);
  const started = performance.now();
  startup.done('config');
  if (config.workers > 1 && cluster.isPrimary) {
    await startPrimary(config, logger, started, startup);
    return;
  }

  const database = await openDatabase(config.database);
  startup.done('database');
  logCircuitTransitions(database.circuit, logger);
  // A worker's primary has migrated already (config refuses WORKERS>1 on PGlite: no seed).
  if (!cluster.isWorker) await database.migrate();
  startup.done('migrate');
  if (
    config.database.kind === 'pglite' &&
    config.database.seedDemoData &&
    (await isEmpty(database.db))
  ) {
    const summary = await seedDatabase(database.db, { scale: 1 });
    logger.info(summary, 'seeded the demo data into the embedded database');
  }
  startup.done('seed');

  const verifier = await createTokenVerifier(config.auth, { logger });
  startup.done('auth');
  const persistedOperations = await openPersistedOperationRegistry(schema, config, database).catch(
    (error: unknown) => {
      // A missing or tampered manifest is an operator's mistake: say which, without a stack.
      if (!(error instanceof ManifestError)) throw error;
      console.error(error.message);
      process.exit(1);
    },
  );
  startup.done('persistedOperations');
  // ioredis is loaded only when REDIS_URL asks for it.
  const redis = config.redis
    ? (await import('./redis.ts')).openRedis(config.redis, logger)
    : undefined;
  const demoTokens = config.auth.keys.kind === 'devKey' ? await mintDemoTokens(config) : [];
  startup.done('tokens');
  // One registry for the app's plugins and the METRICS_PORT listener (and process metrics).
  const metrics = config.metrics
    ? createMetrics({ poolMax: poolMaxOf(config), processMetrics: true })
    : undefined;
  if (metrics) {
    metrics.setCircuitState(database.circuit.state);
    database.circuit.onStateChange(metrics.setCircuitState);
    // With workers, the primary's METRICS_PORT listener sums every worker's registry.
    if (cluster.isWorker) shareWithPrimary(metrics.registry);
  }
  // OpenTelemetry only when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise not even loaded.
  const tracing = await startTracing(config.tracing);
  const app = createApp({
    config,
    database,
    verifier,
    logger,
    persistedOperations,
    redis,
    metrics,
    tracing,
    graphiqlAuthorization: demoTokens[0] ? `Bearer ${demoTokens[0].token}` : undefined,
  });
  startup.done('app');

  // Expired idempotency keys go in batches, every minute; the timer is unref'd.
  const expiry = startIdempotencyKeyExpiry({
    database,
    intervalMs: IDEMPOTENCY_EXPIRY_INTERVAL_MS,
    batchSize: IDEMPOTENCY_EXPIRY_BATCH_SIZE,
    timeoutMs: config.timeouts.poolMs,
    logger,
  });

  // Webhook deliveries, unless WEBHOOK_WORKER=false (then `npm run worker` sends them).
  const webhookWorker = config.webhooks.worker
    ? startWebhookWorker({
        database,
        logger,
        ...webhookWorkerSettings(config),
        metrics: metrics && createWebhookMetrics(metrics.registry),
      })
    : undefined;

  const server = createHttpServer(app, config);
  handleShutdownSignals({
    server,
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    async cleanup() {
      expiry.stop();
      await webhookWorker?.stop();
      await metricsServer?.close();
      await database.close();
      redis?.disconnect();
      // The spans of the last requests, still batched, go out before the process does.
      await tracing?.shutdown();
    },
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  startup.done('listen');
  const metricsListen = config.metrics?.listen;
  const metricsServer =
    metrics && metricsListen && !cluster.isWorker
      ? await startMetricsServer({
          registry: metrics.registry,
          ...metricsListen,
          token: config.metrics?.token ?? null,
        })
      : undefined;
  const url = `http://${config.host === '0.0.0.0' || config.host === '127.0.0.1' ? 'localhost' : config.host}:${config.port}/graphql`;
  logger.info(
    {
      url,
      database: database.kind,
      metricsPort: metricsServer?.port,
      startupMs: Math.round(performance.now() - started),
      startupSteps: startup.steps,
    },
    'Orders API ready',
  );
  // With workers, the primary prints the banner once they all listen.
  if (!cluster.isWorker) printBanner(config, url, demoTokens);
}

/** WORKERS>1: migrate once, fork the workers, print the banner when they all listen. */
async function startPrimary(
  config: Config,
  logger: Logger,
  started: number,
  startup: ReturnType<typeof startupSteps>,
) {
  const database = await openDatabase(config.database);
  startup.done('database');
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
  startup.done('migrate');
  const demoTokens = config.auth.keys.kind === 'devKey' ? await mintDemoTokens(config) : [];
  startup.done('tokens');
  await runPrimary({
    workers: config.workers,
    logger,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  });
  startup.done('workersListen');
  // The workers' metrics, summed (config requires METRICS_PORT for metrics with workers).
  const metricsListen = config.metrics?.listen;
  if (metricsListen) {
    await startMetricsServer({
      registry: workersMetrics(),
      ...metricsListen,
      token: config.metrics?.token ?? null,
    });
  }
  const url = `http://${config.host === '0.0.0.0' || config.host === '127.0.0.1' ? 'localhost' : config.host}:${config.port}/graphql`;
  logger.info(
    {
      url,
      workers: config.workers,
      startupMs: Math.round(performance.now() - started),
      startupSteps: startup.steps,
    },
    'Orders API ready',
  );
  printBanner(config, url, demoTokens);
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
