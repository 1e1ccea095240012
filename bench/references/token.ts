/**
 * The references' JWT check: the one src/auth/jwt.ts makes for the development key, written
 * out with jose directly. The same HS256 secret (DATA_DIR/dev-signing-key.json), the same
 * jwtVerify options (algorithm, issuer, audience, clock tolerance, required claims), the same
 * checks jose leaves to the caller (`iat` not in the future, `exp - iat` within the maximum
 * lifetime) and the same claims turned into a viewer (`sub` a user id, `tid` a tenant id, a
 * known `role`, the role's scopes narrowed by `scope`), and the same memory of verified tokens
 * (by their text, for up to a minute, until expiry), so that all servers do equal work.
 */
import { readFile } from 'node:fs/promises';
import { base64url, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { effectiveScopes, type Scope } from '../../src/auth/viewer.ts';
import type { ReferenceSettings } from './settings.ts';

export interface ReferenceViewer {
  userId: string;
  tenantId: string;
  role: 'viewer' | 'member' | 'admin';
  scopes: ReadonlySet<Scope>;
}

/** Any failure: the references answer 401, as ours does, without saying which check failed. */
export class Unauthenticated extends Error {
  override name = 'Unauthenticated';
  constructor() {
    super('The access token is invalid or expired.');
  }
}

const MAX_TOKEN_LENGTH = 8192;
const BEARER = /^Bearer +([^\s]+) *$/i;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const ROLES: readonly string[] = ['viewer', 'member', 'admin'];
/** A TypeID of our prefixes (src/ids.ts): the prefix, then 26 Crockford base32, the first ≤ 7. */
const USER_ID = /^usr_[0-7][0-9a-hjkmnp-tv-z]{25}$/;
const TENANT_ID = /^ten_[0-7][0-9a-hjkmnp-tv-z]{25}$/;

export type VerifyAuthorization = (header: string | undefined) => Promise<ReferenceViewer>;

/** Reads the signing key once; the result verifies an `Authorization` header per request. */
export async function createTokenCheck(settings: ReferenceSettings): Promise<VerifyAuthorization> {
  const { secret } = JSON.parse(await readFile(settings.signingKeyFile, 'utf8')) as {
    secret: string;
  };
  const key = base64url.decode(secret);
  const options: JWTVerifyOptions = {
    algorithms: ['HS256'],
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockToleranceSeconds,
    requiredClaims: ['exp', 'iat', 'sub', 'iss', 'aud'],
  };
  const verified = new LRUCache<string, { viewer: ReferenceViewer; expiresAt: number }>({
    max: 10_000,
    ttl: 60_000,
  });
  return async (header) => {
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (!token || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      throw new Unauthenticated();
    }
    const known = verified.get(token);
    if (known && Date.now() / 1000 < known.expiresAt + settings.clockToleranceSeconds) {
      return known.viewer;
    }
    const { viewer, expiresAt } = await verify(token);
    verified.set(token, { viewer, expiresAt });
    return viewer;
  };

  async function verify(token: string): Promise<{ viewer: ReferenceViewer; expiresAt: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, options));
    } catch {
      throw new Unauthenticated();
    }
    const iat = payload.iat as number;
    const exp = payload.exp as number;
    if (iat > Math.floor(Date.now() / 1000) + settings.clockToleranceSeconds) {
      throw new Unauthenticated();
    }
    if (exp - iat > settings.maxTokenLifetimeSeconds) throw new Unauthenticated();
    const { sub, tid, role, scope } = payload;
    if (
      typeof sub !== 'string' ||
      !USER_ID.test(sub) ||
      typeof tid !== 'string' ||
      !TENANT_ID.test(tid) ||
      typeof role !== 'string' ||
      !ROLES.includes(role) ||
      (scope !== undefined && typeof scope !== 'string')
    ) {
      throw new Unauthenticated();
    }
    const viewerRole = role as ReferenceViewer['role'];
    const requested = scope === undefined ? undefined : scope.split(/\s+/).filter(Boolean);
    const viewer: ReferenceViewer = {
      userId: sub,
      tenantId: tid,
      role: viewerRole,
      scopes: effectiveScopes(viewerRole, requested),
    };
    return { viewer, expiresAt: exp };
  }
}

/**
 * Whether the viewer may read the whole page: the tenant's orders (`read:orders` as a member
 * or admin, Order's rule) and products (`read:products`). The references serve only such
 * viewers (the bench's alice); ours would also serve a viewer its own orders.
 */
export function mayReadOrderList(viewer: ReferenceViewer): boolean {
  return (
    viewer.scopes.has('read:orders') &&
    viewer.scopes.has('read:products') &&
    (viewer.role === 'member' || viewer.role === 'admin')
  );
}
