/**
 * CORS from an allow-list (CORS_ORIGINS). A page from a listed origin may call the API and
 * read the answer; a request from any other origin gets no CORS headers at all, so its browser
 * keeps the answer from the page (and refuses to send a preflighted request). Yoga's own CORS
 * support answers preflights and writes the headers; `corsOptions` decides, per request, what
 * it writes.
 *
 * Why not Yoga's plain options: left unset they allow every origin, with credentials; with
 * several origins, an unlisted one is answered `Access-Control-Allow-Origin: null`, which is
 * the very origin a sandboxed iframe or a `file:` page has. Here an unlisted origin gets none.
 */
import type { CORSOptions, Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import { IDEMPOTENT_REPLAYED_HEADER } from '../idempotency/with-idempotency.ts';
import { REQUEST_ID_HEADER } from './request-id.ts';

/** Response headers a page may read besides the CORS-safelisted ones. */
export const EXPOSED_HEADERS = [
  REQUEST_ID_HEADER,
  'Retry-After',
  'WWW-Authenticate',
  'RateLimit',
  'RateLimit-Policy',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  IDEMPOTENT_REPLAYED_HEADER,
  'Server-Timing',
  'Deprecation',
  'Sunset',
];

/** How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours). */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** Yoga's `cors` option: `false` (no CORS headers anywhere) when no origin is configured. */
export function corsOptions(
  cors: Config['http']['cors'],
): false | ((request: Request) => CORSOptions) {
  if (!cors) return false;
  const { origins, credentials } = cors;
  return (request) => {
    const origin = request.headers.get('origin');
    if (!origin || (origins !== '*' && !origins.includes(origin))) return false;
    return {
      // The caller's own origin: with a list, it is the one that matched; with `*`, the same
      // answer without credentials, which config.ts never allows with `*`.
      origin,
      methods: ['GET', 'POST'],
      // Unset: the headers the preflight asks for are allowed, since the origin is trusted.
      exposedHeaders: EXPOSED_HEADERS,
      credentials,
      maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    };
  };
}

/**
 * With CORS on, answers differ by the request's Origin (a listed origin gets CORS headers, any
 * other none), so a shared cache must not hand one origin's answer to another.
 */
export function useVaryOnOrigin(): Plugin {
  return {
    onResponse({ response }) {
      const vary = response.headers.get('vary') ?? '';
      if (!/(^|,)\s*origin\s*(,|$)/i.test(vary)) response.headers.append('Vary', 'Origin');
    },
  };
}
