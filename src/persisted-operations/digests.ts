/**
 * The digests clients name a document by: sha256 (GraphQL over HTTP's documentId, Apollo),
 * sha1 (GraphQL Code Generator's default) and md5 (Relay's default), lowercase hex of the
 * document's exact UTF-8 text; and the ids (operation keys) that carry them.
 */
import { createHash } from 'node:crypto';

export type DigestAlgorithm = 'sha256' | 'sha1' | 'md5';

export type DocumentDigests = Readonly<Record<DigestAlgorithm, string>>;

/** Hex digits of each digest: a bare hex id's length says its algorithm. */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = {
  sha256: 64,
  sha1: 40,
  md5: 32,
};

export const DIGEST_ALGORITHMS = Object.keys(DIGEST_HEX_LENGTH) as readonly DigestAlgorithm[];

export function digestsOf(document: string): DocumentDigests {
  const digest = (algorithm: DigestAlgorithm) =>
    createHash(algorithm).update(document, 'utf8').digest('hex');
  return { sha256: digest('sha256'), sha1: digest('sha1'), md5: digest('md5') };
}

/** A parsed persisted-operation id. */
export interface OperationKey {
  readonly algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  readonly digest: string;
}

const ALGORITHM_BY_LENGTH = new Map(
  DIGEST_ALGORITHMS.map((algorithm) => [DIGEST_HEX_LENGTH[algorithm], algorithm]),
);
const PREFIXED_ID = /^(sha256|sha1|md5):([0-9a-f]+)$/i;
const BARE_ID = /^[0-9a-f]+$/i;

/**
 * `sha256:<hex>` (GraphQL over HTTP's documentId), `sha1:<hex>` or `md5:<hex>`, or a bare
 * hex digest whose length says its algorithm (what Relay and GraphQL Code Generator send).
 * Anything else is `null`: a malformed id.
 */
export function parseOperationKey(value: string): OperationKey | null {
  const prefixed = PREFIXED_ID.exec(value);
  if (prefixed) {
    const algorithm = prefixed[1]?.toLowerCase() as DigestAlgorithm;
    const digest = prefixed[2]?.toLowerCase() ?? '';
    return digest.length === DIGEST_HEX_LENGTH[algorithm] ? { algorithm, digest } : null;
  }
  if (!BARE_ID.test(value)) return null;
  const algorithm = ALGORITHM_BY_LENGTH.get(value.length);
  return algorithm ? { algorithm, digest: value.toLowerCase() } : null;
}

export function formatOperationKey(key: OperationKey): string {
  return `${key.algorithm}:${key.digest}`;
}
