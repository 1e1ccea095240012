/**
 * GraphQL over GET as HTTP means it: GET is safe, so a mutation sent over GET is refused
 * (405 METHOD_NOT_ALLOWED, `Allow: POST`) before anything runs; and a successful query answered
 * over GET is a cacheable representation, validated with an ETag, so a client that already
 * holds the same data gets 304 Not Modified with no body. This applies to every GET query,
 * persisted or sent as full text.
 *
 * The operation still executes on a 304 (and is charged to the cost budget like any other):
 * the server only learns whether the data changed by computing it. What a 304 saves is the
 * transfer and the client's parsing and re-rendering of an unchanged result.
 *
 * The ETag is weak (`W/"…"`), computed over the result's `data` only: `extensions.cost`
 * reports the caller's bucket, which differs on every response, so two responses with the same
 * data are semantically equivalent but not byte-identical, which is what RFC 9110 §8.8.1 calls
 * a weak validator. If-None-Match uses weak comparison anyway, and proxies that compress
 * responses keep weak tags but drop or weaken strong ones.
 */
import { createHash } from 'node:crypto';
import { type ExecutionResult, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import { apiError, ErrorCode } from '../errors.ts';

/**
 * `private`: tenant data must never sit in a shared cache (a CDN, a corporate proxy).
 * `no-cache`: the browser may keep the response but must revalidate it on every use, which
 * is what makes the ETag useful; data that is never stale is worth one round trip.
 */
export const GET_CACHE_CONTROL = 'private, no-cache';

/**
 * The result depends on who asks (the bearer token) and on the negotiated media type (Yoga
 * picks `application/graphql-response+json` or `application/json`, and error statuses, from
 * Accept), so a cache must key on both.
 */
const VARY = ['Authorization', 'Accept'];

export const MUTATION_OVER_GET_MESSAGE =
  'Mutations are not allowed over GET, which must be safe to repeat; send them with POST.';

/** What this plugin knows about a GET request by the time its response goes out. */
interface GetState {
  /** Set only for a successful result: data and no errors. */
  etag?: string;
}

export function useConditionalGet(): Plugin<RequestContext> {
  const gets = new WeakMap<Request, GetState>();

  return {
    onParse({ context }) {
      return ({ result }) => {
        const { request, params } = context;
        if (request?.method !== 'GET' || result instanceof Error || !result) return;
        // Yoga refuses these too (its own onParse hook, which runs after ours), but with code
        // BAD_REQUEST, which is not one of ours. Right after parsing, nothing has run or been
        // charged yet. Persisted documents pass here too: they are set in place of parsing.
        if (getOperationAST(result, params?.operationName)?.operation !== 'mutation') return;
        throw apiError(ErrorCode.METHOD_NOT_ALLOWED, MUTATION_OVER_GET_MESSAGE, {
          http: { status: 405, headers: { Allow: 'POST' } },
        });
      };
    },

    onResultProcess({ request, result }) {
      if (request.method !== 'GET') return;
      const state: GetState = {};
      // GET carries one operation (no batching) and streamed results have no single body.
      if (isSingleResult(result) && !result.errors?.length && result.data != null) {
        state.etag = etagOf(result.data);
      }
      gets.set(request, state);
    },

    onResponse({ request, response, setResponse, fetchAPI }) {
      const state = gets.get(request);
      if (!state) return;
      response.headers.set('Cache-Control', GET_CACHE_CONTROL);
      appendVary(response.headers);
      if (state.etag === undefined || response.status !== 200) return;
      response.headers.set('ETag', state.etag);
      if (!noneMatch(request.headers.get('If-None-Match'), state.etag)) {
        // RFC 9110 §15.4.5: a 304 carries the ETag, Cache-Control and Vary the 200 would
        // have had, and no body or body metadata. The request id and rate-limit headers stay:
        // the request did run and was charged. Later plugins' headers land on the 304 itself.
        const headers = new fetchAPI.Headers(response.headers);
        headers.delete('Content-Type');
        headers.delete('Content-Length');
        setResponse(new fetchAPI.Response(null, { status: 304, headers }));
      }
    },
  };
}

function isSingleResult(result: unknown): result is ExecutionResult {
  return (
    typeof result === 'object' &&
    result !== null &&
    !Array.isArray(result) &&
    !(Symbol.asyncIterator in result)
  );
}

/** graphql-js builds `data` in selection-set order, so equal data serializes identically. */
function etagOf(data: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(data)).digest('base64url');
  return `W/"${digest}"`;
}

/** An entity tag in a list: optional weak prefix, then a quoted opaque tag (RFC 9110 §8.8.3). */
const ENTITY_TAG = /(?:W\/)?"([\x21\x23-\x7e\x80-\xff]*)"/g;

/**
 * RFC 9110 §13.1.2: false (so 304) when the header is `*` or lists a tag that matches the
 * current one by weak comparison (the opaque tags are equal, `W/` prefixes ignored); true when
 * the header is absent, unparseable or lists only other tags.
 */
function noneMatch(header: string | null, etag: string): boolean {
  if (header === null) return true;
  if (header.trim() === '*') return false;
  const current = etag.replace(/^W\//, '');
  for (const [tag] of header.matchAll(ENTITY_TAG)) {
    if (tag.replace(/^W\//, '') === current) return false;
  }
  return true;
}

function appendVary(headers: Headers) {
  const existing = headers.get('Vary');
  if (existing?.trim() === '*') return;
  const present = new Set(existing?.split(',').map((name) => name.trim().toLowerCase()));
  for (const name of VARY) {
    if (!present.has(name.toLowerCase())) headers.append('Vary', name);
  }
}
