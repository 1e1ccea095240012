/**
 * Row-level security on the webhook tables, as on every tenant table: inside a request (the
 * `orders_app` role with `app.tenant_id` set) a tenant sees and writes its own endpoints,
 * events and deliveries only.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, type Db } from '../../src/db/client.ts';
import { webhookDeliveries, webhookEndpoints, webhookEvents } from '../../src/db/schema.ts';
import { DEMO_TENANTS, seedDatabase } from '../../src/db/seed.ts';
import { IdPrefix, newId } from '../../src/ids.ts';
import { emitWebhookEvent } from '../../src/webhooks/events.ts';
import { newSigningSecret } from '../../src/webhooks/signing.ts';
import { claimDueDeliveries, outboxLagSeconds } from '../../src/webhooks/worker.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const [ACME, GLOBEX] = DEMO_TENANTS.map((tenant) => tenant.id) as [string, string];

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  await seedDatabase(database.db, { scale: 1 });
});
afterAll(() => database.destroy());

function rowsOf(result: unknown): Record<string, unknown>[] {
  return Array.isArray(result) ? result : (result as { rows: Record<string, unknown>[] }).rows;
}

function asApp<T>(tenantId: string, work: (tx: Db) => Promise<T>): Promise<T> {
  return database.db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
    await tx.execute(sql`select set_config('role', ${APP_ROLE}, true)`);
    return work(tx as unknown as Db);
  });
}

function endpointOf(tenantId: string) {
  return {
    id: newId(IdPrefix.WebhookEndpoint),
    tenantId,
    url: 'https://hooks.example.com/',
    events: ['order.created'],
    secret: newSigningSecret(),
  };
}

describe('the webhook tables', () => {
  it('have enabled and FORCE’d row-level security', async () => {
    const rows = rowsOf(
      await database.db.execute(sql`
        select relname, relrowsecurity, relforcerowsecurity from pg_class
        where relname like 'webhook_%' and relkind = 'r' and relnamespace = 'public'::regnamespace
        order by relname`),
    );
    expect(rows).toEqual(
      ['webhook_deliveries', 'webhook_endpoints', 'webhook_events'].map((relname) => ({
        relname,
        relrowsecurity: true,
        relforcerowsecurity: true,
      })),
    );
  });

  it("let a request see and write its own tenant's rows only", async () => {
    await asApp(ACME, async (tx) => {
      await tx.insert(webhookEndpoints).values(endpointOf(ACME));
      await emitWebhookEvent(tx, ACME, 'order.created', { order: { id: 'ord_x' } });
    });
    await asApp(GLOBEX, async (tx) => {
      await tx.insert(webhookEndpoints).values(endpointOf(GLOBEX));
      await emitWebhookEvent(tx, GLOBEX, 'order.created', { order: { id: 'ord_y' } });
    });
    for (const [own, other] of [
      [ACME, GLOBEX],
      [GLOBEX, ACME],
    ] as const) {
      await asApp(own, async (tx) => {
        for (const table of [webhookEndpoints, webhookEvents, webhookDeliveries]) {
          const rows = await tx.select({ tenantId: table.tenantId }).from(table);
          expect(rows.length).toBeGreaterThan(0);
          expect(new Set(rows.map((row) => row.tenantId))).toEqual(new Set([own]));
        }
      });
      await expect(
        asApp(own, (tx) => tx.insert(webhookEndpoints).values(endpointOf(other))),
      ).rejects.toThrow();
    }
  });

  it("let the delivery worker claim every tenant's deliveries through its functions, as any role", async () => {
    // orders_app with no tenant set sees no rows of its own: the functions run as their owner.
    const claimed = await database.db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('role', ${APP_ROLE}, true)`);
      const visible = await tx.select().from(webhookDeliveries);
      expect(visible).toEqual([]);
      expect(await outboxLagSeconds(tx as unknown as Db)).toBeGreaterThanOrEqual(0);
      return claimDueDeliveries(tx as unknown as Db, { limit: 10, leaseMs: 60_000 });
    });
    expect(new Set(claimed.map((delivery) => delivery.eventType))).toEqual(
      new Set(['order.created']),
    );
    expect(claimed).toHaveLength(2);
  });
});
