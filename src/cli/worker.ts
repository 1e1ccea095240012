/**
 * `npm run worker`: the webhook delivery worker alone, for scale-out (run the API with
 * WEBHOOK_WORKER=false and as many of these as the deliveries need; they share the outbox
 * safely). Same configuration as the server; METRICS_PORT serves its metrics. SIGTERM or SIGINT stops claiming, lets the
 * deliveries in flight finish and be recorded, closes the pool and exits 0; a delivery cut off
 * by a harder stop is claimed again when its lease expires.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfigOrExit } from '../config.ts';
import { logCircuitTransitions } from '../db/circuit-breaker.ts';
import { openDatabase } from '../db/client.ts';
import { startMetricsServer } from '../http/metrics-server.ts';
import { createLogger } from '../logger.ts';
import { createWebhookMetrics } from '../webhooks/metrics.ts';
import { startWebhookWorker, webhookWorkerSettings } from '../webhooks/worker.ts';

const config = loadConfigOrExit();
const logger = createLogger(config);
const database = await openDatabase(config.database);
logCircuitTransitions(database.circuit, logger);
await database.migrate();
// With METRICS_PORT, the worker's own metrics (deliveries, attempts, outbox lag, process).
const metricsListen = config.metrics?.listen;
const registry = metricsListen ? new Registry() : undefined;
if (registry) collectDefaultMetrics({ register: registry });
const metricsServer =
  registry && metricsListen
    ? await startMetricsServer({ registry, ...metricsListen, token: config.metrics?.token ?? null })
    : undefined;
const worker = startWebhookWorker({
  database,
  logger,
  ...webhookWorkerSettings(config),
  metrics: registry && createWebhookMetrics(registry),
});
logger.info(
  { database: database.kind, metricsPort: metricsServer?.port },
  'webhook worker running',
);

let stopping = false;
const stop = async (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'webhook worker stopping');
  await worker.stop();
  await metricsServer?.close();
  await database.close();
  logger.info('webhook worker stopped');
  process.exit(0);
};
process.on('SIGTERM', (signal) => void stop(signal));
process.on('SIGINT', (signal) => void stop(signal));
