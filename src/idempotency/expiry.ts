/**
 * Expired idempotency keys are deleted in batches by a periodic job (started by main.ts), so
 * one run never holds many row locks or a long transaction. Each batch is one call of the
 * `delete_expired_idempotency_keys` function (migration 0008), which runs as the role that
 * ran the migrations and deletes expired keys only: the job works whichever role the app
 * connects as. Each batch goes through the circuit breaker with a bound, and the job backs off
 * while the database is unavailable (db/periodic-job.ts).
 */
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database, Db } from '../db/client.ts';
import { type PeriodicJob, startPeriodicJob } from '../db/periodic-job.ts';

/** Deletes at most `batchSize` expired keys; returns how many it deleted. */
export async function deleteExpiredIdempotencyKeys(db: Db, batchSize: number): Promise<number> {
  const result = await db.execute<{ deleted: number }>(
    sql`select delete_expired_idempotency_keys(${batchSize}) as deleted`,
  );
  const rows = Array.isArray(result) ? result : (result as { rows: { deleted: number }[] }).rows;
  return Number(rows[0]?.deleted ?? 0);
}

/** Deletes every expired key, batch after batch; returns how many. */
export async function purgeExpiredIdempotencyKeys(
  database: Pick<Database, 'db' | 'circuit'>,
  options: { batchSize: number; timeoutMs: number },
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await database.circuit.run(
      () => deleteExpiredIdempotencyKeys(database.db, options.batchSize),
      { timeoutMs: options.timeoutMs },
    );
    total += deleted;
    if (deleted < options.batchSize) return total;
  }
}

/** Runs the purge every `intervalMs` (see db/periodic-job.ts for outages and logs). */
export function startIdempotencyKeyExpiry(options: {
  database: Pick<Database, 'db' | 'circuit'>;
  intervalMs: number;
  batchSize: number;
  /** Bound on each batch's wait for the database (`config.timeouts.poolMs`). */
  timeoutMs: number;
  logger: Logger;
}): PeriodicJob {
  return startPeriodicJob({
    name: 'idempotency-key expiry',
    intervalMs: options.intervalMs,
    logger: options.logger,
    run: () => purgeExpiredIdempotencyKeys(options.database, options),
  });
}
