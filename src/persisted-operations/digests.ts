/**
 * The digests clients name a document by: sha256 (GraphQL over HTTP's documentId, Apollo),
 * sha1 (GraphQL Code Generator's default) and md5 (Relay's default), lowercase hex of the
 * document's exact UTF-8 text.
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
