/**
 * The layering rule of STYLE.md ("Imports point down"), checked on the source: every relative
 * import in src/ (static, dynamic and type-only) goes to a layer at or below its own, and no
 * two files reach each other through their imports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * Each top-level folder or file of src/ and its layer: a module may import its own layer and
 * the ones below it, never one above.
 */
const LAYERS: Readonly<Record<string, number>> = {
  main: 6,
  workers: 6,
  app: 6,
  cli: 6,
  plugins: 5,
  schema: 5,
  observability: 6,
  http: 4,
  loaders: 3,
  services: 3,
  cost: 2,
  auth: 2,
  'persisted-operations': 2,
  idempotency: 2,
  webhooks: 2,
  context: 2,
  logger: 1,
  metrics: 1,
  redis: 1,
  validation: 1,
  db: 0,
  config: 0,
  errors: 0,
  ids: 0,
};

/** Known upward imports, each with the reason it is still there: none. */
const KNOWN_UPWARD = new Set<string>();

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [path.relative(SRC, full)] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(SRC, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => {
    const specifier = (match[1] ?? match[2] ?? match[3]) as string;
    return path.normalize(path.join(path.dirname(file), specifier));
  });
}

function layerOf(file: string): number {
  const top = file.split(path.sep)[0]?.replace(/\.ts$/, '') ?? '';
  const layer = LAYERS[top];
  if (layer === undefined) throw new Error(`src/${file} is in no layer: add ${top} to LAYERS`);
  return layer;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('architecture', () => {
  it('finds the imports of the source files', () => {
    expect(graph.get('app.ts')).toContain(path.normalize('plugins/index.ts'));
    expect(graph.get(path.normalize('cli/token.ts'))).toContain(
      path.normalize('auth/dev-token.ts'),
    );
  });

  it('imports only from the same layer or the layers below', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        const edge = `${file} -> ${target}`.split(path.sep).join('/');
        if (layerOf(target) > layerOf(file) && !KNOWN_UPWARD.has(edge)) upward.push(edge);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'visiting');
      stack.push(file);
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === 'visiting') {
          cycles.push([...stack.slice(stack.indexOf(target)), target].join(' -> '));
        } else if (!state.has(target)) visit(target);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
