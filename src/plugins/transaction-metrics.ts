/**
 * Database pool use: postgres.js exposes no pool statistics, so this counts what the server
 * itself holds, the request transactions (each takes one pooled connection from BEGIN to
 * COMMIT, or waits for one). Listed right after useTenantTransaction, whose executeFn it wraps:
 * it sees exactly the operations that open a transaction, not those the cost controls stopped.
 */
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import type { Metrics } from '../metrics/metrics.ts';

export function useTransactionMetrics(options: { metrics: Metrics }): Plugin<RequestContext> {
  const inFlight = options.metrics.dbTransactionsInFlight;
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        inFlight.inc();
        try {
          return await executeFn(args);
        } finally {
          inFlight.dec();
        }
      });
    },
  };
}
