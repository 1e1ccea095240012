/**
 * The `persisted_operations` table: operations registered at run time, per tenant. Rows are
 * never updated or deleted (the request role may only select and insert): an id always names
 * the same document. Every statement filters by tenant and runs as the request role of that
 * tenant, so row-level security holds it to the tenant too.
 */
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type PersistedOperationRow, persistedOperations } from '../db/schema.ts';
import { readAsTenant } from '../db/tenant-scope.ts';
import type { AnalyzedOperation } from './analyze.ts';
import type { OperationKey } from './digests.ts';

const COLUMN_BY_ALGORITHM = {
  sha256: persistedOperations.id,
  sha1: persistedOperations.sha1,
  md5: persistedOperations.md5,
} as const;

/** A document as stored: its sha256 id and its text. */
export interface StoredDocument {
  readonly id: string;
  readonly document: string;
}

/**
 * One indexed lookup, (tenant, whichever digest the client sent), in a read-only transaction
 * as that tenant: it runs before the request's own transaction exists.
 */
export async function findStoredOperation(
  db: Db,
  tenantId: string,
  key: OperationKey,
): Promise<StoredDocument | undefined> {
  const [row] = await readAsTenant(db, tenantId, (tx) =>
    tx
      .select({ id: persistedOperations.id, document: persistedOperations.document })
      .from(persistedOperations)
      .where(
        and(
          eq(persistedOperations.tenantId, tenantId),
          eq(COLUMN_BY_ALGORITHM[key.algorithm], key.digest),
        ),
      )
      .limit(1),
  );
  return row;
}

export type InsertOutcome =
  | { readonly status: 'created' | 'existing'; readonly row: PersistedOperationRow }
  /**
   * Another of the tenant's documents already has this md5 or sha1 (a crafted collision; never
   * by chance).
   */
  | { readonly status: 'collision' };

/**
 * Stores an operation for the tenant unless it has it already: registering the same document
 * twice is the same as once (idempotent by hash), and concurrent registrations cannot fail each
 * other. `tx` is the request's tenant transaction.
 */
export async function insertOperation(
  tx: Db,
  tenantId: string,
  operation: AnalyzedOperation,
  createdBy: string,
): Promise<InsertOutcome> {
  const [created] = await tx
    .insert(persistedOperations)
    .values({
      tenantId,
      id: operation.id,
      md5: operation.md5,
      sha1: operation.sha1,
      document: operation.document,
      operationName: operation.operationName,
      operationType: operation.operationType,
      cost: operation.cost,
      depth: operation.depth,
      createdBy,
    })
    .onConflictDoNothing()
    .returning();
  if (created) return { status: 'created', row: created };
  const [existing] = await tx
    .select()
    .from(persistedOperations)
    .where(
      and(eq(persistedOperations.tenantId, tenantId), eq(persistedOperations.id, operation.id)),
    );
  return existing ? { status: 'existing', row: existing } : { status: 'collision' };
}
