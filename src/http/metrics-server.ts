/**
 * METRICS_PORT: `/metrics` on a listener of its own, so that the public port never serves it
 * and the scrape can be limited to the monitoring network (METRICS_HOST). Anything else on
 * this listener is 404.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS_PATH, type MetricsSource, scrape } from '../metrics/scrape.ts';

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' };

export interface MetricsServerOptions {
  /** The app's registry; with WORKERS>1, in the primary, the workers' sum (metrics/cluster.ts). */
  registry: MetricsSource;
  host: string;
  /** 0 picks a free port (tests); the bound one is in the result. */
  port: number;
  /** Bearer token a scrape must present; null: none (the listener's network is the guard). */
  token: string | null;
}

export interface MetricsServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (path !== METRICS_PATH) {
      res.writeHead(404, TEXT).end('Not found.\n');
      return;
    }
    scrape(
      options.registry,
      { method: req.method ?? 'GET', authorization: req.headers.authorization ?? null },
      options.token,
    ).then(
      ({ status, headers, body }) => res.writeHead(status, headers).end(body),
      // A worker that did not answer the primary in time (WORKERS>1): this scrape is lost,
      // the next one may succeed; Prometheus records the gap.
      () => res.writeHead(503, TEXT).end('The metrics could not be collected.\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
