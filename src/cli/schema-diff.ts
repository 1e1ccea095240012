/**
 * `npm run schema:diff -- [--base REF] [--schema FILE]`: what a schema change does to clients.
 * Compares a schema (default: the one printed from the code) with `schema.graphql` at a git ref
 * (default: the last tag; without tags `origin/main`, else `HEAD`) using
 * @graphql-inspector/core, and prints the breaking, dangerous and safe changes, each with the
 * schema coordinate it touches.
 *
 * Exit 1 on a breaking change that CHANGELOG.md's "Unreleased" section does not list under
 * "### Breaking" (by its coordinate, e.g. `Tenant.displayName`): a breaking change must be a
 * decision written down for clients, never an accident. Exit 2 on bad arguments or a ref
 * without schema.graphql. CI runs it.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { type Change, CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';
import { printSchemaSdl } from '../schema/index.ts';
import { isEntryPoint } from './entry-point.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHANGELOG_FILE = path.join(ROOT, 'CHANGELOG.md');

export interface SchemaDiffReport {
  readonly breaking: readonly Change[];
  readonly dangerous: readonly Change[];
  readonly safe: readonly Change[];
  /** Breaking changes the changelog's Unreleased/Breaking section does not name. */
  readonly unacknowledged: readonly Change[];
}

/** The text of CHANGELOG.md's `### Breaking` list under `## [Unreleased]`; '' if none. */
export function unreleasedBreakingSection(changelog: string): string {
  const unreleased = /^## \[?Unreleased\]?.*$/im.exec(changelog);
  if (!unreleased) return '';
  const rest = changelog.slice(unreleased.index + unreleased[0].length);
  const section = rest.split(/^## /m)[0] ?? '';
  const breaking = /^### Breaking.*$/im.exec(section);
  if (!breaking) return '';
  return section.slice(breaking.index + breaking[0].length).split(/^### /m)[0] ?? '';
}

/** What names a change in the changelog: its schema coordinate, else its message. */
export function coordinateOf(change: Change): string {
  return change.path ?? change.message;
}

export async function compareSchemas(
  baseSdl: string,
  newSdl: string,
  changelog: string,
): Promise<SchemaDiffReport> {
  const changes = await diff(buildSchema(baseSdl), buildSchema(newSdl));
  const of = (level: CriticalityLevel) => changes.filter((c) => c.criticality.level === level);
  const breaking = of(CriticalityLevel.Breaking);
  const listed = unreleasedBreakingSection(changelog);
  return {
    breaking,
    dangerous: of(CriticalityLevel.Dangerous),
    safe: of(CriticalityLevel.NonBreaking),
    unacknowledged: breaking.filter((change) => !listed.includes(coordinateOf(change))),
  };
}

export function formatReport(report: SchemaDiffReport, base: string): string {
  const lines: string[] = [];
  const group = (title: string, changes: readonly Change[], mark: (c: Change) => string) => {
    if (changes.length === 0) return;
    lines.push(`${title} (${changes.length}):`);
    for (const change of changes)
      lines.push(`  ${mark(change)}${coordinateOf(change)}: ${change.message}`);
  };
  const total = report.breaking.length + report.dangerous.length + report.safe.length;
  lines.push(
    total === 0 ? `No schema changes against ${base}.` : `Schema changes against ${base}:`,
  );
  group('Breaking', report.breaking, (c) =>
    report.unacknowledged.includes(c) ? '✗ ' : '✓ (in CHANGELOG) ',
  );
  group('Dangerous', report.dangerous, () => '');
  group('Safe', report.safe, () => '');
  if (report.unacknowledged.length > 0) {
    lines.push(
      '',
      `${report.unacknowledged.length} breaking change(s) not listed in CHANGELOG.md: add each coordinate under "## [Unreleased]" → "### Breaking", with what clients must do, or make the change additive (deprecate first).`,
    );
  }
  return lines.join('\n');
}

const git = async (...args: string[]) =>
  (await promisify(execFile)('git', args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })).stdout;

/** The default base: the last tag, else origin/main, else HEAD. */
async function defaultBase(): Promise<string> {
  const tag = await git('describe', '--tags', '--abbrev=0').catch(() => '');
  if (tag.trim()) return tag.trim();
  const remote = await git('rev-parse', '--verify', '--quiet', 'origin/main').catch(() => '');
  return remote.trim() ? 'origin/main' : 'HEAD';
}

async function main(argv: readonly string[]): Promise<number> {
  let values: { base?: string; schema?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { base: { type: 'string' }, schema: { type: 'string' } },
    }));
  } catch (error) {
    console.error(
      `${(error as Error).message}\nUsage: npm run schema:diff -- [--base REF] [--schema FILE]`,
    );
    return 2;
  }
  const base = values.base ?? (await defaultBase());
  let baseSdl: string;
  try {
    baseSdl = await git('show', `${base}:schema.graphql`);
  } catch {
    console.error(`No schema.graphql at ${base}: name a commit, branch or tag that has one.`);
    return 2;
  }
  let newSdl: string;
  try {
    newSdl = values.schema ? await readFile(values.schema, 'utf8') : printSchemaSdl();
  } catch (error) {
    console.error(`Cannot read ${values.schema}: ${(error as Error).message}`);
    return 2;
  }
  const changelog = await readFile(CHANGELOG_FILE, 'utf8').catch(() => '');
  let report: SchemaDiffReport;
  try {
    report = await compareSchemas(baseSdl, newSdl, changelog);
  } catch (error) {
    console.error(`Not a valid schema: ${(error as Error).message}`);
    return 2;
  }
  console.log(formatReport(report, base));
  return report.unacknowledged.length > 0 ? 1 : 0;
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
