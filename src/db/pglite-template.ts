/**
 * A new embedded database starts as a copy of a template cluster instead of running initdb.
 *
 * Why: PGlite's initdb (PostgreSQL's catalogs and template databases, built by running
 * PostgreSQL inside WebAssembly) takes 4–8 s on every new DATA_DIR, most of a first start,
 * yet its output depends on nothing but the PGlite version. So it runs once per PGlite version,
 * into node_modules/.cache/orders-api/ (at `npm ci`, whose `prepare` step calls
 * `preparePgliteTemplate`, or else at the first start that needs it), and each new DATA_DIR
 * receives a file copy of it, about 0.1 s for its 40 MB. The copy is an empty cluster, as
 * initdb leaves it: migrations and the demo seed still run on it at start.
 *
 * Whatever goes wrong here (no write access to node_modules, a full disk) is not an error: the
 * caller lets PGlite run initdb in DATA_DIR itself, as it did before templates existed.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Bump when what a template holds changes for another reason than the PGlite version. */
const TEMPLATE_FORMAT = 1;

/** Where the template of the installed PGlite lives (created or not). */
async function templateDirectory(): Promise<string> {
  // node_modules/@electric-sql/pglite/dist/pglite.wasm, an exported file of the package.
  const wasm = createRequire(import.meta.url).resolve('@electric-sql/pglite/pglite.wasm');
  const packageDir = path.dirname(path.dirname(wasm));
  const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const nodeModules = path.dirname(path.dirname(packageDir));
  return path.join(
    nodeModules,
    '.cache',
    'orders-api',
    `pglite-${version}-template-${TEMPLATE_FORMAT}`,
  );
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** A sibling of `target` to build into, renamed onto `target` once complete. */
function temporarySibling(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Moves the finished `built` directory to `target` (a missing or empty directory), in one
 * rename, so that nobody ever sees half of it. When another process got there first, its copy
 * is kept and ours is deleted: both are the same.
 */
async function publish(built: string, target: string): Promise<void> {
  try {
    await rename(built, target);
  } catch (error) {
    await rm(built, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
}

/**
 * The template of the installed PGlite: made now (initdb, 4–8 s) unless it exists. Returns its
 * directory. `npm ci` calls it through `prepare` (scripts/build.mjs), so a first start finds it.
 */
export async function preparePgliteTemplate(): Promise<string> {
  const template = await templateDirectory();
  if (await exists(path.join(template, 'PG_VERSION'))) return template;
  const { PGlite } = await import('@electric-sql/pglite');
  const built = temporarySibling(template);
  await mkdir(path.dirname(template), { recursive: true });
  try {
    await mkdir(built);
    const initialized = await PGlite.create(built);
    await initialized.close();
  } catch (error) {
    await rm(built, { recursive: true, force: true });
    throw error;
  }
  await publish(built, template);
  return template;
}

/** Copies a directory tree, files in parallel (one file at a time takes three times longer). */
async function copyTree(from: string, to: string): Promise<void> {
  const entries = await readdir(from, { withFileTypes: true, recursive: true });
  // `parentPath` is Node 20.12+; `path` is the older name of the same thing.
  const source = (entry: (typeof entries)[number]) =>
    path.join(entry.parentPath ?? entry.path, entry.name);
  const target = (entry: (typeof entries)[number]) =>
    path.join(to, path.relative(from, source(entry)));
  await mkdir(to, { recursive: true });
  for (const entry of entries) {
    if (entry.isDirectory()) await mkdir(target(entry), { recursive: true });
  }
  await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map((entry) => copyFile(source(entry), target(entry))),
  );
}

/**
 * Puts a copy of the template into `dataDir` when it holds no database yet (missing or empty).
 * Returns whether it did; false also when the template could not be made or copied, in which
 * case PGlite creates the database in `dataDir` itself (initdb), as without a template.
 */
export async function createFromPgliteTemplate(dataDir: string): Promise<boolean> {
  if (await exists(path.join(dataDir, 'PG_VERSION'))) return false;
  const present = await readdir(dataDir).catch(() => []);
  if (present.length > 0) return false;
  let copy: string | undefined;
  try {
    const template = await preparePgliteTemplate();
    copy = temporarySibling(dataDir);
    await copyTree(template, copy);
    await publish(copy, dataDir);
    return true;
  } catch {
    if (copy) await rm(copy, { recursive: true, force: true }).catch(() => {});
    return false;
  }
}
