/**
 * Metrics with WORKERS=n (node:cluster). Each worker counts into its own registry; a scrape
 * that reached one worker would see a random share of the traffic, and counters would seem to
 * go backwards between scrapes. So the primary serves METRICS_PORT, and each scrape asks every
 * worker for its registry over the cluster's IPC channel and answers the sum (prom-client's
 * AggregatorRegistry): counters and histograms add up; so do the gauges, which then read as
 * totals: transactions in flight and pool connections over all workers, and, for the circuit,
 * how many workers are in each state.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsSource } from './scrape.ts';

/** In a worker: answer the primary's requests with this registry. */
export function shareWithPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Its constructor installs the worker's listener for the primary's requests.
  new AggregatorRegistry();
}

/** In the primary: the sum of every worker's registry, read afresh on each scrape. */
export function workersMetrics(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return { contentType: aggregator.contentType, metrics: () => aggregator.clusterMetrics() };
}
