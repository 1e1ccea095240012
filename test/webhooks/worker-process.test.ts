/**
 * `npm run worker` as a real process on an embedded database in a DATA_DIR: it delivers what
 * the outbox holds, stops cleanly on SIGTERM (exit 0, the delivery recorded), and after a
 * kill -9 in the middle of a delivery the event is delivered by the restarted worker, with the
 * same webhook-id. The database is opened by the test only while no worker runs (PGlite is one
 * process's), to write the outbox rows and to read the outcome.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { webhookDeliveries, webhookEndpoints, webhookEvents } from '../../src/db/schema.ts';
import { DEMO_TENANTS, seedDatabase } from '../../src/db/seed.ts';
import { IdPrefix, newId } from '../../src/ids.ts';
import { newEventId } from '../../src/webhooks/events.ts';
import { newSigningSecret } from '../../src/webhooks/signing.ts';
import {
  EXIT_TIMEOUT_MS,
  exitOf,
  killServers,
  requestOnce,
  STARTUP_TIMEOUT_MS,
  startServer,
} from '../helpers/server-process.ts';
import { eventually, startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const WORKER_ARGS = ['--import', 'tsx', 'src/cli/worker.ts'];
const TEST_TIMEOUT_MS = 2 * STARTUP_TIMEOUT_MS + 2 * EXIT_TIMEOUT_MS;
const tenantId = DEMO_TENANTS[0]!.id;

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'h16-webhook-worker-'));
  const database = await openDatabase({
    kind: 'pglite',
    dataDir: path.join(dataDir, 'pglite'),
    seedDemoData: false,
  });
  await database.migrate();
  await seedDatabase(database.db, { scale: 1 });
  await database.close();
});

afterAll(async () => {
  killServers();
  await rm(dataDir, { recursive: true, force: true });
});

async function withDatabase<T>(
  work: (db: Awaited<ReturnType<typeof openDatabase>>['db']) => Promise<T>,
) {
  const database = await openDatabase({
    kind: 'pglite',
    dataDir: path.join(dataDir, 'pglite'),
    seedDemoData: false,
  });
  try {
    return await work(database.db);
  } finally {
    await database.close();
  }
}

/** An endpoint for `url` with one event waiting for it; returns the delivery and event ids. */
function enqueue(url: string) {
  return withDatabase(async (db) => {
    const endpointId = newId(IdPrefix.WebhookEndpoint);
    const eventId = newEventId();
    const deliveryId = newId(IdPrefix.WebhookDelivery);
    await db.insert(webhookEndpoints).values({
      id: endpointId,
      tenantId,
      url,
      events: ['order.created'],
      secret: newSigningSecret(),
    });
    await db.insert(webhookEvents).values({
      id: eventId,
      tenantId,
      type: 'order.created',
      payload: JSON.stringify({
        type: 'order.created',
        timestamp: new Date().toISOString(),
        data: {},
      }),
    });
    await db.insert(webhookDeliveries).values({
      id: deliveryId,
      tenantId,
      eventId,
      eventType: 'order.created',
      endpointId,
    });
    return { deliveryId, eventId };
  });
}

function deliveryRow(id: string) {
  return withDatabase(async (db) => {
    const [row] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id));
    return row!;
  });
}

function startWorker(env: Record<string, string> = {}) {
  return startServer({ DATA_DIR: dataDir, SEED_DEMO_DATA: 'false', ...env }, WORKER_ARGS);
}

describe('npm run worker', () => {
  it(
    'delivers the outbox and exits 0 on SIGTERM',
    async () => {
      const receiver = await startWebhookReceiver();
      try {
        const { deliveryId, eventId } = await enqueue(receiver.url);
        const worker = await startWorker({ METRICS_PORT: '0' });
        await eventually(() => receiver.received.length >= 1, { timeoutMs: STARTUP_TIMEOUT_MS });
        expect(receiver.received[0]!.headers['webhook-id']).toBe(eventId);
        // Recorded before the worker stops: the log says so.
        await eventually(() => worker.logs().some((line) => line.msg === 'webhook delivered'));
        // Its metrics, on METRICS_PORT.
        const { metricsPort } = worker
          .logs()
          .find((line) => line.msg === 'webhook worker running')!;
        await eventually(async () => {
          const scraped = await requestOnce(metricsPort as number, { path: '/metrics' });
          return scraped.body.includes(
            'webhook_deliveries_total{event_type="order.created",outcome="succeeded"} 1',
          );
        });
        worker.child.kill('SIGTERM');
        expect(await exitOf(worker)).toEqual({ code: 0, signal: null });
        const messages = worker.logs().map((line) => line.msg);
        expect(messages).toContain('webhook worker stopped');
        // Logs carry the ids, never the secret or the body.
        const delivered = worker.logs().find((line) => line.msg === 'webhook delivered')!;
        expect(delivered).toMatchObject({ deliveryId, eventId, eventType: 'order.created' });
        expect(worker.stdout()).not.toContain('whsec_');
        expect(worker.stdout()).not.toContain('"payload"');
        expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'succeeded', attempts: 1 });
      } finally {
        await receiver.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'delivers after a restart an event whose delivery was in flight at kill -9',
    async () => {
      const receiver = await startWebhookReceiver();
      // The first request is never answered: the worker dies with it in flight.
      receiver.respond = (_request, index) => (index === 0 ? null : 200);
      const { deliveryId, eventId } = await enqueue(receiver.url);
      try {
        const first = await startWorker();
        await eventually(() => receiver.received.length >= 1, { timeoutMs: STARTUP_TIMEOUT_MS });
        first.child.kill('SIGKILL');
        expect(await exitOf(first)).toEqual({ code: null, signal: 'SIGKILL' });
        // Nothing recorded the attempt; only its lease is left, and it expires (fast-forwarded
        // here instead of waiting out the minute).
        const leased = await deliveryRow(deliveryId);
        expect(leased).toMatchObject({ status: 'pending', attempts: 1 });
        expect(leased.lockedUntil).not.toBeNull();
        await withDatabase((db) =>
          db.execute(
            sql`update webhook_deliveries set locked_until = now() where id = ${deliveryId}`,
          ),
        );
        const second = await startWorker();
        await eventually(() => second.logs().some((line) => line.msg === 'webhook delivered'), {
          timeoutMs: STARTUP_TIMEOUT_MS,
        });
        second.child.kill('SIGTERM');
        expect(await exitOf(second)).toEqual({ code: 0, signal: null });
        expect(receiver.received.length).toBeGreaterThanOrEqual(2);
        expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(
          new Set([eventId]),
        );
        expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'succeeded', attempts: 2 });
      } finally {
        await receiver.close();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
