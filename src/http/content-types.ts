/**
 * A POST body must be JSON, the GraphQL-over-HTTP format; anything else is refused with 415
 * UNSUPPORTED_MEDIA_TYPE before a byte of it is read. Yoga would also parse url-encoded forms,
 * multipart and `application/graphql` bodies: forms and multipart are what a page on another
 * site can post without a CORS preflight (see csrf-prevention.ts), and no client here needs them.
 */
import type { Plugin } from 'graphql-yoga';
import { apiError, ErrorCode } from '../errors.ts';

/** The media types Yoga's JSON parser reads. */
export const JSON_MEDIA_TYPES = ['application/json', 'application/graphql+json'] as const;

export function useJsonBodies(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'POST' || isJson(request.headers.get('content-type'))) return;
      throw apiError(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        'The request body must be JSON: send Content-Type: application/json.',
        { http: { status: 415 } },
      );
    },
  };
}

/**
 * Matched the way Yoga's JSON parser matches it (the first of a list, then exact or followed
 * by parameters), so that every body let through here is one Yoga parses as JSON.
 */
function isJson(contentType: string | null): boolean {
  const first = contentType?.split(',')[0] ?? '';
  return JSON_MEDIA_TYPES.some((type) => first === type || first.startsWith(`${type};`));
}
