/**
 * Measures `npm start` as a newcomer runs it: the time from spawning the command to the first
 * answered GraphQL request, on the embedded database with a fresh DATA_DIR (PGlite created,
 * migrated, demo data seeded) and again on that existing DATA_DIR; and, when DATABASE_URL is
 * set, with WORKERS=2 on PostgreSQL, in an empty database of its own (migrated by the first
 * start) and again on that one. Each figure is the median of several runs, with the server's
 * own account of its steps (the `startupSteps` of its "Orders API ready" log line: when each
 * step ended, in milliseconds since the server process started).
 *
 *   npx tsx scripts/measure-startup.ts [--runs 5] [--command "npm start"] [--no-postgres]
 *
 * `--command` measures another way of starting the server (e.g. `node --import tsx src/main.ts`,
 * the way `npm start` worked before it ran a build). Not a test: timings are noisy, and the
 * machine's other work shows in them; compare figures taken side by side.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    command: { type: 'string', default: 'npm start' },
    'no-postgres': { type: 'boolean', default: false },
  },
});
const RUNS = Number(options.runs);
const [COMMAND, ...COMMAND_ARGS] = (options.command ?? 'npm start').split(' ');

interface Start {
  /** Spawn → first answered GraphQL request, as the caller sees it. */
  firstAnswerMs: number;
  /** The server's own step timings (ms since its process started), when it logged them. */
  steps: Record<string, number>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts the command, polls until a GraphQL request is answered, stops it again. */
async function timeToFirstAnswer(env: Record<string, string>): Promise<Start> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    PORT: String(port),
    ...env,
  };
  if (!env.DATABASE_URL) delete childEnv.DATABASE_URL;
  if (!env.WORKERS) delete childEnv.WORKERS;
  const started = performance.now();
  const child = spawn(COMMAND!, COMMAND_ARGS, {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (let attempt = 0; attempt < 3000; attempt++) {
      if (child.exitCode !== null) throw new Error(`the server exited:\n${stdout}\n${stderr}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ viewer { scopes } }' }),
        });
        if (response.ok) {
          const firstAnswerMs = performance.now() - started;
          // With workers the primary logs "ready" once both listen, maybe after this answer.
          await new Promise((resolve) => setTimeout(resolve, env.WORKERS ? 1000 : 100));
          return { firstAnswerMs, steps: readySteps(stdout) };
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`the server did not answer within 60 s:\n${stdout}\n${stderr}`);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    // npm may exit before the server has: wait for the server too, before its files are deleted.
    await processGone(serverPid(stdout));
  }
}

/** The server's pid (the primary's, with workers), from its JSON log lines. */
function serverPid(stdout: string): number | undefined {
  const logs = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { pid?: number; workers?: number });
  return (logs.find((log) => log.workers !== undefined) ?? logs[0])?.pid;
}

async function processGone(pid: number | undefined): Promise<void> {
  for (let attempt = 0; pid !== undefined && attempt < 600; attempt++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The `startupSteps` of the "Orders API ready" JSON log line (the primary's, with workers). */
function readySteps(stdout: string): Record<string, number> {
  const ready = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map(
      (line) =>
        JSON.parse(line) as {
          msg?: string;
          workers?: number;
          startupSteps?: Record<string, number>;
        },
    )
    .filter((log) => log.msg === 'Orders API ready' && log.startupSteps);
  return (ready.find((log) => log.workers !== undefined) ?? ready[0])?.startupSteps ?? {};
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function summarize(name: string, starts: readonly Start[]) {
  const firstAnswers = starts.map((start) => Math.round(start.firstAnswerMs));
  const stepNames = [...new Set(starts.flatMap((start) => Object.keys(start.steps)))];
  const steps = Object.fromEntries(
    stepNames.map((step) => [
      step,
      Math.round(median(starts.map((start) => start.steps[step] ?? Number.NaN))),
    ]),
  );
  console.log(
    `${name.padEnd(28)} median ${String(Math.round(median(firstAnswers))).padStart(5)} ms  ` +
      `runs ${firstAnswers.join(' ')}\n${''.padEnd(28)} server steps (median, ms since its process started): ` +
      Object.entries(steps)
        .map(([step, ms]) => `${step} ${ms}`)
        .join(', '),
  );
  return { medianMs: Math.round(median(firstAnswers)), runsMs: firstAnswers, steps };
}

const results: Record<string, unknown> = { command: options.command };
console.log(`${options.command}: ${RUNS} runs each\n`);

const fresh: Start[] = [];
const existing: Start[] = [];
for (let run = 0; run < RUNS; run++) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'orders-startup-'));
  try {
    fresh.push(await timeToFirstAnswer({ DATA_DIR: dataDir }));
    existing.push(await timeToFirstAnswer({ DATA_DIR: dataDir }));
  } finally {
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
  }
}
results.freshDataDir = summarize('fresh DATA_DIR (PGlite)', fresh);
results.existingDataDir = summarize('existing DATA_DIR (PGlite)', existing);

const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl && !options['no-postgres']) {
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const empty: Start[] = [];
  const migrated: Start[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const name = `orders_startup_${randomBytes(6).toString('hex')}`;
      await admin.unsafe(`create database ${name}`);
      const dataDir = await mkdtemp(path.join(tmpdir(), 'orders-startup-'));
      try {
        const url = new URL(databaseUrl);
        url.pathname = `/${name}`;
        const env = { DATA_DIR: dataDir, DATABASE_URL: url.toString(), WORKERS: '2' };
        empty.push(await timeToFirstAnswer(env));
        migrated.push(await timeToFirstAnswer(env));
      } finally {
        await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
        await admin.unsafe(`drop database if exists ${name} with (force)`);
      }
    }
  } finally {
    await admin.end();
  }
  results.workers2EmptyPostgres = summarize('WORKERS=2, empty PostgreSQL', empty);
  results.workers2MigratedPostgres = summarize('WORKERS=2, migrated PostgreSQL', migrated);
}

console.log(`\n${JSON.stringify(results)}`);
