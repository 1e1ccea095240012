/**
 * Graceful shutdown on SIGTERM (what orchestrators send) and SIGINT (Ctrl-C): stop accepting
 * connections, let the requests in flight finish, then release everything else and exit 0.
 *
 * `server.close()` alone stops accepting and closes idle keep-alive connections, but a
 * connection whose request is still running stays open after its response, until the client
 * or the keep-alive timeout closes it. So responses written during the shutdown say
 * `Connection: close`, and each connection is closed as soon as its last response is out.
 * Requests still running at the deadline (SHUTDOWN_TIMEOUT_MS) have their connections cut.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

export interface GracefulShutdownOptions {
  server: Server;
  logger: Logger;
  /** Most milliseconds to wait for in-flight requests (`config.shutdownTimeoutMs`). */
  timeoutMs: number;
  /** Closes everything else (pools, clients, timers) once no request is left. */
  cleanup: () => Promise<void>;
}

export function handleShutdownSignals(options: GracefulShutdownOptions): void {
  const shutdown = createShutdown(options);
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * The shutdown sequence, to run once; later calls (a second signal, or the same Ctrl-C
 * reaching every process of a cluster) are ignored. Starts tracking requests right away,
 * so call it before the server listens or right after.
 */
export function createShutdown(options: GracefulShutdownOptions): (signal: string) => void {
  const { server, logger, timeoutMs, cleanup } = options;
  const inFlight = new Set<ServerResponse>();
  let stopping = false;

  const closeWhenDone = (response: ServerResponse) => {
    // After Node's own finish handler has marked the connection idle.
    response.once('finish', () => setImmediate(() => server.closeIdleConnections()));
    if (!response.headersSent) response.setHeader('Connection', 'close');
  };

  server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    inFlight.add(response);
    response.once('close', () => inFlight.delete(response));
    if (stopping) closeWhenDone(response);
  });

  return (signal) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, inFlight: inFlight.size }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.warn(
        { inFlight: inFlight.size, timeoutMs },
        'in-flight requests did not finish in time; closing their connections',
      );
      server.closeAllConnections();
    }, timeoutMs);
    deadline.unref();
    for (const response of inFlight) closeWhenDone(response);
    server.close(async () => {
      clearTimeout(deadline);
      try {
        await cleanup();
      } catch (error) {
        logger.error({ err: error }, 'shutdown cleanup failed');
        process.exit(1);
      }
      logger.info('shut down');
      process.exit(0);
    });
  };
}
