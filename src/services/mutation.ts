/**
 * Each mutation field runs in its own savepoint inside the request's transaction, so a
 * mutation that fails part-way (a userError discovered after a write, or an unexpected
 * error) leaves nothing behind, while other fields of the same request are unaffected.
 */
import { TransactionRollbackError } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import type { MutationOutcome } from '../errors.ts';

export async function inSavepoint<T extends MutationOutcome>(
  tx: Db,
  run: (savepoint: Db) => Promise<T>,
): Promise<T> {
  let outcome: T | undefined;
  try {
    await tx.transaction(async (savepoint) => {
      outcome = await run(savepoint as unknown as Db);
      if (outcome.userErrors.length > 0) savepoint.rollback();
    });
  } catch (error) {
    if (!(error instanceof TransactionRollbackError)) throw error;
  }
  return outcome as T;
}
