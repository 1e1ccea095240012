/**
 * Idempotent mutations keyed by client IDs (DESIGN.md; Stripe's semantics and the IETF
 * Idempotency-Key draft's). The key is the input's `clientMutationId`, or the
 * `Idempotency-Key` header when the request holds a single mutation; it is scoped to
 * (tenant, user, mutation field).
 *
 * The first request claims the key (INSERT) in a savepoint of the request's transaction,
 * executes, and — once the operation has executed, still in that transaction — stores the
 * payload it answers (userErrors included; see `completeIdempotentMutations`). A crash or a
 * rollback therefore leaves both the writes and the key, or neither. A retry with the same
 * input replays the stored payload without executing; with another input it is refused
 * (IDEMPOTENCY_KEY_REUSED). A retry that arrives while the first request is still running
 * blocks on its uncommitted row (PostgreSQL) for at most `IDEMPOTENCY_WAIT_MS`, then sees its
 * result, or fails with IDEMPOTENCY_IN_PROGRESS.
 *
 * Secrets a payload shows once (an API key's, a webhook signing secret) are never stored here:
 * the stored payload has null in their place, and so has a replay.
 */

import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import {
  type ExecutionResult,
  type GraphQLResolveInfo,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import { principalIdOf } from '../auth/viewer.ts';
import type { ExecutionContext, RequestContext } from '../context.ts';
import type { Db } from '../db/client.ts';
import { idempotencyKeys } from '../db/schema.ts';
import { apiError, badUserInput, ErrorCode, type MutationOutcome } from '../errors.ts';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** 1–255 printable ASCII characters (space included). */
const KEY_FORMAT = /^[\x20-\x7e]{1,255}$/;

/** PostgreSQL's lock_not_available: the lock_timeout bounding the wait expired. */
const LOCK_NOT_AVAILABLE = '55P03';

export interface IdempotentMutation {
  /** The mutation's input; its `clientMutationId` is the key. */
  input: { clientMutationId?: string | null } & Record<string, unknown>;
  /** The field being resolved: its name scopes the key, its alias places the payload. */
  info: GraphQLResolveInfo;
  /** Whether a key is mandatory (the creating mutations): BAD_USER_INPUT without one. */
  required?: boolean;
  /** Payload fields holding a secret shown once: stored (and replayed) as null. */
  secretFields?: readonly string[];
}

interface Scope {
  tenantId: string;
  userId: string;
  mutation: string;
  key: string;
}

interface RequestState {
  /** Keys this request claimed: their payloads are stored once the operation has executed. */
  claims: { responseKey: string; scope: Scope; secretKeys: readonly string[] }[];
  /** Payloads replayed instead of executing, by response key. */
  replays: Map<string, string>;
}

const states = new WeakMap<Request, RequestState>();
const replayedRequests = new WeakSet<Request>();

function stateOf(ctx: RequestContext): RequestState {
  let state = states.get(ctx.request);
  if (!state) {
    state = { claims: [], replays: new Map() };
    states.set(ctx.request, state);
  }
  return state;
}

/** Runs `run` at most once per key; see the module comment. */
export async function withIdempotency<T extends MutationOutcome>(
  ctx: ExecutionContext,
  call: IdempotentMutation,
  run: (tx: Db) => Promise<T>,
): Promise<T> {
  const key = keyOf(ctx, call);
  if (key === null) {
    if (call.required) {
      throw badUserInput(
        `\`clientMutationId\` (or the ${IDEMPOTENCY_KEY_HEADER} header) is required: it makes retries safe.`,
        ['input', 'clientMutationId'],
      );
    }
    return run(ctx.tx);
  }
  const viewer = ctx.viewer;
  if (!viewer) throw apiError(ErrorCode.UNAUTHENTICATED, 'Authentication is required.');
  const scope: Scope = {
    tenantId: viewer.tenantId,
    // An API key's records are its own, as a user's are theirs.
    userId: principalIdOf(viewer),
    mutation: call.info.fieldName,
    key,
  };
  const fingerprint = fingerprintOf(call.input);
  const { ttlSeconds, waitMs } = ctx.config.idempotency;
  const onlyOperation = isOnlyMutation(call.info);
  const state = stateOf(ctx);
  const responseKey = call.info.path.key as string;

  let outcome: T | undefined;
  try {
    await ctx.tx.transaction(async (savepoint) => {
      const tx = savepoint as unknown as Db;
      // Bound the wait for a concurrent holder of the key, for this statement only.
      const previous = await tx.execute<{ previous: string }>(
        sql`select current_setting('lock_timeout') as previous, set_config('lock_timeout', ${`${waitMs}ms`}, true)`,
      );
      const claimed = await tx
        .insert(idempotencyKeys)
        .values({
          ...scope,
          fingerprint,
          expiresAt: sql`now() + make_interval(secs => ${ttlSeconds})`,
        })
        .onConflictDoUpdate({
          target: [
            idempotencyKeys.tenantId,
            idempotencyKeys.userId,
            idempotencyKeys.mutation,
            idempotencyKeys.key,
          ],
          // An expired key not yet deleted by the expiry job is free again.
          set: {
            fingerprint,
            response: null,
            createdAt: sql`date_trunc('milliseconds', now())`,
            expiresAt: sql`now() + make_interval(secs => ${ttlSeconds})`,
          },
          setWhere: sql`${idempotencyKeys.expiresAt} <= now()`,
        })
        .returning({ key: idempotencyKeys.key });
      await tx.execute(
        sql`select set_config('lock_timeout', ${firstRow<{ previous: string }>(previous)?.previous ?? '0'}, true)`,
      );
      if (claimed.length > 0) {
        outcome = await run(tx);
        const secretKeys = call.secretFields ? responseKeysOf(call.info, call.secretFields) : [];
        state.claims.push({ responseKey, scope, secretKeys });
        return;
      }
      const [existing] = await tx
        .select({
          fingerprint: idempotencyKeys.fingerprint,
          response: idempotencyKeys.response,
        })
        .from(idempotencyKeys)
        .where(scopeCondition(scope));
      if (!existing) throw inProgress(onlyOperation);
      if (existing.fingerprint !== fingerprint) {
        throw apiError(
          ErrorCode.IDEMPOTENCY_KEY_REUSED,
          'This idempotency key was used with a different input.',
          onlyOperation ? { http: { status: 422 } } : {},
        );
      }
      // Claimed earlier in this very request and not stored yet.
      if (existing.response === null) throw inProgress(onlyOperation);
      state.replays.set(responseKey, existing.response);
      outcome = { userErrors: [] } as unknown as T;
    });
  } catch (error) {
    if (hasCode(error, LOCK_NOT_AVAILABLE)) throw inProgress(onlyOperation);
    throw error;
  }
  return outcome as T;
}

/**
 * After the operation executed, in its transaction: stores the payloads of the keys it
 * claimed, and puts the stored payloads in place of the replayed fields.
 */
export async function completeIdempotentMutations(
  ctx: RequestContext,
  tx: Db,
  result: ExecutionResult,
): Promise<void> {
  const state = states.get(ctx.request);
  if (!state) return;
  states.delete(ctx.request);
  const data = result.data as Record<string, unknown> | null | undefined;
  for (const { responseKey, scope, secretKeys } of state.claims) {
    const payload = withoutSecrets(data?.[responseKey] ?? null, secretKeys);
    await tx
      .update(idempotencyKeys)
      .set({ response: JSON.stringify(payload) })
      .where(scopeCondition(scope));
  }
  if (state.replays.size === 0 || !data) return;
  for (const [responseKey, response] of state.replays) {
    data[responseKey] = JSON.parse(response);
  }
  // The placeholder a replayed field resolved to may have raised errors below it.
  if (result.errors) {
    const remaining = result.errors.filter(
      (error) => !(typeof error.path?.[0] === 'string' && state.replays.has(error.path[0])),
    );
    (result as { errors?: ExecutionResult['errors'] }).errors =
      remaining.length > 0 ? remaining : undefined;
  }
  (result as { extensions?: Record<string, unknown> }).extensions = {
    ...result.extensions,
    idempotentReplay: true,
  };
  replayedRequests.add(ctx.request);
}

/**
 * The response keys (aliases included) under which the mutation's selection asks for any of
 * `fieldNames` on its payload, through fragments too.
 */
function responseKeysOf(info: GraphQLResolveInfo, fieldNames: readonly string[]): string[] {
  const keys = new Set<string>();
  const visit = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (fieldNames.includes(selection.name.value)) {
          keys.add(selection.alias?.value ?? selection.name.value);
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else {
        visit(info.fragments[selection.name.value]?.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet);
  return [...keys];
}

function withoutSecrets(payload: unknown, secretKeys: readonly string[]): unknown {
  if (secretKeys.length === 0 || payload === null || typeof payload !== 'object') return payload;
  const stored: Record<string, unknown> = { ...(payload as Record<string, unknown>) };
  for (const key of secretKeys) if (key in stored) stored[key] = null;
  return stored;
}

/** Whether a response should carry `Idempotent-Replayed: true`. */
export function wasReplayed(request: Request): boolean {
  return replayedRequests.has(request);
}

function keyOf(ctx: RequestContext, call: IdempotentMutation): string | null {
  const fromInput = call.input.clientMutationId;
  const fromHeader = ctx.request.headers.get(IDEMPOTENCY_KEY_HEADER);
  if (fromInput != null) return validKey(fromInput, ['input', 'clientMutationId']);
  if (fromHeader === null) return null;
  if (!isOnlyMutation(call.info)) {
    throw badUserInput(
      `The ${IDEMPOTENCY_KEY_HEADER} header is accepted only for a request with a single mutation; use clientMutationId.`,
    );
  }
  return validKey(fromHeader, undefined);
}

function validKey(key: string, field: readonly string[] | undefined): string {
  if (!KEY_FORMAT.test(key)) {
    throw badUserInput('An idempotency key is 1–255 printable characters.', field);
  }
  return key;
}

/** The request is this one mutation field: one operation, one root field. */
function isOnlyMutation(info: GraphQLResolveInfo): boolean {
  const operations = info.operation.selectionSet.selections;
  return operations.length === 1 && operations[0]?.kind === 'Field';
}

/** sha256 of the canonical JSON (sorted keys) of the input without its clientMutationId. */
export function fingerprintOf(input: Record<string, unknown>): string {
  const { clientMutationId: _ignored, ...rest } = input;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function scopeCondition(scope: Scope) {
  return and(
    eq(idempotencyKeys.tenantId, scope.tenantId),
    eq(idempotencyKeys.userId, scope.userId),
    eq(idempotencyKeys.mutation, scope.mutation),
    eq(idempotencyKeys.key, scope.key),
  );
}

function inProgress(onlyOperation: boolean) {
  return apiError(
    ErrorCode.IDEMPOTENCY_IN_PROGRESS,
    'A request with this idempotency key is still in progress; retry later.',
    onlyOperation ? { http: { status: 409 } } : {},
  );
}

/** postgres.js returns rows as an array, PGlite as `{ rows }`. */
function firstRow<R>(result: unknown): R | undefined {
  const rows = Array.isArray(result) ? result : (result as { rows?: R[] }).rows;
  return rows?.[0] as R | undefined;
}

function hasCode(error: unknown, code: string): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    if ((current as { code?: unknown }).code === code) return true;
    current = current.cause;
  }
  return false;
}
