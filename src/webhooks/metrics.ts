/**
 * The delivery worker's Prometheus metrics, registered into the app's registry (main.ts passes
 * metrics/metrics.ts's). Labels are bounded: event types are the fixed list of events.ts,
 * outcomes and attempt results are the fixed sets below.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** How one attempt ended. */
export type AttemptResult = 'success' | 'http_error' | 'network_error' | 'timeout' | 'refused';

/** What became of a delivery after an attempt. */
export type DeliveryOutcome = 'succeeded' | 'retrying' | 'failed';

export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;

export function createWebhookMetrics(registry: Registry) {
  return {
    attempts: new Counter({
      name: 'webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts (HTTP POSTs tried), by event type and result.',
      labelNames: ['event_type', 'result'] as const,
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts by event type and what became of the delivery: succeeded, retrying (scheduled again) or failed (retries exhausted or a permanent refusal).',
      labelNames: ['event_type', 'outcome'] as const,
      registers: [registry],
    }),
    outboxLag: new Gauge({
      name: 'webhook_outbox_lag_seconds',
      help: 'Age of the oldest due webhook delivery (0 when none is waiting): how far the workers are behind.',
      registers: [registry],
    }),
  };
}
