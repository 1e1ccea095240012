/**
 * The server's build: src/ bundled with its dependencies into a few ES modules under dist/, so
 * that `npm start` loads prebuilt JavaScript instead of compiling about a hundred TypeScript
 * files through tsx's loader and resolving some 1,300 module files one by one (3.5 s → 0.7 s of
 * a start). Plain JavaScript, because it runs before anything could compile TypeScript.
 *
 *   node scripts/build.mjs [--if-stale]
 *       builds dist/ (with --if-stale: unless it is current) and the embedded database's
 *       template (db/pglite-template.ts); `npm ci` and `npm install` run it as `prepare`
 *
 * `npm start` (scripts/start.mjs) calls `serverEntry()`, which rebuilds first when the build is
 * missing or stale: when a source file it was made from, the installed packages
 * (node_modules/.package-lock.json), package.json, tsconfig.json or this file changed. The
 * check is one `stat` per source file, a few milliseconds.
 *
 * Each build goes to a directory of its own (dist/server-<id>/) and dist/server.json, written
 * last and atomically, names the current one, so a server starting while another process
 * rebuilds never reads half a build. esbuild comes from tsx, which depends on it: no other
 * dependency is needed. The output is not committed (.gitignore).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const manifestFile = path.join(dist, 'server.json');

/** Files besides the bundled sources whose change makes a build stale. */
const BUILD_INPUTS = [
  'node_modules/.package-lock.json',
  'package.json',
  'tsconfig.json',
  'scripts/build.mjs',
];

/**
 * Not bundled, imported from node_modules at run time: PGlite finds its WebAssembly and data
 * files next to its own modules, pino starts its transports (pino-pretty) as worker threads by
 * file name, and OpenTelemetry and ioredis are loaded only when configured (tracing, REDIS_URL).
 */
const EXTERNAL = ['@electric-sql/pglite', 'pino', 'pino-pretty', '@opentelemetry/*', 'ioredis'];

/**
 * @typedef {{ build: string; entries: Record<string, string>; inputs: Record<string, [number, number]> }} BuildManifest
 */

/** @returns {BuildManifest | undefined} */
function readManifest() {
  try {
    return JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    return undefined;
  }
}

/** `[mtime, size]` of a file, or undefined when it is missing. */
function fingerprint(file) {
  try {
    const { mtimeMs, size } = statSync(path.join(root, file));
    return /** @type {[number, number]} */ ([mtimeMs, size]);
  } catch {
    return undefined;
  }
}

/** @param {BuildManifest} manifest */
function isCurrent(manifest) {
  if (Object.values(manifest.entries).some((entry) => !fingerprint(path.join('dist', entry)))) {
    return false;
  }
  for (const [file, [mtimeMs, size]] of Object.entries(manifest.inputs)) {
    const now = fingerprint(file);
    if (!now || now[0] !== mtimeMs || now[1] !== size) return false;
  }
  return true;
}

/**
 * esbuild replaces `import.meta.url` with the bundle's own URL; each source file gets its
 * original URL instead, so paths computed from it (db/client.ts's drizzle/ folder, the CLI
 * modules' "am I the entry point?" checks) mean what they mean when run from src/.
 */
const sourceUrls = {
  name: 'source-import-meta-url',
  /** @param {import('esbuild').PluginBuild} build */
  setup(build) {
    build.onLoad({ filter: /[\\/](src|bench)[\\/].*\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

/** Bundled CommonJS packages call `require` for Node's built-in modules. */
const REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** esbuild, from tsx, which depends on it. */
export function loadEsbuild() {
  return createRequire(createRequire(import.meta.url).resolve('tsx'))('esbuild');
}

/**
 * esbuild's options for bundling `entryPoints` (name → source file) into `outdir`: ES modules
 * for Node 20, dependencies included but EXTERNAL, shared chunks. The bench builds the servers
 * it measures with these too (bench/build.ts).
 * @param {Record<string, string>} entryPoints
 * @param {string} outdir
 */
export function bundleOptions(entryPoints, outdir) {
  return {
    absWorkingDir: root,
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    logLevel: 'error',
    plugins: [sourceUrls],
    chunkNames: 'chunks/[name]-[hash]',
    banner: { js: REQUIRE_BANNER },
  };
}

/** Builds dist/ now, whatever its state. Resolves to the new build's manifest. */
export async function buildServer() {
  const esbuild = loadEsbuild();
  const build = `server-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const outdir = path.join(dist, build);
  await mkdir(outdir, { recursive: true });
  const result = await esbuild
    .build({
      ...bundleOptions(
        { main: 'src/main.ts', 'pglite-template': 'src/db/pglite-template.ts' },
        outdir,
      ),
      sourcemap: 'linked',
      metafile: true,
    })
    .catch((error) => {
      rmSync(outdir, { recursive: true, force: true });
      throw error;
    });
  const sources = Object.keys(result.metafile.inputs).filter(
    (file) => !file.startsWith('node_modules/'),
  );
  /** @type {BuildManifest} */
  const manifest = {
    build,
    entries: { main: `${build}/main.js`, 'pglite-template': `${build}/pglite-template.js` },
    inputs: {},
  };
  for (const file of [...BUILD_INPUTS, ...sources]) {
    const stamp = fingerprint(file);
    if (stamp) manifest.inputs[file] = stamp;
  }
  const temporary = `${manifestFile}.${build}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(temporary, manifestFile);
  removeOldBuilds(build);
  return manifest;
}

/**
 * Keeps the new build and the one before it (a server started from it may still be running and
 * importing its chunks); deletes older ones.
 */
function removeOldBuilds(current) {
  const builds = readdirSync(dist)
    .filter((name) => name.startsWith('server-') && name !== current && !name.endsWith('.tmp'))
    .map((name) => ({ name, mtimeMs: statSync(path.join(dist, name)).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { name } of builds.slice(1)) {
    rmSync(path.join(dist, name), { recursive: true, force: true });
  }
}

/**
 * The URL of a built entry (`main` or `pglite-template`). With `rebuild`, a missing or stale
 * build is rebuilt first (saying so on stderr); without, the current build is used as it is.
 * @param {{ entry?: string; rebuild?: boolean }} [options]
 */
export async function serverEntry({ entry = 'main', rebuild = true } = {}) {
  let manifest = readManifest();
  if (rebuild && (!manifest || !isCurrent(manifest))) {
    process.stderr.write(
      manifest
        ? 'Rebuilding the server: its sources changed since the last build (scripts/build.mjs).\n'
        : 'Building the server (scripts/build.mjs).\n',
    );
    manifest = await buildServer();
  }
  if (!manifest) throw new Error(`No server build in ${dist}: run node scripts/build.mjs.`);
  return pathToFileURL(path.join(dist, manifest.entries[entry]));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const current = process.argv.includes('--if-stale') && readManifest();
  const skip = current && isCurrent(current);
  if (!skip) await buildServer();
  const built = performance.now();
  const { preparePgliteTemplate } = await import(
    (await serverEntry({ entry: 'pglite-template', rebuild: false })).href
  );
  await preparePgliteTemplate();
  process.stdout.write(
    `${skip ? 'The server build in dist/ is current' : `Built the server into dist/ (${Math.round(built - started)} ms)`}; the embedded database's template is ready (${Math.round(performance.now() - built)} ms).\n`,
  );
}
