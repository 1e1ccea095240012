/**
 * The delivery worker: the outbox's read side. Each round claims a batch of due deliveries
 * (`FOR UPDATE SKIP LOCKED`, so workers in several processes never claim the same row) by
 * giving them a lease (`locked_until`), POSTs each one signed (Standard Webhooks), and records
 * the outcome. A claim is a lease, not a status: a worker killed mid-delivery leaves a lease
 * that expires, after which another worker (or this one restarted) claims the delivery again.
 * Delivery is therefore at least once, with the same `webhook-id` on every attempt, which is
 * what receivers de-duplicate by.
 *
 * Every database round goes through the circuit breaker; while the database is unreachable
 * the worker waits for the circuit's Retry-After instead of polling, and logs the outage once.
 * It runs outside any tenant, whatever role the app connects as, through SECURITY DEFINER
 * functions (drizzle/0010: claim_webhook_deliveries, record_webhook_attempt,
 * webhook_outbox_lag_seconds) that run as the migrating role, which the `delivery_worker`
 * policies let read every tenant's events and endpoints and update their deliveries.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { sql } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { ErrorCode } from '../errors.ts';
import type { AttemptResult, DeliveryOutcome, WebhookMetrics } from './metrics.ts';
import { signatureHeader } from './signing.ts';
import {
  parseWebhookUrl,
  type Resolver,
  resolveWebhookAddress,
  type UrlPolicy,
  UrlRefusedError,
} from './url-policy.ts';

export interface WebhookWorkerOptions {
  database: Pick<Database, 'db' | 'circuit'>;
  logger: Logger;
  /** Milliseconds before each retry (WEBHOOK_RETRY_SCHEDULE); FAILED after the last. */
  retryScheduleMs: readonly number[];
  urlPolicy: UrlPolicy;
  metrics?: WebhookMetrics;
  /** How often an idle worker looks for due deliveries. Default 1 s. */
  pollIntervalMs?: number;
  /** Deliveries claimed (and sent concurrently) per round. Default 10. */
  batchSize?: number;
  /** How long a claim lasts; beyond the request timeout, so a live worker never loses one. Default 60 s. */
  leaseMs?: number;
  /** Most milliseconds one POST may take, connection to last byte. Default 10 s. */
  timeoutMs?: number;
  /** DNS resolution (tests pass their own). */
  resolve?: Resolver;
  /** Bound on each database call's wait, as for requests (DB_POOL_TIMEOUT_MS). Default 5 s. */
  dbTimeoutMs?: number;
}

/** The options that come from settings: the same for the server's worker and `npm run worker`. */
export function webhookWorkerSettings(
  config: Pick<Config, 'webhooks' | 'timeouts'>,
): Pick<WebhookWorkerOptions, 'retryScheduleMs' | 'urlPolicy' | 'dbTimeoutMs'> {
  return {
    retryScheduleMs: config.webhooks.retryScheduleMs,
    urlPolicy: {
      requireHttps: config.webhooks.requireHttps,
      allowPrivate: config.webhooks.allowPrivateUrls,
    },
    dbTimeoutMs: config.timeouts.poolMs,
  };
}

export interface WebhookWorker {
  /** Stops claiming, waits for the deliveries in flight to be recorded, resolves when idle. */
  stop(): Promise<void>;
}

const DEFAULTS = {
  pollIntervalMs: 1_000,
  batchSize: 10,
  leaseMs: 60_000,
  timeoutMs: 10_000,
  dbTimeoutMs: 5_000,
};
/** Retry delays are spread ±20% so that deliveries failed together do not retry together. */
const JITTER = 0.2;
const MAX_ERROR_LENGTH = 500;

/** A claimed delivery with what sending it needs. */
export interface ClaimedDelivery {
  id: string;
  attempts: number;
  eventId: string;
  eventType: string;
  payload: string;
  url: string;
  secrets: string[];
  leaseToken: string;
}

function rowsOf<Row>(result: unknown): Row[] {
  return Array.isArray(result) ? (result as Row[]) : (result as { rows: Row[] }).rows;
}

/**
 * Claims up to `limit` due deliveries of enabled endpoints for `leaseMs`, counting the attempt.
 * A delivery whose endpoint is disabled waits, pending, until it is enabled again.
 */
export async function claimDueDeliveries(
  db: Database['db'],
  options: { limit: number; leaseMs: number },
): Promise<ClaimedDelivery[]> {
  const leaseToken = randomUUID();
  const result = await db.execute(
    sql`select * from claim_webhook_deliveries(${options.limit}, ${Math.ceil(options.leaseMs)}, ${leaseToken})`,
  );
  type Row = {
    delivery_id: string;
    attempt: number;
    message_id: string;
    message_type: string;
    body: string;
    endpoint_url: string;
    signing_secret: string;
    previous_signing_secret: string | null;
  };
  return rowsOf<Row>(result).map((row) => ({
    id: row.delivery_id,
    attempts: Number(row.attempt),
    eventId: row.message_id,
    eventType: row.message_type,
    payload: row.body,
    url: row.endpoint_url,
    secrets: row.previous_signing_secret
      ? [row.signing_secret, row.previous_signing_secret]
      : [row.signing_secret],
    leaseToken,
  }));
}

/** Age in seconds of the oldest due delivery; 0 when none is due. */
export async function outboxLagSeconds(db: Database['db']): Promise<number> {
  const result = await db.execute(sql`select webhook_outbox_lag_seconds() as lag`);
  return Math.max(0, Number(rowsOf<{ lag: number }>(result)[0]?.lag ?? 0));
}

interface AttemptReport {
  result: AttemptResult;
  retryable: boolean;
  responseStatus: number | null;
  error: string | null;
}

class TimeoutError extends Error {}

/** POSTs `body` to `url`, connecting to `address` (checked already); no redirect is followed. */
function post(
  url: URL,
  target: { address: string; family: number },
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<number> {
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [target]);
    else callback(null, target.address, target.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup,
      agent: false,
    });
    const timer = setTimeout(() => request.destroy(new TimeoutError()), timeoutMs);
    request.on('response', (response) => {
      // The body is not needed, only read so that the connection ends normally.
      response.resume();
      response.on('error', () => {});
      response.on('close', () => {
        clearTimeout(timer);
        resolve(response.statusCode ?? 0);
      });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(body);
  });
}

export function startWebhookWorker(options: WebhookWorkerOptions): WebhookWorker {
  const { database, logger, retryScheduleMs, urlPolicy, metrics } = options;
  const { pollIntervalMs, batchSize, leaseMs, timeoutMs, dbTimeoutMs } = {
    ...DEFAULTS,
    ...options,
  };
  const bounded = { timeoutMs: dbTimeoutMs };
  const log = logger.child({ component: 'webhook-worker' });
  let stopping = false;
  let wake: (() => void) | undefined;
  let outageLogged = false;

  async function attempt(delivery: ClaimedDelivery): Promise<AttemptReport> {
    try {
      const url = parseWebhookUrl(delivery.url, urlPolicy);
      const target = await resolveWebhookAddress(url, urlPolicy, options.resolve);
      const timestamp = Math.floor(Date.now() / 1000);
      const status = await post(
        url,
        target,
        {
          'content-type': 'application/json',
          'user-agent': 'orders-api-webhooks/1',
          'webhook-id': delivery.eventId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(
            delivery.secrets,
            delivery.eventId,
            timestamp,
            delivery.payload,
          ),
        },
        delivery.payload,
        timeoutMs,
      );
      if (status >= 200 && status < 300) {
        return { result: 'success', retryable: false, responseStatus: status, error: null };
      }
      return {
        result: 'http_error',
        retryable: status === 429 || status >= 500,
        responseStatus: status,
        error: `HTTP ${status}`,
      };
    } catch (error) {
      if (error instanceof TimeoutError) {
        return {
          result: 'timeout',
          retryable: true,
          responseStatus: null,
          error: `No response within ${timeoutMs} ms.`,
        };
      }
      if (error instanceof UrlRefusedError) {
        return {
          result: error.retryable ? 'network_error' : 'refused',
          retryable: error.retryable,
          responseStatus: null,
          error: error.message,
        };
      }
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      return {
        result: 'network_error',
        retryable: true,
        responseStatus: null,
        error: (typeof code === 'string' ? `${code}: ${message}` : message).slice(
          0,
          MAX_ERROR_LENGTH,
        ),
      };
    }
  }

  async function deliver(delivery: ClaimedDelivery): Promise<void> {
    const report = await attempt(delivery);
    const retryDelay = retryScheduleMs[delivery.attempts - 1];
    const outcome: DeliveryOutcome =
      report.result === 'success'
        ? 'succeeded'
        : report.retryable && retryDelay !== undefined
          ? 'retrying'
          : 'failed';
    const now = new Date();
    const nextAttemptAt =
      outcome === 'retrying'
        ? new Date(now.getTime() + retryDelay! * (1 - JITTER + Math.random() * 2 * JITTER))
        : now;
    metrics?.attempts.inc({ event_type: delivery.eventType, result: report.result });
    metrics?.deliveries.inc({ event_type: delivery.eventType, outcome });
    const fields = {
      deliveryId: delivery.id,
      eventId: delivery.eventId,
      eventType: delivery.eventType,
      attempt: delivery.attempts,
      responseStatus: report.responseStatus,
      outcome,
    };
    if (outcome === 'succeeded') log.info(fields, 'webhook delivered');
    else if (outcome === 'retrying') {
      log.warn(
        { ...fields, error: report.error, nextAttemptAt },
        'webhook delivery will be retried',
      );
    } else log.warn({ ...fields, error: report.error }, 'webhook delivery failed');
    try {
      // Fenced by the lease token (in record_webhook_attempt): a worker whose lease expired
      // and was claimed again by another must not overwrite the newer attempt's record.
      await database.circuit.run(
        () =>
          database.db.execute(
            sql`select record_webhook_attempt(${delivery.id}, ${delivery.leaseToken}, ${outcome === 'retrying' ? 'pending' : outcome}, ${nextAttemptAt.toISOString()}::timestamptz, ${report.responseStatus}::integer, ${report.error}::text)`,
          ),
        bounded,
      );
    } catch (error) {
      // The lease expires and the delivery is attempted again: at least once, never lost.
      log.warn(
        { deliveryId: delivery.id, eventId: delivery.eventId, err: error },
        'recording a webhook attempt failed; it will be attempted again when its lease expires',
      );
    }
  }

  /** One round: claim, deliver, record; returns how many deliveries it claimed. */
  async function round(): Promise<number> {
    const claimed = await database.circuit.run(
      () => claimDueDeliveries(database.db, { limit: batchSize, leaseMs }),
      bounded,
    );
    await Promise.all(claimed.map(deliver));
    if (metrics) {
      metrics.outboxLag.set(
        await database.circuit.run(() => outboxLagSeconds(database.db), bounded),
      );
    }
    return claimed.length;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  async function loop(): Promise<void> {
    while (!stopping) {
      let delay = pollIntervalMs;
      try {
        const claimed = await round();
        if (outageLogged) {
          outageLogged = false;
          log.info('database reachable again: webhook deliveries resume');
        }
        // A full batch means more may be due: go on at once.
        if (claimed === batchSize) delay = 0;
      } catch (error) {
        if (
          error instanceof GraphQLError &&
          error.extensions.code === ErrorCode.SERVICE_UNAVAILABLE
        ) {
          delay = database.circuit.retryAfterSeconds() * 1000;
          if (!outageLogged) {
            outageLogged = true;
            log.warn(
              { retryAfterSeconds: delay / 1000 },
              'database unavailable: webhook deliveries paused until it is back',
            );
          }
        } else {
          log.error({ err: error }, 'webhook delivery round failed');
        }
      }
      if (!stopping) await sleep(delay);
    }
  }

  const running = loop();
  log.debug({ pollIntervalMs, batchSize }, 'webhook worker started');
  return {
    async stop() {
      stopping = true;
      wake?.();
      await running;
    },
  };
}
