/**
 * The development signing key: a random HS256 secret kept in DATA_DIR, so that `npm run token`
 * and the server agree on it without configuration. Production refuses it (see config.ts) and
 * verifies tokens from a real identity provider's JWKS instead.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { base64url, SignJWT } from 'jose';
import type { Config } from '../config.ts';
import type { Role } from '../db/schema.ts';

/** 256 bits: the HS256 output size, and what RFC 7518 §3.2 asks of an HS256 key. */
const SECRET_BYTES = 32;

interface DevKeyFile {
  readonly secret: string;
  readonly createdAt: string;
}

/**
 * Reads the secret from `file`, creating it on first use. Several processes starting at once
 * (server and CLI, or two servers) all end up with the same secret: each writes a complete temp
 * file and hard-links it into place, which fails when another process won the race; the loser
 * then reads the winner's file. A file is never observed half-written.
 */
export async function loadOrCreateDevKey(file: string): Promise<Uint8Array> {
  const existing = await readDevKey(file);
  if (existing) return existing;

  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = new Uint8Array(randomBytes(SECRET_BYTES));
  const contents: DevKeyFile = {
    secret: base64url.encode(secret),
    createdAt: new Date().toISOString(),
  };
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, file);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') {
      // A filesystem without hard links: an atomic rename still never leaves a torn file.
      if (errorCode(error) === 'EPERM' || errorCode(error) === 'ENOTSUP') {
        await rename(temp, file);
        return (await readDevKey(file)) ?? secret;
      }
      await unlink(temp).catch(() => {});
      throw error;
    }
  }
  await unlink(temp).catch(() => {});
  const stored = await readDevKey(file);
  if (!stored) throw new Error(`Development signing key ${file} disappeared while being created.`);
  return stored;
}

async function readDevKey(file: string): Promise<Uint8Array | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
  const invalid = () =>
    new Error(
      `Development signing key ${file} is not valid; delete it to generate a new one (tokens signed with it stop working).`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid();
  }
  const encoded = (parsed as Partial<DevKeyFile> | null)?.secret;
  if (typeof encoded !== 'string') throw invalid();
  let secret: Uint8Array;
  try {
    secret = base64url.decode(encoded);
  } catch {
    throw invalid();
  }
  if (secret.byteLength < SECRET_BYTES) throw invalid();
  return secret;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export interface DevTokenClaims {
  readonly userId: string;
  readonly tenantId: string;
  readonly role: Role;
  /** Narrows the role's scopes; omitted means "everything the role grants". */
  readonly scopes?: readonly string[];
}

/** Signs a compact HS256 JWT carrying the claims `createTokenVerifier` expects. */
export async function signDevToken(
  secret: Uint8Array,
  auth: Config['auth'],
  claims: DevTokenClaims,
  ttlSeconds: number,
): Promise<string> {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}.`);
  }
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { tid: claims.tenantId, role: claims.role };
  if (claims.scopes !== undefined) payload.scope = claims.scopes.join(' ');
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setSubject(claims.userId)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ttlSeconds)
    .setJti(randomUUID())
    .sign(secret);
}
