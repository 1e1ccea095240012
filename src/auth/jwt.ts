/**
 * Bearer-token verification: a compact JWS checked with `jose` against the configured key
 * source (the development HMAC secret, a local JWKS file or a remote JWKS URL), then its
 * claims turned into a `Viewer`. Every failure is a `TokenRejectedError` whose `reason` is
 * for logs and metrics; its message is deliberately the same for all of them.
 */
import { readFile } from 'node:fs/promises';
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
import type { Config } from '../config.ts';
import type { Role } from '../db/schema.ts';
import { parseId } from '../ids.ts';
import { loadOrCreateDevKey } from './dev-key.ts';
import { effectiveScopes, type Viewer } from './viewer.ts';

/** Longer tokens are refused before any parsing: real ones are well under 2 KB. */
export const MAX_TOKEN_LENGTH = 8192;

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

export async function createTokenVerifier(auth: Config['auth']): Promise<TokenVerifier> {
  const { key, algorithms } = await resolveKey(auth);
  const options: JWTVerifyOptions = {
    algorithms,
    issuer: auth.issuer,
    audience: auth.audience,
    clockTolerance: auth.clockToleranceSeconds,
    requiredClaims: ['exp', 'sub', 'iat'],
  };

  return {
    async verify(token) {
      if (typeof token !== 'string') throw new TokenRejectedError('malformed');
      if (token.length > MAX_TOKEN_LENGTH) throw new TokenRejectedError('oversize');
      if (!COMPACT_JWS.test(token)) throw new TokenRejectedError('malformed');
      const payload = await verifySignatureAndTimes(token, key, options);
      return viewerFromClaims(payload, auth.clockToleranceSeconds);
    },
  };
}

/**
 * The key and the algorithms it may verify. An HMAC secret only ever verifies HS256 and a JWKS
 * only asymmetric algorithms, whatever the allow-list says: that is what rules out algorithm
 * confusion (an HS256 token "signed" with a public key taken from the JWKS).
 */
async function resolveKey(auth: Config['auth']): Promise<{ key: Key; algorithms: JWSAlgorithm[] }> {
  const symmetric = auth.keys.kind === 'devKey';
  const algorithms = auth.algorithms.filter((alg) => (alg === 'HS256') === symmetric);
  if (algorithms.length === 0) {
    throw new Error(
      `JWT_ALGORITHMS (${auth.algorithms.join(', ')}) allows no algorithm usable with the ${auth.keys.kind} key source.`,
    );
  }
  switch (auth.keys.kind) {
    case 'devKey':
      return { key: await loadOrCreateDevKey(auth.keys.file), algorithms };
    case 'jwksFile': {
      const file = auth.keys.file;
      let jwks: unknown;
      try {
        jwks = JSON.parse(await readFile(file, 'utf8'));
      } catch (cause) {
        throw new Error(`JWT_JWKS_FILE ${file} could not be read as JSON.`, { cause });
      }
      try {
        return {
          key: createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]),
          algorithms,
        };
      } catch (cause) {
        throw new Error(`JWT_JWKS_FILE ${file} is not a JSON Web Key Set ({"keys": [...]}).`, {
          cause,
        });
      }
    }
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

function viewerFromClaims(payload: JWTPayload, clockToleranceSeconds: number): Viewer {
  // jose only checks `iat` is a number; one from the future means a broken or forged issuer.
  if (
    typeof payload.iat === 'number' &&
    payload.iat > Math.floor(Date.now() / 1000) + clockToleranceSeconds
  ) {
    throw new TokenRejectedError('not_yet_valid');
  }
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
    tenantId: tenant.id,
    role: role as Role,
    scopes: effectiveScopes(role as Role, requested),
  });
}
