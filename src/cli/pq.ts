/**
 * `npm run pq -- <command>`: the persisted-operations tooling.
 *
 * - `build`    validates every operation in persisted-queries/ against the schema, computes
 *              its cost with worst-case variables and its depth, refuses any over the
 *              server's limits (naming it and why) and writes persisted-queries/manifest.json.
 * - `check`    fails when manifest.json is not what `build` would write (CI runs it).
 * - `register <file> --url <server> [--token <admin token>]` registers operations in a running
 *              server through its registerPersistedOperation mutation, for the token's tenant
 *              (README, "Persisted operations"); an anonymous operation is refused, as by build. The token may also come
 *              from PQ_TOKEN (keeps it out of the process list).
 *
 * Inputs (build reads the folder's files; register one file): `.graphql` files, Apollo's
 * persisted query manifest, GraphQL Code Generator's persisted documents and Relay's persisted
 * queries JSON (persisted-operations/formats.ts). MAX_DEPTH, MAX_COST, PAGE_SIZE_* … are read
 * from the environment, as the server reads them, and nothing else: `build` and `check` need the
 * schema and the documents only, so they run in a CI job with NODE_ENV=production and none of
 * the server's JWT or database settings.
 * Exit status: 0 success, 1 refused operations, a stale manifest or a failed registration.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { GraphQLSchema } from 'graphql';
import { type AnalysisSettings, ConfigError, loadAnalysisSettings } from '../config.ts';
import {
  ANONYMOUS_OPERATION,
  analyzeOperation,
  hasAnonymousOperation,
} from '../persisted-operations/analyze.ts';
import { digestsOf } from '../persisted-operations/digests.ts';
import { OperationFileError, readOperationFile } from '../persisted-operations/formats.ts';
import {
  type Manifest,
  ManifestError,
  manifestOf,
  parseManifest,
  type SourcedOperation,
  serializeManifest,
} from '../persisted-operations/manifest.ts';
import { schema } from '../schema/index.ts';
import { isEntryPoint } from './entry-point.ts';

const USAGE = `Usage:
  npm run pq -- build [--dir persisted-queries]
  npm run pq -- check [--dir persisted-queries]
  npm run pq -- register <file> --url http://host:4000/graphql [--token <admin token>]`;

/** The folder of the client's operations, relative to the repository root. */
export const DEFAULT_OPERATIONS_DIR = 'persisted-queries';
export const MANIFEST_FILE_NAME = 'manifest.json';
const OPERATION_FILE = /\.(graphql|gql|json)$/i;

/** The operator's own mutation, itself persisted so that it runs where only those do. */
const REGISTER_OPERATION_FILE = new URL(
  '../../persisted-queries/RegisterPersistedOperation.graphql',
  import.meta.url,
);

/** A mistake in what was asked for, or a refusal: printed as is, without a stack trace. */
class PqCliError extends Error {
  override name = 'PqCliError';
}

export interface CliOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs the command; returns the exit status. */
export async function runPqCli(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
  output: CliOutput = { out: console.log, err: console.error },
): Promise<number> {
  try {
    const { positionals, values } = parseCliArgs(argv);
    const [command, ...rest] = positionals;
    const dir = path.resolve(values.dir ?? DEFAULT_OPERATIONS_DIR);
    switch (command) {
      case 'build':
        if (rest.length > 0) throw new PqCliError(USAGE);
        return await build(dir, loadAnalysisSettings(env), output);
      case 'check':
        if (rest.length > 0) throw new PqCliError(USAGE);
        return await check(dir, loadAnalysisSettings(env), output);
      case 'register': {
        const [file] = rest;
        const token = values.token ?? env.PQ_TOKEN;
        if (!file || rest.length > 1 || !values.url) throw new PqCliError(USAGE);
        if (!token) throw new PqCliError('register needs an admin token: --token or PQ_TOKEN.');
        return await register(file, values.url, token, output);
      }
      default:
        throw new PqCliError(USAGE);
    }
  } catch (error) {
    if (
      error instanceof PqCliError ||
      error instanceof ConfigError ||
      error instanceof OperationFileError ||
      error instanceof ManifestError
    ) {
      output.err(error.message);
      return 1;
    }
    throw error;
  }
}

/** Every operation of the folder, analyzed; problems are lines naming the file and why. */
export async function collectOperations(
  dir: string,
  config: AnalysisSettings,
  operationSchema: GraphQLSchema = schema,
): Promise<{ operations: SourcedOperation[]; problems: string[] }> {
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((name) => OPERATION_FILE.test(name) && name !== MANIFEST_FILE_NAME)
    .sort();
  if (names.length === 0) throw new PqCliError(`${dir}: no operation files (*.graphql, *.json).`);

  const operations: SourcedOperation[] = [];
  const problems: string[] = [];
  const byName = new Map<string, SourcedOperation>();
  for (const name of names) {
    const file = await readOperationFile(name, await readFile(path.join(dir, name), 'utf8'));
    for (const incoming of file.operations) {
      const analysis = analyzeOperation(operationSchema, incoming.document, config);
      if (!analysis.ok) {
        for (const problem of analysis.problems) {
          problems.push(`${incoming.source}: ${problem.code}: ${problem.message}`);
        }
        continue;
      }
      const { operation } = analysis;
      const sameName = byName.get(operation.operationName);
      if (sameName) {
        if (sameName.operation.id !== operation.id) {
          problems.push(
            `${incoming.source}: another document (${sameName.source}) already has an operation named ${operation.operationName}.`,
          );
        }
        continue;
      }
      const sourced = { operation, source: incoming.source };
      byName.set(operation.operationName, sourced);
      operations.push(sourced);
    }
  }
  return { operations, problems };
}

/** What `build` writes for the folder (throws PqCliError listing refused operations). */
export async function expectedManifest(dir: string, config: AnalysisSettings): Promise<Manifest> {
  const { operations, problems } = await collectOperations(dir, config);
  if (problems.length > 0) {
    throw new PqCliError(
      [
        `${problems.length} operation problem(s); nothing written:`,
        ...problems.map((p) => `  ${p}`),
      ].join('\n'),
    );
  }
  return manifestOf(operations);
}

async function build(dir: string, config: AnalysisSettings, output: CliOutput): Promise<number> {
  const manifest = await expectedManifest(dir, config);
  const file = path.join(dir, MANIFEST_FILE_NAME);
  await writeFile(file, serializeManifest(manifest));
  const entries = Object.entries(manifest.operations);
  const width = Math.max(...entries.map(([, entry]) => (entry.name ?? '').length));
  output.out(`Wrote ${path.relative(process.cwd(), file)}: ${entries.length} operations.`);
  for (const [id, entry] of entries) {
    output.out(
      `  ${(entry.name ?? '').padEnd(width)}  ${entry.type.padEnd(8)}  cost ${String(entry.cost).padStart(4)}  depth ${entry.depth}  sha256:${id}`,
    );
  }
  return 0;
}

async function check(dir: string, config: AnalysisSettings, output: CliOutput): Promise<number> {
  const expected = await expectedManifest(dir, config);
  const file = path.join(dir, MANIFEST_FILE_NAME);
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === serializeManifest(expected)) {
    output.out(
      `${path.relative(process.cwd(), file)} is up to date (${Object.keys(expected.operations).length} operations).`,
    );
    return 0;
  }
  let changes: string[];
  try {
    changes = differences(text === null ? null : parseManifest(text, file), expected);
  } catch (error) {
    // A manifest left with merge conflict markers, or edited by hand, is stale like any other.
    if (!(error instanceof ManifestError)) throw error;
    changes = [error.message];
  }
  output.err(
    [
      `${path.relative(process.cwd(), file)} is stale: run npm run pq -- build and commit it.`,
      ...changes.map((line) => `  ${line}`),
    ].join('\n'),
  );
  return 1;
}

/** What changed between the committed manifest and the one the files give, by name. */
function differences(committed: Manifest | null, expected: Manifest): string[] {
  if (!committed) return ['the manifest is missing'];
  const label = (id: string, manifest: Manifest) => manifest.operations[id]?.name ?? id;
  const lines: string[] = [];
  const committedByName = new Map(
    Object.entries(committed.operations).map(([id, entry]) => [entry.name ?? id, id]),
  );
  for (const [id, entry] of Object.entries(expected.operations)) {
    const name = entry.name ?? id;
    const before = committedByName.get(name);
    if (before === undefined) lines.push(`added: ${name}`);
    else if (before !== id) lines.push(`changed: ${name} (document)`);
    else if (JSON.stringify(committed.operations[id]) !== JSON.stringify(entry)) {
      lines.push(`changed: ${name} (cost, depth or source)`);
    }
    committedByName.delete(name);
  }
  for (const id of committedByName.values()) lines.push(`removed: ${label(id, committed)}`);
  if (lines.length === 0) lines.push('formatting differs');
  return lines;
}

interface RegisterResponse {
  data?: {
    registerPersistedOperation?: {
      created: boolean;
      persistedOperation: { id: string; operationName: string | null; cost: number } | null;
      userErrors: { code: string; message: string }[];
    } | null;
  } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function register(
  file: string,
  url: string,
  token: string,
  output: CliOutput,
): Promise<number> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new PqCliError(
      error.code === 'ENOENT' ? `${file}: no such file.` : `${file}: cannot read (${error.code}).`,
    );
  });
  const { format, operations } = readOperationFile(path.basename(file), text);
  const registerDocument = await readFile(REGISTER_OPERATION_FILE, 'utf8');
  const registerId = `sha256:${digestsOf(registerDocument).sha256}`;
  output.out(`${file}: ${operations.length} operation(s) (${format}) → ${url}`);

  let failed = 0;
  for (const operation of operations) {
    // Refused here as build refuses it, without a round trip (and whatever the server's version).
    if (hasAnonymousOperation(operation.document)) {
      failed++;
      output.err(
        `  refused ${operation.source}: ${ANONYMOUS_OPERATION.code}: ${ANONYMOUS_OPERATION.message}`,
      );
      continue;
    }
    const variables = { input: { document: operation.document, clientMutationId: randomUUID() } };
    // By id first: where the server runs only persisted operations, this mutation is one of
    // them. A server whose manifest predates it gets the text instead (allow and off modes).
    let response = await post(url, token, { documentId: registerId, variables });
    if (response.errors?.some((e) => e.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND')) {
      response = await post(url, token, { query: registerDocument, variables });
    }
    const payload = response.data?.registerPersistedOperation;
    if (response.errors?.length || !payload) {
      failed++;
      const reasons = (response.errors ?? []).map(
        (e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`,
      );
      output.err(`  refused ${operation.source}: ${reasons.join('; ') || 'no payload'}`);
      continue;
    }
    if (payload.userErrors.length > 0 || !payload.persistedOperation) {
      failed++;
      output.err(
        `  refused ${operation.source}: ${payload.userErrors.map((e) => `${e.code}: ${e.message}`).join('; ')}`,
      );
      continue;
    }
    const stored = payload.persistedOperation;
    output.out(
      `  ${payload.created ? 'registered' : 'already registered'} ${stored.operationName ?? '(anonymous)'} ${stored.id} (cost ${stored.cost})`,
    );
  }
  if (failed > 0) output.err(`${failed} of ${operations.length} operation(s) not registered.`);
  return failed > 0 ? 1 : 0;
}

async function post(url: string, token: string, body: unknown): Promise<RegisterResponse> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify(body),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new PqCliError(
      `${url}: cannot connect (${cause?.code ?? cause?.message ?? String(error)}).`,
    );
  }
  const text = await response.text();
  try {
    return JSON.parse(text) as RegisterResponse;
  } catch {
    throw new PqCliError(
      `${url}: HTTP ${response.status}, not a GraphQL response: ${text.slice(0, 200)}`,
    );
  }
}

function parseCliArgs(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
      },
    });
  } catch (error) {
    throw new PqCliError(`${(error as Error).message}\n${USAGE}`);
  }
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runPqCli(process.argv.slice(2));
}
