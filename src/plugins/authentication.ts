/**
 * Authentication: `Authorization: Bearer <JWT>` → the request's viewer. No header means
 * anonymous (viewer null), which sees no tenant data. A header that is present but wrong
 * (not Bearer, malformed, expired, badly signed, foreign) is a 401 UNAUTHENTICATED with
 * `WWW-Authenticate` — never a silent downgrade to anonymous, which would hide client bugs.
 */
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { TokenRejectedError, type TokenVerifier } from '../auth/jwt.ts';
import type { RequestContext } from '../context.ts';
import { apiError, ErrorCode } from '../errors.ts';

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

export function useAuthentication(options: AuthenticationOptions): Plugin<RequestContext> {
  return {
    async onContextBuilding({ context, extendContext }) {
      const header = context.request.headers.get('authorization');
      if (header === null) {
        extendContext({ viewer: null });
        return;
      }
      const match = /^Bearer +([^\s]+) *$/i.exec(header);
      if (!match) {
        options.logger.info(
          { requestId: context.requestId, reason: 'not_bearer' },
          'token rejected',
        );
        throw rejected('Use the Bearer scheme.');
      }
      try {
        extendContext({ viewer: await options.verifier.verify(match[1]!) });
      } catch (error) {
        // The reason goes to the log only: telling a caller *why* its token failed helps
        // attackers more than it helps legitimate clients.
        const reason = error instanceof TokenRejectedError ? error.reason : 'verifier_error';
        options.logger.info({ requestId: context.requestId, reason }, 'token rejected');
        throw rejected('The token could not be verified.');
      }
    },
  };
}
