/**
 * What `npm run bench` starts and must stop again, whatever happens: the throwaway PostgreSQL,
 * Redis and nginx of scripts/*-throwaway.sh, and the servers under test as child processes
 * (`node --import tsx bench/server.ts`, or a reference of bench/references/: the child's pid is
 * the server's own, so its memory and CPU time can be read from /proc). Everything started registers its stop with a `Teardown`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Stops, newest first, everything registered; each at most once, even if called again. */
export class Teardown {
  #steps: { name: string; run: () => Promise<void> | void }[] = [];

  add(name: string, run: () => Promise<void> | void): void {
    this.#steps.push({ name, run });
  }

  async run(): Promise<void> {
    while (this.#steps.length > 0) {
      const step = this.#steps.pop();
      if (!step) break;
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`bench: stopping ${step.name} failed: ${(error as Error).message}\n`);
      }
    }
  }
}

/**
 * The `export NAME=value` lines a throwaway script prints (bash `printf %q`), as an object.
 * Quoting is undone for the forms %q produces here: backslash escapes and single quotes.
 */
export function parseExports(stdout: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, name, raw] = match as unknown as [string, string, string];
    values[name] =
      raw.startsWith("'") && raw.endsWith("'") && raw.length >= 2
        ? raw.slice(1, -1)
        : raw.replace(/\\(.)/g, '$1');
  }
  return values;
}

export type ThrowawayScript = 'pg-throwaway.sh' | 'redis-throwaway.sh' | 'nginx-throwaway.sh';

/** Runs `bash scripts/<script> start …` and returns what it exported; its log goes to stderr. */
export function startThrowaway(
  script: ThrowawayScript,
  args: readonly string[] = [],
): Record<string, string> {
  const result = spawnSync('bash', [path.join('scripts', script), 'start', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) {
    throw new Error(`scripts/${script} start failed (exit ${result.status ?? result.signal})`);
  }
  return parseExports(result.stdout);
}

export function stopThrowaway(script: ThrowawayScript, dir: string): void {
  spawnSync('bash', [path.join('scripts', script), 'stop', dir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Whether nginx is installed (scripts/nginx-throwaway.sh check). */
export function nginxAvailable(): boolean {
  const result = spawnSync('bash', [path.join('scripts', 'nginx-throwaway.sh'), 'check'], {
    cwd: REPO_ROOT,
    stdio: 'ignore',
  });
  return result.status === 0;
}

/** A first line of a command's output (a version), or null when the command is missing. */
export function versionOf(command: string, args: readonly string[]): string | null {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) return null;
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0] ?? null;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

export interface BenchServer {
  name: string;
  url: string;
  port: number;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitForReady(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited(child)) {
      throw new Error(
        `the server exited (${child.exitCode ?? child.signalCode}):\n${tail(logFile)}`,
      );
    }
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline)
      throw new Error(`the server was not ready in time:\n${tail(logFile)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * The Node flags `npm start` gives our server (package.json's `start` script, `node FLAGS
 * scripts/start.mjs`), so the bench runs ours as it is deployed.
 */
export function startScriptNodeFlags(
  packageJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  },
): string[] {
  const start = packageJson.scripts?.start ?? '';
  const words = start.trim().split(/\s+/);
  if (words[0] !== 'node' || !words.includes('scripts/start.mjs')) {
    throw new Error(
      `package.json's start script is not "node [flags] scripts/start.mjs": ${start}`,
    );
  }
  return words.slice(1, words.indexOf('scripts/start.mjs')).filter((word) => word.startsWith('--'));
}

/**
 * Starts bench/server.ts (or another server script, such as a reference server of
 * bench/references/) with exactly `env` (plus PATH and HOME: nothing else of the caller's
 * environment can change its configuration) and waits for GET /readyz.
 */
export async function startBenchServer(options: {
  name: string;
  env: Record<string, string>;
  /** The server to run, relative to the repository; bench/server.ts unless given. */
  script?: string;
  flags?: readonly string[];
  /** Node's own flags for the server process, such as `--cpu-prof`. */
  nodeFlags?: readonly string[];
  logDir: string;
  teardown: Teardown;
}): Promise<BenchServer> {
  const port = await freePort();
  const script = options.script ?? 'bench/server.ts';
  const logFile = path.join(options.logDir, `${options.name}.log`);
  const log = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      // TypeScript through tsx's loader; a built server (JavaScript) as it is.
      ...(script.endsWith('.ts') ? ['--import', 'tsx'] : []),
      script,
      ...(options.flags ?? []),
    ],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        ...options.env,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', log, log],
    },
  );
  closeSync(log);
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (exited(child)) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exit;
    clearTimeout(timer);
  };
  options.teardown.add(`server ${options.name}`, stop);
  const url = `http://127.0.0.1:${port}`;
  await waitForReady(url, child, logFile);
  if (child.pid === undefined) throw new Error(`server ${options.name} has no pid`);
  return { name: options.name, url, port, pid: child.pid, logFile, stop };
}
