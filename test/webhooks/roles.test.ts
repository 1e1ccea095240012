/**
 * The delivery worker when the tables' owner is not a superuser (FORCE'd row-level security
 * holds for it) and the app connects as yet another role, which did not run the migrations
 * and owns nothing: the worker's SECURITY DEFINER functions (drizzle/0010) still claim, record
 * and measure every tenant's deliveries. PostgreSQL only (PGlite has one superuser).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { webhookEndpoints } from '../../src/db/schema.ts';
import { DEMO_TENANTS, seedDatabase } from '../../src/db/seed.ts';
import { IdPrefix, newId } from '../../src/ids.ts';
import { emitWebhookEvent } from '../../src/webhooks/events.ts';
import { newSigningSecret } from '../../src/webhooks/signing.ts';
import { outboxLagSeconds, startWebhookWorker } from '../../src/webhooks/worker.ts';
import { eventually, startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const serverUrl = process.env.DATABASE_URL;

function asRoleUrl(url: URL, role: string): string {
  const copy = new URL(url);
  copy.username = role;
  copy.password = '';
  return copy.toString();
}

describe.skipIf(!serverUrl)("webhooks when the tables' owner is not a superuser", () => {
  const suffix = randomBytes(4).toString('hex');
  const migrator = `orders_wh_migrator_${suffix}`;
  const appLogin = `orders_wh_login_${suffix}`;
  const name = `orders_wh_${suffix}`;
  let admin: postgres.Sql;
  let url: URL;

  beforeAll(async () => {
    admin = postgres(serverUrl as string, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create role ${migrator} login nosuperuser createrole`);
    await admin.unsafe(`create role ${appLogin} login nosuperuser`);
    await admin.unsafe(`create database ${name} owner ${migrator}`);
    url = new URL(serverUrl as string);
    url.pathname = `/${name}`;
    const migrating = await openDatabase({
      kind: 'postgres',
      url: asRoleUrl(url, migrator),
      poolMax: 1,
    });
    await migrating.migrate();
    await seedDatabase(migrating.db, { scale: 1 });
    await migrating.close();
  });

  afterAll(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`drop role if exists ${appLogin}`);
    await admin.unsafe(`drop owned by ${migrator} cascade`).catch(() => {});
    await admin.unsafe(`drop role if exists ${migrator}`);
    await admin.end();
  });

  it('delivers every tenant’s events with the app connected as a role that owns nothing', async () => {
    const receiver = await startWebhookReceiver();
    const owner = await openDatabase({
      kind: 'postgres',
      url: asRoleUrl(url, migrator),
      poolMax: 1,
    });
    const app = await openDatabase({ kind: 'postgres', url: asRoleUrl(url, appLogin), poolMax: 2 });
    try {
      // The owner writes as each tenant, as requests do: FORCE'd RLS holds for it.
      for (const tenant of DEMO_TENANTS) {
        await owner.db.transaction(async (tx) => {
          await tx.execute(sql`select set_config('app.tenant_id', ${tenant.id}, true)`);
          await tx.insert(webhookEndpoints).values({
            id: newId(IdPrefix.WebhookEndpoint),
            tenantId: tenant.id,
            url: receiver.url,
            events: ['order.created'],
            secret: newSigningSecret(),
          });
          await emitWebhookEvent(tx as never, tenant.id, 'order.created', { order: {} });
        });
      }
      expect(await outboxLagSeconds(app.db)).toBeGreaterThanOrEqual(0);
      const worker = startWebhookWorker({
        database: app,
        logger: pino({ level: 'silent' }),
        retryScheduleMs: [50],
        urlPolicy: { requireHttps: false, allowPrivate: true },
        pollIntervalMs: 20,
      });
      try {
        await eventually(() => receiver.received.length >= DEMO_TENANTS.length);
        // Recorded: nothing is due any more.
        await eventually(async () => {
          const rows = await owner.db.execute(
            sql`select count(*)::int as due from webhook_deliveries where status = 'pending'`,
          );
          return (rows as unknown as { due: number }[])[0]?.due === 0;
        });
      } finally {
        await worker.stop();
      }
      expect(receiver.received).toHaveLength(DEMO_TENANTS.length);
    } finally {
      await receiver.close();
      await app.close();
      await owner.close();
    }
  });
});
