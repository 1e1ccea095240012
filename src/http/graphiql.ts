/**
 * GraphiQL, served by this server alone: the page and every file it loads come from our own
 * origin, so it works offline, behind a proxy and in an air-gapped network, and its
 * Content-Security-Policy names no other origin.
 *
 * The files are the build Yoga's own offline renderer uses (`@graphql-yoga/render-graphiql`,
 * pinned in package.json): GraphiQL's script and stylesheet, the editor's three web workers and
 * the icon. They are served under a path that carries the package's version
 * (`/graphiql/<version>/…`), so a browser may keep them for a year (`immutable`); an upgrade
 * changes every URL. Each has an ETag (SHA-256 of its bytes) for conditional requests. The
 * 9 MB module holding them is loaded on the first asset request, not at start-up.
 *
 * The page itself is ours: a stylesheet link, the script, and one inline script that points
 * the editor at its workers and starts GraphiQL with our options (title, demo tabs, the
 * pre-filled token). The policy allows that inline script by hash, everything else from
 * 'self' only.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Plugin } from 'graphql-yoga';

/** The version of the GraphiQL build, part of every asset URL. */
const GRAPHIQL_BUILD_VERSION = (
  createRequire(import.meta.url)('@graphql-yoga/render-graphiql/package.json') as {
    version: string;
  }
).version;

/** Where the assets live; a request under it that names no asset is a 404. */
export const GRAPHIQL_ASSETS_PATH = `/graphiql/${GRAPHIQL_BUILD_VERSION}/`;

/** A year: the longest `max-age` caches honour, for files whose URL changes with them. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

type Build = typeof import('@graphql-yoga/render-graphiql/graphiql');

interface Asset {
  contentType: string;
  body: (build: Build) => string | Buffer;
}

/** The files, by name under GRAPHIQL_ASSETS_PATH. */
const ASSETS: Record<string, Asset> = {
  'graphiql.js': { contentType: 'text/javascript; charset=utf-8', body: (build) => build.js },
  'graphiql.css': { contentType: 'text/css; charset=utf-8', body: (build) => build.css },
  'editor.worker.js': {
    contentType: 'text/javascript; charset=utf-8',
    body: (build) => build.editorWorkerService,
  },
  'json.worker.js': {
    contentType: 'text/javascript; charset=utf-8',
    body: (build) => build.jsonWorker,
  },
  'graphql.worker.js': {
    contentType: 'text/javascript; charset=utf-8',
    body: (build) => build.graphqlWorker,
  },
  // The build carries its icon as a data: URL; served as the bytes it encodes.
  'favicon.ico': {
    contentType: 'image/x-icon',
    body: (build) => Buffer.from(build.favicon.slice(build.favicon.indexOf(',') + 1), 'base64'),
  },
};

/** The Monaco worker labels GraphiQL asks for, and the file serving each. */
const WORKERS = {
  editorWorkerService: 'editor.worker.js',
  json: 'json.worker.js',
  graphql: 'graphql.worker.js',
} as const;

export interface GraphiqlOptions {
  title: string;
  /** What `YogaGraphiQL.renderYogaGraphiQL` takes: tabs, headers, persistence. */
  [option: string]: unknown;
}

export interface GraphiqlPage {
  html: string;
  /** The page's Content-Security-Policy. */
  policy: string;
}

/** The page for `options`, and the policy that allows exactly what it loads and runs. */
export function graphiqlPage(options: GraphiqlOptions): GraphiqlPage {
  const workerUrls = Object.fromEntries(
    Object.entries(WORKERS).map(([label, file]) => [label, GRAPHIQL_ASSETS_PATH + file]),
  );
  // JSON inside a <script>: `<` escaped so no value can close the element.
  const json = (value: unknown) => JSON.stringify(value).replaceAll('<', '\\u003c');
  const boot = [
    `const workers = ${json(workerUrls)};`,
    'self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };',
    `YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${json(options)});`,
  ].join('\n');
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8" />',
    `<title>${escapeHtml(options.title)}</title>`,
    `<link rel="icon" href="${GRAPHIQL_ASSETS_PATH}favicon.ico" />`,
    `<link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}graphiql.css" />`,
    '</head>',
    '<body id="body" class="no-focus-outline">',
    '<noscript>GraphiQL needs JavaScript.</noscript>',
    '<div id="root"></div>',
    `<script src="${GRAPHIQL_ASSETS_PATH}graphiql.js"></script>`,
    `<script>${boot}</script>`,
    '</body>',
    '</html>',
  ].join('\n');
  const bootHash = createHash('sha256').update(boot).digest('base64');
  const policy = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${bootHash}'`,
    // The editor (Monaco) adds <style> elements and style attributes as it runs.
    "style-src 'self' 'unsafe-inline'",
    // The stylesheet carries its icons and fonts as data: URLs.
    "img-src 'self' data:",
    'font-src data:',
    "connect-src 'self'",
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, policy };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

interface LoadedAsset {
  contentType: string;
  body: Buffer;
  etag: string;
}

/**
 * Serves the files under GRAPHIQL_ASSETS_PATH (GET and HEAD; 304 when If-None-Match names
 * the ETag, 404 for a name that is not one of them, 405 for another method). Added to the
 * pipeline only when GraphiQL is on.
 */
export function useGraphiqlAssets(): Plugin {
  let build: Promise<Build> | undefined;
  const loaded = new Map<string, LoadedAsset>();

  async function load(name: string, asset: Asset): Promise<LoadedAsset> {
    let found = loaded.get(name);
    if (!found) {
      build ??= import('@graphql-yoga/render-graphiql/graphiql');
      const content = asset.body(await build);
      const body = Buffer.from(content);
      const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
      found = { contentType: asset.contentType, body, etag };
      loaded.set(name, found);
    }
    return found;
  }

  return {
    async onRequest({ request, url, fetchAPI, endResponse }) {
      if (!url.pathname.startsWith(GRAPHIQL_ASSETS_PATH)) return;
      const name = url.pathname.slice(GRAPHIQL_ASSETS_PATH.length);
      const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
      if (!asset) {
        endResponse(
          new fetchAPI.Response('Not found: no such GraphiQL file.\n', {
            status: 404,
            headers: { 'Content-Type': 'text/plain; charset=utf-8' },
          }),
        );
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(
          new fetchAPI.Response('GraphiQL files are read with GET or HEAD.\n', {
            status: 405,
            headers: { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' },
          }),
        );
        return;
      }
      const { contentType, body, etag } = await load(name, asset);
      const headers = { 'Cache-Control': IMMUTABLE, ETag: etag };
      const cached = request.headers
        .get('if-none-match')
        ?.split(',')
        .some((tag) => tag.trim().replace(/^W\//, '') === etag);
      if (cached) {
        endResponse(new fetchAPI.Response(null, { status: 304, headers }));
        return;
      }
      endResponse(
        new fetchAPI.Response(request.method === 'HEAD' ? null : (body as unknown as BodyInit), {
          status: 200,
          headers: {
            ...headers,
            'Content-Type': contentType,
            'Content-Length': String(body.byteLength),
          },
        }),
      );
    },
  };
}
