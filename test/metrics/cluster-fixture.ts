/**
 * A two-worker cluster for test/metrics/cluster.test.ts: worker n records n idempotent replays
 * and shares its registry; once both have, the primary serves the sum on a free loopback port
 * and prints that port. The test kills the process when it is done.
 */
import cluster from 'node:cluster';
import { startMetricsServer } from '../../src/http/metrics-server.ts';
import { shareWithPrimary, workersMetrics } from '../../src/metrics/cluster.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';

if (cluster.isPrimary) {
  let ready = 0;
  cluster.on('message', async () => {
    ready++;
    if (ready < 2) return;
    const server = await startMetricsServer({
      registry: workersMetrics(),
      host: '127.0.0.1',
      port: 0,
      token: null,
    });
    process.stdout.write(`${server.port}\n`);
  });
  cluster.fork({ WORKER_NUMBER: '1' });
  cluster.fork({ WORKER_NUMBER: '2' });
} else {
  const metrics = createMetrics({ poolMax: 3 });
  metrics.idempotentReplays.inc(Number(process.env.WORKER_NUMBER));
  if (process.env.WORKER_NUMBER === '2') metrics.setCircuitState('open');
  shareWithPrimary(metrics.registry);
  process.send?.('ready');
}
