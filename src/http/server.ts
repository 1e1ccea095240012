/**
 * The node:http server both entry points (`npm start`, the bench's server) put the app on.
 * Outside production each response names the process that served it, so tests and the bench
 * can tell workers and instances apart behind a load balancer.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Config } from '../config.ts';

export const PROCESS_ID_HEADER = 'X-Process-Id';

export function createHttpServer(
  app: RequestListener,
  config: Pick<Config, 'isProduction'>,
): Server {
  if (config.isProduction) return createServer(app);
  return createServer((request, response) => {
    response.setHeader(PROCESS_ID_HEADER, String(process.pid));
    return app(request, response);
  });
}
