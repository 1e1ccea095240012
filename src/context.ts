/**
 * What every resolver can reach. `RequestContext` is built once per HTTP request (by Yoga's
 * `context` factory plus the authentication plugin); `ExecutionContext` adds the request's
 * database transaction, opened by the tenant-transaction plugin right before execution.
 */
import type { YogaInitialContext } from 'graphql-yoga';
import type { Viewer } from './auth/viewer.ts';
import type { Config } from './config.ts';
import type { Db } from './db/client.ts';

/** What createApp's context factory adds to Yoga's own per-request context. */
export interface AppContext {
  readonly config: Config;
  /** Echoed as `X-Request-Id` and in every error's `extensions.requestId`. */
  readonly requestId: string;
  /** Null for anonymous callers, who see no tenant data. Set by `useAuthentication`. */
  viewer: Viewer | null;
  /**
   * False only in the naive reference that benchmarks build (`createApp({ batching: false })`):
   * relations are then loaded one key per SQL statement (loaders/batching.ts). Unset: batched.
   */
  readonly batching?: boolean;
}

export type RequestContext = YogaInitialContext & AppContext;

export interface ExecutionContext extends RequestContext {
  /** The request's transaction: tenant set, non-superuser role, so RLS applies to every query. */
  readonly tx: Db;
}
