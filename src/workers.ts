/**
 * WORKERS=n: n processes serve one port (node:cluster), one event loop per core. This is the
 * primary's side: main.ts has run the migrations once before calling it; it forks the
 * workers (each runs main.ts as a worker: createApp → listen, no migrations), replaces a
 * worker that dies, and on SIGTERM/SIGINT passes the signal on and exits once every worker
 * has drained and exited.
 *
 * A worker that keeps dying (a bad deployment, an unreachable database at start) is restarted
 * with an exponential backoff, so a crash loop costs little CPU and logs one line per attempt;
 * a worker that stayed up for a while resets the backoff.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** The workers' own shutdown deadline; a worker still running after it (plus a margin) is killed. */
  shutdownTimeoutMs: number;
}

/** First restart delay; doubled for each quick death in a row, up to the maximum. */
const RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that lived this long was healthy: its death starts the backoff over. */
const HEALTHY_AFTER_MS = 60_000;
/** Time beyond SHUTDOWN_TIMEOUT_MS a worker gets to release its pools and exit. */
const EXIT_MARGIN_MS = 5_000;

/** Forks the workers and resolves once all of them are listening. */
export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { workers, logger, shutdownTimeoutMs } = options;
  const startedAt = new Map<Worker, number>();
  const restarts = new Set<NodeJS.Timeout>();
  let quickDeaths = 0;
  let stopping = false;
  let failedExits = 0;

  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? Date.now());
    startedAt.delete(worker);
    if (stopping) {
      if (code !== 0) failedExits++;
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info({ failedExits }, 'all workers exited');
        process.exit(failedExits === 0 ? 0 : 1);
      }
      return;
    }
    quickDeaths = lived >= HEALTHY_AFTER_MS ? 0 : quickDeaths + 1;
    const delayMs = Math.min(RESTART_DELAY_MS * 2 ** (quickDeaths - 1), MAX_RESTART_DELAY_MS);
    logger.error(
      { workerPid: worker.process.pid, code, signal, livedMs: lived, restartInMs: delayMs },
      'worker died; starting a replacement',
    );
    const timer = setTimeout(() => {
      restarts.delete(timer);
      fork();
    }, delayMs);
    restarts.add(timer);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const timer of restarts) clearTimeout(timer);
    const running = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    logger.info({ signal, workers: running.length }, 'shutting down the workers');
    if (running.length === 0) process.exit(0);
    for (const worker of running) worker.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error('workers did not exit in time; killing them');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }, shutdownTimeoutMs + EXIT_MARGIN_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  // Ready when n workers listen; one that dies on the way is replaced like any other.
  await new Promise<void>((resolve) => {
    let listening = 0;
    const onListening = () => {
      listening++;
      if (listening < workers) return;
      cluster.off('listening', onListening);
      resolve();
    };
    cluster.on('listening', onListening);
    for (let i = 0; i < workers; i++) fork();
  });
}
