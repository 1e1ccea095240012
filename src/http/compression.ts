/**
 * Response compression: brotli or gzip, as the client's Accept-Encoding asks, for any body
 * the server sends (GraphQL over POST and GET, GraphiQL and its assets, /metrics) of at least
 * COMPRESSION_MIN_BYTES. COMPRESSION=false leaves it to a proxy.
 *
 * Rules:
 * - `Vary: Accept-Encoding` on every response, merged with what is there (CORS's `Origin`,
 *   conditional GET's `Authorization, Accept`), never twice: a cache must not hand a brotli
 *   body to a client that asked for none, even for a body that was too small to compress.
 * - Negotiation honours q-values (negotiator): `br;q=0` or `*;q=0` refuses a coding, `identity`
 *   preferred by q gets the body as it is; at equal q, br is preferred to gzip.
 * - Left alone: HEAD, 204/304 and other bodiless answers, bodies under the threshold, bodies
 *   already encoded, `Cache-Control: no-transform`, types that do not shrink (images) and
 *   streams (text/event-stream, multipart/mixed), which must not be held back to the end.
 * - A strong ETag becomes weak: the compressed bytes differ from the ones the tag named.
 *
 * Why not whatwg-node's `useContentEncoding` (Yoga's own): it takes the first coding listed
 * (no q-values; `gzip, br` with the space matches nothing), compresses every body however
 * small, sets no Vary, and compresses through CompressionStream, whose brotli runs at quality
 * 11. Why not the `compression` middleware: it sits below Yoga (tests through `app.fetch` would
 * not see it), and it decides the threshold from Content-Length, which Yoga's responses do not
 * carry, so it would compress everything. Here each body is known whole, so Node's zlib
 * compresses it in one call (in libuv's thread pool, off the event loop), sized for it.
 */
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Plugin } from 'graphql-yoga';
import Negotiator from 'negotiator';
import vary from 'vary';

export interface CompressionOptions {
  /** Smallest body, in bytes, that is compressed (COMPRESSION_MIN_BYTES; default 1024). */
  minBytes: number;
}

/** Codings offered, best first: brotli is smaller at the same CPU, gzip is everywhere. */
const CODINGS = ['br', 'gzip', 'identity'] as const;

/**
 * Bodies here are made per request (each page of data differs), so CPU per byte matters more
 * than the last percent of size. On an 18.9 KB orders page, brotli at quality 4 gave 1.2 KB in
 * about 0.1 ms, as gzip at level 6 did 1.5 KB; brotli's default quality (11), made for static
 * files compressed once, gave 1.0 KB in 24 ms: two hundred times the CPU for 200 bytes.
 */
const BROTLI_QUALITY = 4;
/** zlib's own default: past 6, gzip spends much more time for little size. */
const GZIP_LEVEL = 6;

/** Types that shrink: text, JSON (GraphQL responses), JavaScript, XML and SVG. */
const COMPRESSIBLE =
  /^(?:text\/(?!event-stream)|application\/(?:json|javascript|xml|[\w.-]+\+(?:json|xml))|image\/svg\+xml)/i;

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

interface NegotiatorWithPreferred {
  encoding(available: readonly string[], options: { preferred: readonly string[] }): string;
}

export function useCompression(options: CompressionOptions): Plugin {
  return {
    async onResponse({ request, response, setResponse, fetchAPI }) {
      const headers = response.headers;
      const varied = vary.append(headers.get('vary') ?? '', 'Accept-Encoding');
      if (varied) headers.set('Vary', varied);

      const accept = request.headers.get('accept-encoding');
      if (!accept || !compressible(request, response)) return;
      const negotiator = new Negotiator({ headers: { 'accept-encoding': accept } });
      const coding = (negotiator as unknown as NegotiatorWithPreferred).encoding(CODINGS, {
        preferred: CODINGS,
      });
      if (coding !== 'br' && coding !== 'gzip') return;

      // whatwg-node's Response hands its Buffer itself; a copy would be a waste.
      const raw: ArrayBuffer | Uint8Array = await response.arrayBuffer();
      const body = raw instanceof Uint8Array ? raw : new Uint8Array(raw);
      const init = { status: response.status, statusText: response.statusText, headers };
      if (body.byteLength < options.minBytes) {
        setResponse(new fetchAPI.Response(body, init));
        return;
      }
      const compressed =
        coding === 'br'
          ? await brotli(body, {
              params: {
                [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
                [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
                [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength,
              },
            })
          : await gzipAsync(body, { level: GZIP_LEVEL });
      headers.set('Content-Encoding', coding);
      headers.set('Content-Length', String(compressed.byteLength));
      const etag = headers.get('etag');
      if (etag?.startsWith('"')) headers.set('ETag', `W/${etag}`);
      setResponse(new fetchAPI.Response(compressed, init));
    },
  };
}

/** Whether the response may be compressed at all, before its body is read. */
function compressible(request: Request, response: Response): boolean {
  // Not `response.body === null`: on whatwg-node's Response that getter builds a stream.
  if (request.method === 'HEAD') return false;
  if (response.status < 200 || response.status === 204 || response.status === 304) return false;
  const { headers } = response;
  const encoding = headers.get('content-encoding');
  if (encoding && encoding !== 'identity') return false;
  if (/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(headers.get('cache-control') ?? '')) return false;
  return COMPRESSIBLE.test(headers.get('content-type') ?? '');
}
