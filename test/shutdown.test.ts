/**
 * Graceful shutdown of the real process (main.ts, http/graceful-shutdown.ts). A request is
 * held in flight honestly: its body is still being sent. `Expect: 100-continue` tells the
 * client when the server has the request (Node answers 100 Continue as it hands the request
 * to the app), so the signal is sent while the request is certainly in the server's hands.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../src/auth/dev-token.ts';
import { loadConfig } from '../src/config.ts';
import { WHO_AM_I } from './fixtures/operations.ts';
import {
  connectionRefused,
  EXIT_TIMEOUT_MS,
  exitOf,
  isReady,
  killServers,
  type ServerProcess,
  STARTUP_TIMEOUT_MS,
  startServer,
  waitForLog,
} from './helpers/server-process.ts';

const TEST_TIMEOUT_MS = STARTUP_TIMEOUT_MS + 2 * EXIT_TIMEOUT_MS;

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'orders-shutdown-'));
});

afterAll(async () => {
  killServers();
  await rm(dataDir, { recursive: true, force: true });
});

async function startAndAuthenticate(env: Record<string, string> = {}) {
  const server = await startServer({ DATA_DIR: dataDir, ...env });
  await waitForLog(server, isReady);
  // The server created the development key in DATA_DIR; a token signed with it is accepted.
  const token = await mintDevToken(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }), {
    tenant: 'acme',
    user: 'alice',
  });
  return { server, token };
}

/**
 * A POST /graphql whose body is sent in two parts: the request starts, and `finish()` sends
 * the rest. Resolves `started` once the server has the request (100 Continue).
 */
function requestInTwoParts(port: number, token: string) {
  const body = JSON.stringify({ query: WHO_AM_I });
  const half = Math.floor(body.length / 2);
  let request!: ClientRequest;
  const response = new Promise<{
    status: number;
    headers: IncomingMessage['headers'];
    body: string;
  }>((resolve, reject) => {
    request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/graphql',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          authorization: `Bearer ${token}`,
          expect: '100-continue',
        },
      },
      (incoming) => {
        let text = '';
        incoming.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        incoming.on('end', () =>
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: text }),
        );
      },
    );
    request.on('error', reject);
  });
  const started = new Promise<void>((resolve) => request.once('continue', resolve));
  request.write(body.slice(0, half));
  return {
    started,
    response,
    finish: () => request.end(body.slice(half)),
  };
}

async function waitUntilRefused(port: number) {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await connectionRefused(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`port ${port} still accepts connections`);
}

describe('SIGTERM while a request is in flight', () => {
  let server: ServerProcess;
  let inFlight: ReturnType<typeof requestInTwoParts>;
  let settled = false;

  beforeAll(async () => {
    const started = await startAndAuthenticate();
    server = started.server;
    inFlight = requestInTwoParts(server.port, started.token);
    void inFlight.response.finally(() => {
      settled = true;
    });
    await inFlight.started;
    server.child.kill('SIGTERM');
  }, TEST_TIMEOUT_MS);

  it('logs the shutdown with the one request still in flight', async () => {
    const line = await waitForLog(server, (log) => log.msg === 'shutting down');
    expect([line.signal, line.inFlight]).toEqual(['SIGTERM', 1]);
  });

  it('stops accepting new connections while the request is still running', async () => {
    await waitUntilRefused(server.port);
    expect(settled).toBe(false);
  });

  it('lets the request finish with its answer, on a connection it then closes', async () => {
    inFlight.finish();
    const response = await inFlight.response;
    expect(response.status).toBe(200);
    expect(response.headers.connection).toBe('close');
    // Outside production, responses name the process that served them.
    expect(response.headers['x-process-id']).toBe(String(server.child.pid));
    expect(JSON.parse(response.body).data).toEqual({ viewer: { user: { username: 'alice' } } });
  });

  it('then closes the database and exits with code 0', async () => {
    expect(await exitOf(server)).toEqual({ code: 0, signal: null });
    expect(server.logs().some((log) => log.msg === 'shut down')).toBe(true);
  });
});

describe('SIGINT with an idle keep-alive connection open', () => {
  it(
    'does not wait for the idle connection: it is closed and the process exits 0',
    async () => {
      const { server, token } = await startAndAuthenticate();
      // A finished request whose connection the client keeps open for reuse.
      const agentResponse = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: WHO_AM_I }),
      });
      expect(agentResponse.status).toBe(200);
      expect(agentResponse.headers.get('connection')).toBe('keep-alive');
      await agentResponse.text();
      server.child.kill('SIGINT');
      expect(await exitOf(server)).toEqual({ code: 0, signal: null });
    },
    TEST_TIMEOUT_MS,
  );
});

describe('a request still running at SHUTDOWN_TIMEOUT_MS', () => {
  it(
    'has its connection cut at the deadline, and the process still exits 0',
    async () => {
      const { server, token } = await startAndAuthenticate({ SHUTDOWN_TIMEOUT_MS: '200' });
      const stuck = requestInTwoParts(server.port, token);
      const outcome = stuck.response.then(
        () => 'answered',
        (error: NodeJS.ErrnoException) => error.code,
      );
      await stuck.started;
      server.child.kill('SIGTERM');
      // The rest of the body never comes.
      expect(await exitOf(server)).toEqual({ code: 0, signal: null });
      expect(await outcome).toBe('ECONNRESET');
      const warning = server
        .logs()
        .find(
          (log) =>
            log.msg === 'in-flight requests did not finish in time; closing their connections',
        );
      expect(warning).toMatchObject({ inFlight: 1, timeoutMs: 200 });
    },
    TEST_TIMEOUT_MS,
  );
});
