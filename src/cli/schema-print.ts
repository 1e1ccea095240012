/**
 * `npm run schema:print`: writes schema.graphql from the code. `--check` exits 1 when the
 * committed file differs (CI and a test use the same comparison).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printSchemaSdl } from '../schema/index.ts';

export const SCHEMA_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../schema.graphql',
);

const sdl = printSchemaSdl();
if (process.argv.includes('--check')) {
  const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
  if (committed !== sdl) {
    console.error('schema.graphql is stale: run `npm run schema:print` and commit it.');
    process.exit(1);
  }
} else {
  await writeFile(SCHEMA_FILE, sdl);
  console.log(`Wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
