/**
 * Authentication: `Authorization: Bearer <JWT>` or `Bearer oak_…` (an API key,
 * auth/api-keys.ts) → the request's viewer. No header means
 * anonymous (viewer null), which sees no tenant data. A header that is present but wrong
 * (not Bearer, malformed, expired, badly signed, foreign) is a 401 UNAUTHENTICATED with
 * `WWW-Authenticate` — never a silent downgrade to anonymous, which would hide client bugs.
 *
 * The token is checked once per HTTP request, first thing when the request is parsed
 * (`onRequestParse`, as Yoga's own JWT plugin does), and the outcome is kept per request:
 * `viewerOf` gives it to whoever needs the caller before the context exists (the
 * persisted-operation lookup, which depends on the caller's tenant; the cost budget of a
 * request refused before execution). A rejected token is answered when the context is built,
 * after parsing, so that the log line still names the operation, or sooner by the
 * persisted-operations plugin when the id names nothing the manifest holds
 * (`authenticationErrorOf`): a bad token is a 401, never a 404.
 */
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { TokenRejectedError, type TokenVerifier } from '../auth/jwt.ts';
import type { Viewer } from '../auth/viewer.ts';
import type { RequestContext } from '../context.ts';
import { apiError, ErrorCode } from '../errors.ts';
import { requestIdOf } from '../http/request-id.ts';

export interface AuthenticationOptions {
  verifier: TokenVerifier;
  logger: Logger;
}

const REALM = 'orders-api';

function rejected(description: string) {
  return apiError(ErrorCode.UNAUTHENTICATED, 'The access token is missing, invalid or expired.', {
    http: {
      status: 401,
      headers: {
        'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"`,
      },
    },
  });
}

/** The 401 of a token or API key that is no longer good (its user erased, the key revoked). */
export function tokenRejected(): GraphQLError {
  return rejected('The token could not be verified.');
}

type Outcome = { readonly viewer: Viewer | null } | { readonly error: GraphQLError };

const outcomes = new WeakMap<Request, Outcome>();

/**
 * The request's viewer once useAuthentication has checked its token (null: anonymous, or a
 * rejected token); undefined for a request that never reached it (answered by an earlier
 * request-phase rule, such as an unsupported content type).
 */
export function viewerOf(request: Request): Viewer | null | undefined {
  const outcome = outcomes.get(request);
  return outcome === undefined ? undefined : 'viewer' in outcome ? outcome.viewer : null;
}

/** The 401 the request's token earned, if it was rejected. */
export function authenticationErrorOf(request: Request): GraphQLError | undefined {
  const outcome = outcomes.get(request);
  return outcome && 'error' in outcome ? outcome.error : undefined;
}

export function useAuthentication(options: AuthenticationOptions): Plugin<RequestContext> {
  async function authenticate(request: Request, requestId: string | undefined) {
    const header = request.headers.get('authorization');
    if (header === null) return null;
    const match = /^Bearer +([^\s]+) *$/i.exec(header);
    if (!match) {
      options.logger.info({ requestId, reason: 'not_bearer' }, 'token rejected');
      throw rejected('Use the Bearer scheme.');
    }
    try {
      return await options.verifier.verify(match[1]!);
    } catch (error) {
      // The reason goes to the log only: telling a caller *why* its token failed helps
      // attackers more than it helps legitimate clients.
      const reason = error instanceof TokenRejectedError ? error.reason : 'verifier_error';
      options.logger.info({ requestId, reason }, 'token rejected');
      throw rejected('The token could not be verified.');
    }
  }

  async function outcomeOf(request: Request, requestId: string): Promise<Outcome> {
    let outcome = outcomes.get(request);
    if (!outcome) {
      outcome = await authenticate(request, requestId).then(
        (viewer) => ({ viewer }),
        (error: GraphQLError) => ({ error }),
      );
      outcomes.set(request, outcome);
    }
    return outcome;
  }

  return {
    async onRequestParse({ request }) {
      // Once per HTTP request, even for a batch of operations.
      await outcomeOf(request, requestIdOf(request));
    },
    async onContextBuilding({ context, extendContext }) {
      const outcome = await outcomeOf(context.request, context.requestId);
      if ('error' in outcome) throw outcome.error;
      extendContext({ viewer: outcome.viewer });
    },
  };
}
