/**
 * `npm run cost -- <file.graphql> [--variables '<json>'] [--operation Name]` prints what an
 * operation costs (the static cost the server charges before running it), its depth and each
 * field's share of the cost, without a server. The document is validated against the schema
 * first. MAX_COST and PAGE_SIZE_DEFAULT are read from the environment, as the server does.
 * Exit status: 0 when the server would accept the cost, 2 when it would refuse it, 1 on errors.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { GraphQLError, getOperationAST, parse, validate } from 'graphql';
import { ConfigError, loadConfig } from '../config.ts';
import { measureDocument } from '../cost/operation-shape.ts';
import { requestedCostOf } from '../cost/static-cost.ts';
import { schema } from '../schema/index.ts';
import { isEntryPoint } from './entry-point.ts';

const USAGE = "Usage: npm run cost -- <file.graphql> [--variables '<json>'] [--operation Name]";

/** A mistake in what was asked for: printed as is, without a stack trace. */
class CostCliError extends Error {
  override name = 'CostCliError';
}

export interface CliOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs the command; returns the exit status. */
export async function runCostCli(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
  output: CliOutput = { out: console.log, err: console.error },
): Promise<number> {
  try {
    const report = await costReport(argv, env);
    output.out(report.lines.join('\n'));
    return report.withinLimit ? 0 : 2;
  } catch (error) {
    if (error instanceof CostCliError || error instanceof ConfigError) {
      output.err(error.message);
      return 1;
    }
    throw error;
  }
}

async function costReport(argv: readonly string[], env: Record<string, string | undefined>) {
  const { positionals, values } = parseCliArgs(argv);
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new CostCliError(USAGE);
  const config = loadConfig(env);

  const source = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new CostCliError(
      error.code === 'ENOENT' ? `${file}: no such file.` : `${file}: cannot read (${error.code}).`,
    );
  });
  const variables = parseVariables(values.variables);
  const document = parseDocument(file, source);
  const invalid = validate(schema, document);
  if (invalid.length > 0) {
    throw new CostCliError(
      [
        `${file} does not validate against the schema:`,
        ...invalid.map((e) => `  ${located(file, e)}`),
      ].join('\n'),
    );
  }
  const operation = getOperationAST(document, values.operation);
  if (!operation) {
    const names = document.definitions.flatMap((definition) =>
      definition.kind === 'OperationDefinition' ? [definition.name?.value ?? '(anonymous)'] : [],
    );
    throw new CostCliError(
      values.operation
        ? `${file} has no operation named "${values.operation}"; it has: ${names.join(', ')}.`
        : `${file} has several operations (${names.join(', ')}): choose one with --operation.`,
    );
  }

  let requested: ReturnType<typeof requestedCostOf>;
  try {
    requested = requestedCostOf(schema, document, {
      operationName: values.operation,
      variables,
      explain: true,
      defaultPageSize: config.pagination.defaultSize,
    });
  } catch (error) {
    // Variables that do not fit the operation, fragments that expand too far.
    throw new CostCliError(error instanceof Error ? error.message : String(error));
  }
  const { cost, breakdown = [] } = requested;
  const maxCost = config.cost.maxCost;
  const withinLimit = cost <= maxCost;
  const name = operation.name?.value ?? '(anonymous)';
  // Measured as the operation limits measure it, so this is the depth the server enforces.
  const depth = measureDocument(document).find((shape) => shape.operation === operation)?.depth;
  const width = Math.max(4, ...breakdown.map((line) => String(line.cost).length));
  const pathWidth = Math.max(4, ...breakdown.map((line) => line.path.length));
  const lines = [
    `Operation: ${name} (${operation.operation})`,
    `Cost:      ${cost} (maximum ${maxCost}: ${withinLimit ? 'accepted' : 'refused with QUERY_TOO_COMPLEX'})`,
    `Depth:     ${depth} (maximum ${config.limits.maxDepth})`,
    '',
    `${'cost'.padStart(width)}  ${'path'.padEnd(pathWidth)}  field`,
    ...breakdown.map(
      (line) =>
        `${String(line.cost).padStart(width)}  ${line.path.padEnd(pathWidth)}  ${line.coordinate}`,
    ),
  ];
  return { lines, withinLimit };
}

function parseCliArgs(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { variables: { type: 'string' }, operation: { type: 'string' } },
    });
  } catch (error) {
    throw new CostCliError(`${(error as Error).message}\n${USAGE}`);
  }
}

function parseVariables(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CostCliError(`--variables is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CostCliError('--variables must be a JSON object, e.g. \'{"first": 10}\'.');
  }
  return parsed as Record<string, unknown>;
}

function parseDocument(file: string, source: string) {
  try {
    return parse(source);
  } catch (error) {
    if (error instanceof GraphQLError) throw new CostCliError(located(file, error));
    throw error;
  }
}

function located(file: string, error: GraphQLError): string {
  const at = error.locations?.[0];
  return at ? `${file}:${at.line}:${at.column}: ${error.message}` : `${file}: ${error.message}`;
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runCostCli(process.argv.slice(2));
}
