/**
 * A short read-only transaction as one tenant, for what must be read before a request's own
 * transaction begins (the persisted operation it names). It holds the tenant transaction's
 * rules (plugins/tenant-transaction.ts): `app.tenant_id` set transaction-locally and the role
 * switched to the non-superuser `orders_app`, so row-level security applies to every statement
 * whichever role the pool connects as. Callers still filter by tenant explicitly: RLS is the
 * second wall, not the only one.
 */
import { sql } from 'drizzle-orm';
import { APP_ROLE, type Db } from './client.ts';

export function readAsTenant<T>(
  db: Db,
  tenantId: string,
  work: (tx: Db) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    // One round trip sets up the whole transaction, as the tenant transaction does.
    await tx.execute(
      sql`select set_config('app.tenant_id', ${tenantId}, true), set_config('role', ${APP_ROLE}, true), set_config('transaction_read_only', 'on', true)`,
    );
    return work(tx as unknown as Db);
  });
}
