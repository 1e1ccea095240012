/**
 * What both references know about the one page they serve: the persisted OrderList operation
 * (its documentId and document, from the manifest our server reads) and how our server encodes
 * the page's cursors (src/loaders/pagination.ts: base64url of `[sortKeyName, value, id]`, the
 * value of a date as its ISO string; orders sort by `createdAt` unless asked otherwise).
 */
import { readFile } from 'node:fs/promises';
import type { OrderRow } from './statements.ts';

/** `orders(first: 20, …)` in persisted-queries/OrderList.graphql. */
export const PAGE_SIZE = 20;

export interface OrderListOperation {
  /** `sha256:<hex>`, as clients send it. */
  documentId: string;
  document: string;
}

export async function readOrderListOperation(manifestFile: string): Promise<OrderListOperation> {
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
    operations: Record<string, { name: string; document: string }>;
  };
  const found = Object.entries(manifest.operations).find(([, entry]) => entry.name === 'OrderList');
  if (!found) throw new Error(`${manifestFile} has no operation named OrderList.`);
  const [sha256, { document }] = found;
  if (!document.includes(`orders(first: ${PAGE_SIZE},`)) {
    throw new Error(
      `OrderList no longer asks for orders(first: ${PAGE_SIZE}, …): update bench/references.`,
    );
  }
  return { documentId: `sha256:${sha256}`, document };
}

/** The cursor of an order in the default ordering (newest first). */
export function orderCursor(order: Pick<OrderRow, 'id' | 'created_at'>): string {
  return Buffer.from(
    JSON.stringify(['createdAt', order.created_at.toISOString(), order.id]),
  ).toString('base64url');
}
