/**
 * `npm run schema:diff` (src/cli/schema-diff.ts): a deliberately broken schema fails it, naming
 * each breaking change by its coordinate, unless CHANGELOG.md's Unreleased → Breaking lists it;
 * additive changes pass; bad arguments and refs are exit 2 with a message.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareSchemas,
  coordinateOf,
  unreleasedBreakingSection,
} from '../../src/cli/schema-diff.ts';
import { printSchemaSdl } from '../../src/schema/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The current schema with `Tenant.plan` removed and `Product.price` made nullable. */
function brokenSchema(sdl: string): string {
  const withoutPlan = sdl.replace(/\n {2}"""Subscription plan\."""\n {2}plan: Plan!/, '');
  expect(withoutPlan).not.toBe(sdl);
  const nullablePrice = withoutPlan.replace(/(\n {2}price: Money)!/, '$1');
  expect(nullablePrice).not.toBe(withoutPlan);
  return nullablePrice;
}

const CHANGELOG = (breaking: string) => `# Changelog

## [Unreleased]

### Added

- Something mentioning Tenant.plan that is not in the Breaking list.

### Breaking

${breaking}

## [1.0.0] - 2026-01-01

### Breaking

- Tenant.plan (an old release: does not count)
`;

describe('comparing schemas', () => {
  const sdl = printSchemaSdl();

  it('finds no change between a schema and itself', async () => {
    const report = await compareSchemas(sdl, sdl, '');
    expect([report.breaking, report.dangerous, report.safe]).toEqual([[], [], []]);
  });

  it('names each breaking change by its coordinate', async () => {
    const report = await compareSchemas(sdl, brokenSchema(sdl), CHANGELOG('Nothing yet.'));
    expect(report.breaking.map(coordinateOf).sort()).toEqual(['Product.price', 'Tenant.plan']);
    expect(report.unacknowledged).toEqual(report.breaking);
  });

  it('accepts the breaking changes the Unreleased section lists under Breaking, only those', async () => {
    const report = await compareSchemas(
      sdl,
      brokenSchema(sdl),
      CHANGELOG('- `Tenant.plan` removed: read the plan from the billing API.'),
    );
    expect(report.unacknowledged.map(coordinateOf)).toEqual(['Product.price']);
  });

  it('takes an added field as safe', async () => {
    const added = sdl.replace('  slug: String!\n}', '  slug: String!\n  region: String\n}');
    expect(added).not.toBe(sdl);
    const report = await compareSchemas(sdl, added, '');
    expect(report.breaking).toEqual([]);
    expect(report.safe.map(coordinateOf)).toContain('Tenant.region');
  });

  it('reads only the Unreleased section’s Breaking list', () => {
    expect(unreleasedBreakingSection(CHANGELOG('- Order.total'))).toContain('Order.total');
    expect(unreleasedBreakingSection(CHANGELOG('- Order.total'))).not.toContain('Tenant.plan');
    expect(unreleasedBreakingSection('# Changelog\n\n## [1.0.0]\n### Breaking\n- x')).toBe('');
  });
});

describe('npm run schema:diff', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orders-schema-diff-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const run = (args: string[]) =>
    promisify(execFile)('npx', ['tsx', 'src/cli/schema-diff.ts', ...args], { cwd: repoRoot }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        stdout: error.stdout,
        stderr: error.stderr,
      }),
    );

  it('fails on a deliberately broken schema, naming the fields', async () => {
    const file = path.join(dir, 'broken.graphql');
    await writeFile(
      file,
      brokenSchema(await readFile(path.join(repoRoot, 'schema.graphql'), 'utf8')),
    );
    const result = await run(['--base', 'HEAD', '--schema', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Breaking (2):');
    expect(result.stdout).toMatch(/✗ Tenant\.plan: /);
    expect(result.stdout).toMatch(/✗ Product\.price: /);
    expect(result.stdout).toContain('not listed in CHANGELOG.md');
  });

  it('passes an unchanged schema (HEAD’s own) against HEAD', async () => {
    const file = path.join(dir, 'head.graphql');
    const { stdout } = await promisify(execFile)('git', ['show', 'HEAD:schema.graphql'], {
      cwd: repoRoot,
      maxBuffer: 64 * 1024 * 1024,
    });
    await writeFile(file, stdout);
    const result = await run(['--base', 'HEAD', '--schema', file]);
    expect(result).toEqual({ code: 0, stdout: 'No schema changes against HEAD.\n', stderr: '' });
  });

  it('refuses a ref without schema.graphql, an unreadable file and unknown options (exit 2)', async () => {
    const noRef = await run(['--base', 'no-such-ref-anywhere']);
    expect([noRef.code, noRef.stderr]).toEqual([
      2,
      'No schema.graphql at no-such-ref-anywhere: name a commit, branch or tag that has one.\n',
    ]);
    const noFile = await run(['--base', 'HEAD', '--schema', path.join(dir, 'missing.graphql')]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('Cannot read');
    const notSdl = path.join(dir, 'not-sdl.graphql');
    await writeFile(notSdl, 'type {');
    const invalid = await run(['--base', 'HEAD', '--schema', notSdl]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('Not a valid schema');
    const unknown = await run(['--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Usage: npm run schema:diff');
  });
});
