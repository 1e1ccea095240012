/**
 * Expired idempotency keys are deleted in batches by a periodic job (started by main.ts),
 * so one run never holds many row locks or a long transaction. It runs outside any tenant,
 * as the connecting role, which the `expired_cleanup` policy lets delete expired keys only.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { idempotencyKeys } from '../db/schema.ts';

/** Deletes at most `batchSize` expired keys; returns how many it deleted. */
export async function deleteExpiredIdempotencyKeys(db: Db, batchSize: number): Promise<number> {
  const deleted = await db.execute<{ key: string }>(sql`
    delete from ${idempotencyKeys}
    where ctid in (
      select ctid from ${idempotencyKeys}
      where ${idempotencyKeys.expiresAt} <= now()
      limit ${batchSize}
      for update skip locked
    )
    returning ${idempotencyKeys.key}`);
  const rows = Array.isArray(deleted) ? deleted : (deleted as { rows: unknown[] }).rows;
  return rows.length;
}

/** Deletes every expired key, batch after batch; returns how many. */
export async function purgeExpiredIdempotencyKeys(db: Db, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteExpiredIdempotencyKeys(db, batchSize);
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

/** Runs the purge every `intervalMs`; the timer does not keep the process alive. */
export function startIdempotencyKeyExpiry(options: {
  db: Db;
  intervalMs: number;
  batchSize: number;
  onError: (error: unknown) => void;
}): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    purgeExpiredIdempotencyKeys(options.db, options.batchSize)
      .catch(options.onError)
      .finally(() => {
        running = false;
      });
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
