/**
 * Answers a scrape of `/metrics`, on the main port (plugins/metrics.ts) or on the METRICS_PORT
 * listener (http/metrics-server.ts): the registry in Prometheus's text format, to a GET that
 * presents the bearer token when one is configured.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const METRICS_PATH = '/metrics';

/** What a scrape reads: a prom-client Registry, or the cluster's sum (metrics/cluster.ts). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface ScrapeRequest {
  method: string;
  /** The Authorization header, if any. */
  authorization: string | null;
}

export interface ScrapeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const TEXT = 'text/plain; charset=utf-8';

export async function scrape(
  registry: MetricsSource,
  request: ScrapeRequest,
  token: string | null,
): Promise<ScrapeResponse> {
  if (request.method !== 'GET') {
    return { status: 405, headers: { Allow: 'GET', 'Content-Type': TEXT }, body: 'Use GET.\n' };
  }
  if (token !== null && !presents(request.authorization, token)) {
    return {
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer realm="metrics"', 'Content-Type': TEXT },
      body: 'A bearer token (METRICS_TOKEN) is required.\n',
    };
  }
  return {
    status: 200,
    headers: { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' },
    body: await registry.metrics(),
  };
}

/** Compares digests, so the time taken says nothing about how much of the token matched. */
function presents(authorization: string | null, token: string): boolean {
  const presented = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1];
  if (presented === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(token));
}
