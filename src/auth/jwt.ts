/**
 * Bearer-token verification: a compact JWS checked with `jose` against the configured key
 * source (the development HMAC secret, a local JWKS file or a remote JWKS URL), then its
 * claims turned into a `Viewer`. Every failure is a `TokenRejectedError` whose `reason` is
 * for logs and metrics; its message is deliberately the same for all of them.
 *
 * Both JWKS sources pick up rotated keys without a restart: jose refetches a URL's set on an
 * unknown `kid` (at most every 30 s) and every 10 minutes; a file's set is re-read when the
 * file changes, checked at most once a second while tokens arrive.
 */
import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JWSAlgorithm,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Role } from '../db/schema.ts';
import { parseId } from '../ids.ts';
import { loadOrCreateDevKey } from './dev-key.ts';
import { effectiveScopes, type Viewer } from './viewer.ts';

/** Longer tokens are refused before any parsing: real ones are well under 2 KB. */
export const MAX_TOKEN_LENGTH = 8192;

/** More skew than this lets an expired token live on noticeably; config.ts enforces it too. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 30;

/**
 * How often, at most, a JWKS file is checked for changes (a `stat`, and a re-read only when
 * its modification time, size or inode changed). Checks happen while tokens are verified, so
 * a flood of tokens with made-up `kid`s costs at most one `stat` a second.
 */
export const JWKS_FILE_CHECK_INTERVAL_MS = 1000;

/** How long a verified token is taken on trust before its signature is checked again. */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Verified tokens remembered at once (about 1 KB each). */
const VERIFIED_TOKENS_MAX = 10_000;

export type TokenRejectionReason =
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_signature'
  | 'bad_claims'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'unsupported_algorithm'
  | 'oversize'
  | 'unknown_key'
  /** `exp - iat` is more than the configured maximum token lifetime. */
  | 'lifetime_too_long'
  /** The remote JWKS could not be fetched: the token may be fine, the identity provider is not. */
  | 'key_unavailable';

export class TokenRejectedError extends Error {
  override name = 'TokenRejectedError';
  readonly reason: TokenRejectionReason;

  constructor(reason: TokenRejectionReason, options?: { cause?: unknown }) {
    super('The access token is invalid or expired.', options);
    this.reason = reason;
  }
}

export interface TokenVerifier {
  /** Resolves to the token's viewer, or rejects with a `TokenRejectedError`. */
  verify(token: string): Promise<Viewer>;
}

const ROLES: readonly Role[] = ['viewer', 'member', 'admin'];
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

type Key = Uint8Array | JWTVerifyGetKey;

export interface TokenVerifierOptions {
  /** Told when a changed JWKS file cannot be used (the previous keys stay in use). */
  readonly logger?: Pick<Logger, 'warn'>;
}

export async function createTokenVerifier(
  auth: Config['auth'],
  verifierOptions: TokenVerifierOptions = {},
): Promise<TokenVerifier> {
  if (
    !Number.isInteger(auth.clockToleranceSeconds) ||
    auth.clockToleranceSeconds < 0 ||
    auth.clockToleranceSeconds > MAX_CLOCK_TOLERANCE_SECONDS
  ) {
    throw new Error(
      `The clock tolerance must be 0 to ${MAX_CLOCK_TOLERANCE_SECONDS} seconds, got ${auth.clockToleranceSeconds}.`,
    );
  }
  if (!Number.isInteger(auth.maxTokenLifetimeSeconds) || auth.maxTokenLifetimeSeconds <= 0) {
    throw new Error(
      `The maximum token lifetime must be a positive number of seconds, got ${auth.maxTokenLifetimeSeconds}.`,
    );
  }
  const { key, algorithms, refresh } = await resolveKey(auth, verifierOptions);
  // Tokens already verified, by their exact text (signature included): a client sends the same
  // token with every request until it expires, and checking its signature again costs more
  // than anything else authentication does. Entries are dropped when the key set changes,
  // after VERIFIED_TOKEN_TTL_MS (the most a key removed from a remote JWKS, which jose itself
  // caches for minutes, or a token's later revocation can be outlived), and at expiry.
  const verified = new LRUCache<string, { viewer: Viewer; expiresAt: number }>({
    max: VERIFIED_TOKENS_MAX,
    ttl: VERIFIED_TOKEN_TTL_MS,
  });
  const options: JWTVerifyOptions = {
    algorithms,
    issuer: auth.issuer,
    audience: auth.audience,
    clockTolerance: auth.clockToleranceSeconds,
    // `iss` and `aud` are checked against the configured values, and must be present.
    requiredClaims: ['exp', 'iat', 'sub', 'iss', 'aud'],
  };

  return {
    async verify(token) {
      if (typeof token !== 'string') throw new TokenRejectedError('malformed');
      if (token.length > MAX_TOKEN_LENGTH) throw new TokenRejectedError('oversize');
      if (!COMPACT_JWS.test(token)) throw new TokenRejectedError('malformed');
      if (refresh && (await refresh())) verified.clear();
      const known = verified.get(token);
      if (known) {
        if (Date.now() / 1000 < known.expiresAt + auth.clockToleranceSeconds) return known.viewer;
        verified.delete(token);
      }
      const payload = await verifySignatureAndTimes(token, key, options);
      checkIssuedAt(payload, auth);
      const viewer = viewerFromClaims(payload);
      verified.set(token, { viewer, expiresAt: payload.exp as number });
      return viewer;
    },
  };
}

/**
 * The key and the algorithms it may verify. An HMAC secret only ever verifies HS256 and a JWKS
 * only asymmetric algorithms, whatever the allow-list says: that is what rules out algorithm
 * confusion (an HS256 token "signed" with a public key taken from the JWKS).
 */
async function resolveKey(
  auth: Config['auth'],
  verifierOptions: TokenVerifierOptions,
): Promise<{ key: Key; algorithms: JWSAlgorithm[]; refresh?: () => Promise<boolean> }> {
  const symmetric = auth.keys.kind === 'devKey';
  const algorithms = withEdDsaAliases(auth.algorithms).filter(
    (alg) => (alg === 'HS256') === symmetric,
  );
  if (algorithms.length === 0) {
    throw new Error(
      `JWT_ALGORITHMS (${auth.algorithms.join(', ')}) allows no algorithm usable with the ${auth.keys.kind} key source.`,
    );
  }
  switch (auth.keys.kind) {
    case 'devKey':
      return { key: await loadOrCreateDevKey(auth.keys.file), algorithms };
    case 'jwksFile':
      return { ...(await reloadingJwksFile(auth.keys.file, verifierOptions.logger)), algorithms };
    case 'jwksUrl': {
      // jose caches the set (10 min), refetches on an unknown `kid` at most every 30 s, and
      // shares one in-flight request between concurrent verifications.
      const remote = createRemoteJWKSet(new URL(auth.keys.url));
      const key: JWTVerifyGetKey = async (header, token) => {
        try {
          return await remote(header, token);
        } catch (error) {
          if (
            error instanceof errors.JWKSNoMatchingKey ||
            error instanceof errors.JWKSMultipleMatchingKeys ||
            error instanceof errors.JOSENotSupported
          ) {
            throw error;
          }
          // Timeouts, network errors, non-200 responses, a malformed set.
          throw new TokenRejectedError('key_unavailable', { cause: error });
        }
      };
      return { key, algorithms };
    }
  }
}

/**
 * `EdDSA` and `Ed25519` (RFC 9864's fully-specified name, which jose also accepts) are the same
 * signature over the same Ed25519 keys: allowing either name allows both, so an identity
 * provider that has moved to the new name keeps working. (jose 6 has no Ed448.)
 */
function withEdDsaAliases(algorithms: Config['auth']['algorithms']): JWSAlgorithm[] {
  const expanded = new Set<JWSAlgorithm>(algorithms);
  if (expanded.has('EdDSA') || expanded.has('Ed25519')) {
    expanded.add('EdDSA');
    expanded.add('Ed25519');
  }
  return [...expanded];
}

async function readJwksFile(file: string): Promise<JWTVerifyGetKey> {
  let jwks: unknown;
  try {
    jwks = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new Error(`JWT_JWKS_FILE ${file} could not be read as JSON.`, { cause });
  }
  try {
    return createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
  } catch (cause) {
    throw new Error(`JWT_JWKS_FILE ${file} is not a JSON Web Key Set ({"keys": [...]}).`, {
      cause,
    });
  }
}

/** What identifies one version of the file: a rewrite or an atomic replace changes it. */
function versionOf(stats: Stats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

/**
 * A JWKS file's keys, re-read when the file changes, so keys rotate without a restart: add the
 * new key, start signing with it, later remove the old one. A file that is missing or broken
 * at start stops the server; one that becomes so later (an editor mid-save, a bad deploy)
 * leaves the last good keys in use, with a warning, until a good version appears.
 */
async function reloadingJwksFile(
  file: string,
  logger: Pick<Logger, 'warn'> | undefined,
): Promise<{ key: JWTVerifyGetKey; refresh: () => Promise<boolean> }> {
  // The version is taken before reading, so a change racing the read is seen by the next check.
  const initial = await stat(file).catch(() => undefined);
  let keys = await readJwksFile(file);
  let version = initial ? versionOf(initial) : '';
  let checkedAt = performance.now();
  let checking: Promise<boolean> | undefined;
  let failedVersion: string | undefined;

  /** Re-reads the file if it changed; true when other keys are in use from now on. */
  const check = async (): Promise<boolean> => {
    try {
      const current = versionOf(await stat(file));
      if (current === version || current === failedVersion) return false;
      try {
        keys = await readJwksFile(file);
        version = current;
        failedVersion = undefined;
        return true;
      } catch (error) {
        // Warn once per broken version, not once a second.
        failedVersion = current;
        logger?.warn(
          { err: error, file },
          'JWKS file changed but could not be used; keeping the previous keys',
        );
      }
    } catch (error) {
      if (failedVersion !== 'missing') {
        failedVersion = 'missing';
        logger?.warn({ err: error, file }, 'JWKS file is gone; keeping the previous keys');
      }
    } finally {
      checkedAt = performance.now();
      checking = undefined;
    }
    return false;
  };

  /** The check, when one is due (at most once per interval; concurrent callers share it). */
  const refresh = async (): Promise<boolean> => {
    if (performance.now() - checkedAt < JWKS_FILE_CHECK_INTERVAL_MS) return false;
    checking ??= check();
    return checking;
  };

  return {
    key: async (header, token) => {
      await refresh();
      return keys(header, token);
    },
    refresh,
  };
}

async function verifySignatureAndTimes(
  token: string,
  key: Key,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, key, options)).payload;
  } catch (error) {
    // A token without `kid` matching several keys of the set: try each, as jose documents.
    if (error instanceof errors.JWKSMultipleMatchingKeys) {
      for await (const candidate of error) {
        try {
          return (await jwtVerify(token, candidate, options)).payload;
        } catch (inner) {
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) {
            throw rejection(inner);
          }
        }
      }
      throw new TokenRejectedError('bad_signature', { cause: error });
    }
    throw rejection(error);
  }
}

function rejection(error: unknown): TokenRejectedError {
  if (error instanceof TokenRejectedError) return error;
  return new TokenRejectedError(reasonOf(error), { cause: error });
}

function reasonOf(error: unknown): TokenRejectionReason {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    // A required claim that is absent is a malformed claim set, whichever claim it is.
    if (error.reason === 'missing') return 'bad_claims';
    if (error.claim === 'iss') return 'wrong_issuer';
    if (error.claim === 'aud') return 'wrong_audience';
    // A non-numeric `nbf` is a bad claim; only a future one is "not yet valid".
    if (error.claim === 'nbf' && error.reason === 'check_failed') return 'not_yet_valid';
    return 'bad_claims';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'unsupported_algorithm';
  // Unknown `alg` for the key source, or an unrecognised `crit` extension.
  if (error instanceof errors.JOSENotSupported) return 'unsupported_algorithm';
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown_key';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed';
  // Anything else (e.g. a key jose refuses for the algorithm) is still the token's fault here:
  // the key sources were validated at start-up.
  return 'malformed';
}

/** Checks jose leaves to the caller; `exp` and `iat` are present and numeric by now. */
function checkIssuedAt(payload: JWTPayload, auth: Config['auth']): void {
  const iat = payload.iat as number;
  const exp = payload.exp as number;
  // jose only checks `iat` is a number; one from the future means a broken or forged issuer.
  if (iat > Math.floor(Date.now() / 1000) + auth.clockToleranceSeconds) {
    throw new TokenRejectedError('not_yet_valid');
  }
  // Both are the issuer's own clock, so no tolerance: a long-lived token stays refused
  // however early it is presented, which bounds what a leaked token is worth.
  if (exp - iat > auth.maxTokenLifetimeSeconds) {
    throw new TokenRejectedError('lifetime_too_long');
  }
}

function viewerFromClaims(payload: JWTPayload): Viewer {
  const user = typeof payload.sub === 'string' ? parseId(payload.sub) : null;
  const tenant = typeof payload.tid === 'string' ? parseId(payload.tid) : null;
  const role = payload.role;
  const scope = payload.scope;
  if (
    user?.typename !== 'User' ||
    tenant?.typename !== 'Tenant' ||
    typeof role !== 'string' ||
    !(ROLES as readonly string[]).includes(role) ||
    (scope !== undefined && typeof scope !== 'string')
  ) {
    throw new TokenRejectedError('bad_claims');
  }
  const requested = scope === undefined ? undefined : scope.split(/\s+/).filter(Boolean);
  return Object.freeze({
    userId: user.id,
    apiKeyId: null,
    tenantId: tenant.id,
    role: role as Role,
    scopes: effectiveScopes(role as Role, requested),
  });
}
