/**
 * The servers the bench measures, built the way `npm start` builds the real one
 * (scripts/build.mjs: each a single JavaScript bundle with its dependencies, no TypeScript
 * loader at run time), so that their memory and CPU are those of a deployed server, and every
 * server, ours and the references alike, is built the same way.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
// @ts-expect-error: plain JavaScript without type declarations (it runs before any compiler).
import { bundleOptions, loadEsbuild } from '../scripts/build.mjs';
import { REPO_ROOT } from './processes.ts';

/**
 * Builds the bench's server scripts (TypeScript, relative to the repository) into a new
 * directory; resolves to each one's built file, by script. The caller removes `outdir`.
 */
export async function buildBenchServers(
  scripts: readonly string[],
  options: { sourceMaps?: boolean } = {},
): Promise<{ outdir: string; files: Record<string, string> }> {
  // Inside the repository (dist/ is not committed), so the bundles find the packages they
  // leave out (EXTERNAL) in node_modules.
  const parent = path.join(REPO_ROOT, 'dist', 'bench');
  await mkdir(parent, { recursive: true });
  const outdir = await mkdtemp(path.join(parent, 'build-'));
  const entryPoints = Object.fromEntries(
    scripts.map((script) => [script.replace(/\.ts$/, '').replaceAll('/', '-'), script]),
  );
  await loadEsbuild().build({
    ...bundleOptions(entryPoints, outdir),
    outExtension: { '.js': '.mjs' },
    ...(options.sourceMaps ? { sourcemap: 'linked' } : {}),
  });
  const files = Object.fromEntries(
    Object.entries(entryPoints).map(([name, script]) => [script, path.join(outdir, `${name}.mjs`)]),
  );
  return { outdir, files };
}
