/**
 * Standard Webhooks signatures (standardwebhooks.com): a secret is `whsec_` plus the base64 of
 * random bytes; a delivery is signed with HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>`
 * keyed by the secret's decoded bytes, sent as `v1,<base64 signature>`. Several signatures (the
 * new and the previous secret during a rotation) are space-separated; receivers accept the
 * delivery when any one of them verifies.
 */
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
/** 32 bytes: above the specification's minimum of 24, the size of the HMAC-SHA256 output. */
const SECRET_BYTES = 32;

/** A new signing secret, `whsec_<base64>`. */
export function newSigningSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** `v1,<base64>` for each secret, space-separated. */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  const signed = `${id}.${timestampSeconds}.${body}`;
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
      return `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
    })
    .join(' ');
}
