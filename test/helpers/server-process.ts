/**
 * The real server as a child process (`node --import tsx src/main.ts`, or `npm start`'s build),
 * for the tests of what only a process has: signals, exit codes, worker processes, a database
 * going away under it.
 * Logs are JSON lines (NODE_ENV=test, LOG_LEVEL=info unless a test says otherwise).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const STARTUP_TIMEOUT_MS = 60_000;
export const EXIT_TIMEOUT_MS = 30_000;

/** Variables of the test runner's environment that would change the child's configuration. */
const INHERITED_CONFIG =
  /^(NODE_ENV|PORT|HOST|DATABASE_URL|DATA_DIR|DB_.*|LOG_LEVEL|GRAPHIQL|JWT_.*|PAGE_SIZE_.*|SEED_DEMO_DATA|REDIS_.*|PERSISTED_OPERATIONS|WORKERS|SHUTDOWN_TIMEOUT_MS|METRICS_.*|OTEL_.*)$/;

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines written so far, parsed (other stdout lines, e.g. the banner, skipped). */
  logs(): Record<string, unknown>[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];

/** Kills whatever a test file left running (call from afterAll). */
export function killServers(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Node's arguments for the server: the sources through tsx unless a test says otherwise. */
const SOURCE_ARGS = ['--import', 'tsx', 'src/main.ts'];

export async function startServer(
  env: Record<string, string>,
  nodeArgs: readonly string[] = SOURCE_ARGS,
): Promise<ServerProcess> {
  const port = await freePort();
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !INHERITED_CONFIG.test(name)),
  );
  const child = spawn(process.execPath, nodeArgs, {
    cwd: repoRoot,
    env: {
      ...inherited,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      PORT: String(port),
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const logs = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    child,
    port,
    stdout: () => stripVTControlCharacters(stdout),
    stderr: () => stripVTControlCharacters(stderr),
    logs,
    exit,
  };
}

/** Resolves with the first log line that `matches`; fails if the process exits first. */
export async function waitForLog(
  server: ServerProcess,
  matches: (line: Record<string, unknown>) => boolean,
  timeoutMs = STARTUP_TIMEOUT_MS,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = server.logs().find(matches);
    if (found) return found;
    const { exitCode, signalCode } = server.child;
    if (exitCode !== null || signalCode !== null || Date.now() > deadline) {
      throw new Error(
        `server ${exitCode !== null || signalCode !== null ? `exited (${exitCode ?? signalCode})` : 'timed out'} before the log line\n` +
          `--- stdout\n${server.stdout()}\n--- stderr\n${server.stderr()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const isReady = (line: Record<string, unknown>) => line.msg === 'Orders API ready';

/** The exit of a process, or an error once EXIT_TIMEOUT_MS have passed without one. */
export async function exitOf(server: ServerProcess) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the process did not exit')), EXIT_TIMEOUT_MS);
  });
  try {
    return await Promise.race([server.exit, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request on a connection of its own (no keep-alive pool), so that successive requests
 * can land on different worker processes. `timeoutMs` detects a hang: it is not a speed limit.
 */
export function requestOnce(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
  timeoutMs = 10_000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        agent: false,
        timeout: timeoutMs,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`no response within ${timeoutMs} ms: the request hung`)),
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Whether a new TCP connection to the port is refused (nothing listens any more). */
export function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve(true);
      else reject(error);
    });
  });
}
