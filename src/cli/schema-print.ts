/**
 * `npm run schema:print`: writes schema.graphql from the code. `--check` exits 1 when the
 * committed file differs (CI and a test use the same comparison).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printSchemaSdl } from '../schema/index.ts';
import { isEntryPoint } from './entry-point.ts';

export const SCHEMA_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../schema.graphql',
);

async function main(argv: readonly string[]): Promise<number> {
  const sdl = printSchemaSdl();
  if (argv.includes('--check')) {
    const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    if (committed !== sdl) {
      console.error('schema.graphql is stale: run `npm run schema:print` and commit it.');
      return 1;
    }
    return 0;
  }
  await writeFile(SCHEMA_FILE, sdl);
  console.log(`Wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
  return 0;
}

// Only as a command: importing SCHEMA_FILE (as the drift test does) must not rewrite
// schema.graphql from the code first, or the drift check could never fail.
if (isEntryPoint(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
