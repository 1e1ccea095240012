/**
 * CSRF prevention. A page on another site can make the browser send a "simple" request — a
 * GET, or a POST of a form or of text/plain — with the user's cookies and without a CORS
 * preflight, so CORS never gets to refuse it; the page cannot read the answer, but the request
 * has happened. POST bodies other than JSON are refused (content-types.ts) and a JSON POST is
 * never simple; a GET must carry one of CSRF_PREVENTION_HEADERS, which no simple request can,
 * so the browser asks first and CORS decides (cors.ts).
 *
 * The check is @graphql-yoga/plugin-csrf-prevention's; its refusal has no code and does not
 * say what to send, so it is replaced by CSRF_HEADER_REQUIRED (403) with a message that does.
 */
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Plugin } from 'graphql-yoga';
import { apiError, ErrorCode } from '../errors.ts';

/**
 * Any one of these, with any value, lets a GET through. The two Apollo names are the ones
 * Apollo Server checks, so Apollo's clients (which send `X-Apollo-Operation-Name`, or
 * `Apollo-Require-Preflight` when configured for it) work unchanged.
 */
export const CSRF_PREVENTION_HEADERS = [
  'GraphQL-Require-Preflight',
  'Apollo-Require-Preflight',
  'X-Apollo-Operation-Name',
] as const;

/** The methods a cross-site page can use without a preflight (Fetch's CORS-safelisted methods). */
const SIMPLE_METHODS = new Set(['GET', 'HEAD', 'POST']);

export function useCsrfPrevention(): Plugin {
  const { onRequestParse: check } = useCSRFPrevention({
    requestHeaders: [...CSRF_PREVENTION_HEADERS],
  });
  return {
    onRequestParse(payload) {
      // Browsers preflight every other method; those are Yoga's to refuse (405).
      if (!SIMPLE_METHODS.has(payload.request.method)) return;
      try {
        return check?.(payload);
      } catch {
        throw apiError(
          ErrorCode.CSRF_HEADER_REQUIRED,
          `A GET request needs one of the headers ${CSRF_PREVENTION_HEADERS.join(', ')} (any value), so that browsers send a CORS preflight first.`,
          { http: { status: 403 } },
        );
      }
    },
  };
}
