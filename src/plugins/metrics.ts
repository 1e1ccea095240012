/**
 * Prometheus metrics of the GraphQL pipeline (metrics/metrics.ts defines them all).
 * @graphql-yoga/plugin-prometheus counts and times requests and operations and counts uses of
 * deprecated fields; this plugin adds what is this product's own: the operation's requested
 * and actual cost, refusals by error code, throttles and idempotent replays.
 *
 * `/metrics` is served here, on the app's own port, only when a bearer token is given
 * (METRICS_TOKEN without METRICS_PORT); otherwise the path is left to the 404 of any unknown
 * route, and METRICS_PORT's listener (http/metrics-server.ts) serves the same registry.
 */
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import { getRequestCost } from '../cost/request-cost.ts';
import { ErrorCode } from '../errors.ts';
import type { Metrics, OperationLabels } from '../metrics/metrics.ts';
import { METRICS_PATH, scrape } from '../metrics/scrape.ts';

export interface MetricsPluginOptions {
  metrics: Metrics;
  /** Serve `/metrics` on this port to scrapes presenting this bearer token. Default: not here. */
  token?: string | null;
}

const THROTTLE_CODES: ReadonlySet<string> = new Set([ErrorCode.THROTTLED, ErrorCode.RATE_LIMITED]);

export function useMetrics(options: MetricsPluginOptions): Plugin<RequestContext> {
  const { metrics, token } = options;
  // By the operation's context: batched operations of one request each have their own.
  const executed = new WeakMap<object, OperationLabels>();
  const answered = new WeakSet<Request>();

  /** Refusals, throttles and execution errors by code; idempotent replays. */
  const count = (result: ExecutionResult) => {
    const codes = (result.errors ?? []).map((error) => String(error.extensions?.code ?? '(none)'));
    if (result.data === undefined) {
      for (const code of new Set(codes)) {
        metrics.rejections.inc({ code });
        if (THROTTLE_CODES.has(code)) metrics.throttles.inc({ code });
      }
    } else {
      for (const code of codes) metrics.executionErrors.inc({ code });
    }
    if (result.extensions?.idempotentReplay === true) metrics.idempotentReplays.inc();
  };

  return {
    onPluginInit({ addPlugin }) {
      addPlugin(
        usePrometheus({
          registry: metrics.registry,
          endpoint: false,
          metrics: {
            graphql_yoga_http_duration: metrics.prometheus.httpDuration,
            graphql_envelop_request: metrics.prometheus.requests,
            graphql_envelop_request_duration: metrics.prometheus.requestDuration,
            graphql_envelop_deprecated_field: metrics.prometheus.deprecatedFields,
            // Off: per-phase timings multiply the series by five for little more insight, a
            // summary cannot be aggregated across instances, and the error counter's `path`
            // label (list indexes included) has no bound. Errors are counted by code below.
            graphql_envelop_request_time_summary: false,
            graphql_envelop_phase_parse: false,
            graphql_envelop_phase_validate: false,
            graphql_envelop_phase_context: false,
            graphql_envelop_phase_execute: false,
            graphql_envelop_phase_subscribe: false,
            graphql_envelop_error_result: false,
            graphql_envelop_execute_resolver: false,
            graphql_envelop_schema_change: false,
          },
        }) as Plugin<RequestContext>,
      );
    },

    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (!token || url.pathname !== METRICS_PATH) return;
      const { status, headers, body } = await scrape(
        metrics.registry,
        { method: request.method, authorization: request.headers.get('authorization') },
        token,
      );
      endResponse(new fetchAPI.Response(body, { status, headers }));
    },

    onExecute({ args }) {
      executed.set(args.contextValue, metrics.operationLabels(args.document, args.operationName));
    },

    onExecutionResult({ request, result, context }) {
      answered.add(request);
      if (!result || Symbol.asyncIterator in result) return;
      count(result);
      const operation = executed.get(context);
      const cost = getRequestCost(context);
      if (!operation || !cost) return;
      metrics.operationCost.observe({ kind: 'requested', ...operation }, cost.requestedQueryCost);
      if (cost.actualQueryCost !== undefined) {
        metrics.operationCost.observe({ kind: 'actual', ...operation }, cost.actualQueryCost);
      }
    },

    onResultProcess({ request, result }) {
      // A request that failed before any operation was handled (a body that is not JSON, ...)
      // never reached onExecutionResult: its errors are refusals too.
      if (answered.has(request) || Symbol.asyncIterator in result) return;
      for (const one of Array.isArray(result) ? result : [result]) count(one);
    },
  };
}
