import { randomUUID } from 'node:crypto';

/**
 * A fresh clientMutationId: createOrder and createProduct require one (idempotency keys), and
 * a key reused with another input is refused, so every call that means a new operation
 * sends a new key.
 */
export function newClientMutationId(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}
