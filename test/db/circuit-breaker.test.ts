/**
 * The circuit breaker around PostgreSQL (src/db/circuit-breaker.ts): first the breaker itself,
 * fed the errors postgres.js and Drizzle really throw; then the whole app on a PostgreSQL that
 * cannot be reached, through HTTP: a loopback port nothing listens on (connection refused),
 * and a stand-in server that answers every connection the way a starting-up PostgreSQL does
 * (FATAL 57P03), which lets the test count the connection attempts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import {
  type CircuitStateName,
  createDatabaseCircuit,
  type DatabaseCircuit,
  isConnectionFailure,
  logCircuitTransitions,
} from '../../src/db/circuit-breaker.ts';
import type { Database } from '../../src/db/client.ts';
import { startAppOnDatabase } from '../helpers/app.ts';
import { freePort } from '../helpers/server-process.ts';

const PRODUCTS = /* GraphQL */ `
  query Products {
    products(first: 1) { nodes { id } }
  }
`;

/** An error as postgres.js reports it: a message and a `code` (socket errno or SQLSTATE). */
function pgError(code: string): Error {
  return Object.assign(new Error(`${code}: from the database`), { code });
}

const refused = () => Promise.reject(pgError('ECONNREFUSED'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The code of a SERVICE_UNAVAILABLE error, or what was thrown instead. */
async function outcomeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { value: await promise };
  } catch (error) {
    return error instanceof GraphQLError ? error.extensions.code : error;
  }
}

describe('which errors are connection failures', () => {
  it.each([
    ['ECONNREFUSED', true],
    ['ECONNRESET', true],
    ['ETIMEDOUT', true],
    ['CONNECT_TIMEOUT', true],
    ['CONNECTION_CLOSED', true],
    ['DB_ANSWER_TIMEOUT', true],
    ['DB_WAIT_TIMEOUT', true],
    ['57P01', true],
    ['57P03', true],
    ['08006', true],
    ['08001', true],
    ['08P01', false],
    ['CONNECTION_ENDED', false],
    ['23505', false],
    ['40001', false],
    ['57014', false],
    ['42P01', false],
  ])('%s → %s', (code, expected) => {
    expect(isConnectionFailure(pgError(code))).toBe(expected);
  });

  it('finds the failure under Drizzle’s wrapper and graphql-js’s located error', () => {
    const drizzle = new Error('Failed query: select 1', { cause: pgError('57P01') });
    const located = new GraphQLError('Failed query', { originalError: drizzle });
    expect([isConnectionFailure(drizzle), isConnectionFailure(located)]).toEqual([true, true]);
  });

  it('is false for errors without a code', () => {
    expect([isConnectionFailure(new Error('boom')), isConnectionFailure('ECONNREFUSED')]).toEqual([
      false,
      false,
    ]);
  });
});

describe('the breaker', () => {
  it('answers SERVICE_UNAVAILABLE with a Retry-After for a connection failure', async () => {
    const circuit = createDatabaseCircuit({ failures: 5, resetMs: 3_000 });
    const error = await circuit.run(refused).catch((thrown: GraphQLError) => thrown);
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).extensions).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      retryAfterSeconds: 3,
      http: { status: 503, headers: { 'Retry-After': '3' } },
    });
    expect([circuit.state, circuit.lastFailureCode]).toEqual(['closed', 'ECONNREFUSED']);
  });

  it('passes other errors through unchanged', async () => {
    const circuit = createDatabaseCircuit({ failures: 1, resetMs: 60_000 });
    const unique = pgError('23505');
    expect(await outcomeOf(circuit.run(() => Promise.reject(unique)))).toBe(unique);
    expect(circuit.state).toBe('closed');
  });

  it('stops waiting after timeoutMs: a failure for the breaker, answered 503', async () => {
    const circuit = createDatabaseCircuit({ failures: 2, resetMs: 60_000 });
    const never = () => new Promise<never>(() => {});
    expect(await outcomeOf(circuit.run(never, { timeoutMs: 20 }))).toBe('SERVICE_UNAVAILABLE');
    expect(circuit.state).toBe('closed');
    expect(await outcomeOf(circuit.run(never, { timeoutMs: 20 }))).toBe('SERVICE_UNAVAILABLE');
    expect(circuit.state).toBe('open');
    // An operation that settles in time is not affected by the bound.
    const fresh = createDatabaseCircuit({ failures: 1, resetMs: 60_000 });
    expect(await fresh.run(async () => 'ok', { timeoutMs: 1_000 })).toBe('ok');
  });

  it('opens after the configured number of consecutive connection failures, not before', async () => {
    const circuit = createDatabaseCircuit({ failures: 3, resetMs: 60_000 });
    const states: CircuitStateName[] = [];
    for (let i = 0; i < 3; i++) {
      await outcomeOf(circuit.run(refused));
      states.push(circuit.state);
    }
    expect(states).toEqual(['closed', 'closed', 'open']);
  });

  it('counts only consecutive failures: an answer from PostgreSQL, even an error, resets the count', async () => {
    const circuit = createDatabaseCircuit({ failures: 3, resetMs: 60_000 });
    await outcomeOf(circuit.run(refused));
    await outcomeOf(circuit.run(refused));
    await outcomeOf(circuit.run(() => Promise.reject(pgError('40001'))));
    await outcomeOf(circuit.run(refused));
    await outcomeOf(circuit.run(refused));
    expect(circuit.state).toBe('closed');
    await outcomeOf(circuit.run(refused));
    expect(circuit.state).toBe('open');
  });

  it('while open, fails without calling the operation, with the time left as Retry-After', async () => {
    const circuit = createDatabaseCircuit({ failures: 1, resetMs: 60_000 });
    await outcomeOf(circuit.run(refused));
    let calls = 0;
    const error = await circuit
      .run(async () => {
        calls++;
        return 1;
      })
      .catch((thrown: GraphQLError) => thrown);
    expect(calls).toBe(0);
    expect((error as GraphQLError).extensions).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      retryAfterSeconds: 60,
      http: { status: 503, headers: { 'Retry-After': '60' } },
    });
  });

  describe('after the reset delay', () => {
    const resetMs = 30;
    let circuit: DatabaseCircuit;
    let states: CircuitStateName[];

    beforeAll(() => {
      circuit = createDatabaseCircuit({ failures: 1, resetMs });
      states = [];
      circuit.onStateChange((state) => states.push(state));
    });

    afterEach(() => {
      states.length = 0;
    });

    it('lets one probe through; a failed probe opens the circuit again', async () => {
      await outcomeOf(circuit.run(refused));
      await sleep(resetMs + 20);
      expect(await outcomeOf(circuit.run(refused))).toBe('SERVICE_UNAVAILABLE');
      expect(states).toEqual(['open', 'half-open', 'open']);
    });

    it('refuses other calls at once while the probe is in flight, and closes when it succeeds', async () => {
      await sleep(resetMs + 20);
      let answer!: (value: string) => void;
      const probe = circuit.run(() => new Promise<string>((resolve) => (answer = resolve)));
      let calls = 0;
      const other = await outcomeOf(
        circuit.run(async () => {
          calls++;
          return 'other';
        }),
      );
      expect([other, calls, circuit.state]).toEqual(['SERVICE_UNAVAILABLE', 0, 'half-open']);
      answer('back');
      expect(await probe).toBe('back');
      expect(states).toEqual(['half-open', 'closed']);
      expect(await circuit.run(async () => 'next')).toBe('next');
    });

    it('stops reporting to a listener that unsubscribed', async () => {
      const seen: CircuitStateName[] = [];
      const unsubscribe = circuit.onStateChange((state) => seen.push(state));
      await outcomeOf(circuit.run(refused));
      unsubscribe();
      await sleep(resetMs + 20);
      await circuit.run(async () => 'ok');
      expect([seen, states]).toEqual([['open'], ['open', 'half-open', 'closed']]);
    });
  });

  it('logs an outage once when it starts and once when it ends, whatever the probes did', async () => {
    const resetMs = 30;
    const circuit = createDatabaseCircuit({ failures: 2, resetMs });
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    logCircuitTransitions(circuit, logger);
    await outcomeOf(circuit.run(refused));
    await outcomeOf(circuit.run(() => Promise.reject(pgError('57P01'))));
    await sleep(resetMs + 20);
    await outcomeOf(circuit.run(refused));
    await sleep(resetMs + 20);
    await circuit.run(async () => 'ok');
    expect(
      lines.map(({ level, msg, circuit: state, cause }) => ({ level, msg, state, cause })),
    ).toEqual([
      {
        level: 40,
        msg: 'database unreachable: circuit open, requests fail fast with 503',
        state: 'open',
        cause: '57P01',
      },
      {
        level: 30,
        msg: 'database reachable again: circuit closed',
        state: 'closed',
        cause: undefined,
      },
    ]);
    expect(lines[1]?.outageMs).toEqual(expect.any(Number));
  });
});

/** Writes PostgreSQL's ErrorResponse message: severity FATAL, a SQLSTATE, a message. */
function fatal(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

interface Harness {
  app: App;
  database: Database;
  token: string;
  post(query: string, token?: string): Promise<Response>;
  close(): Promise<void>;
}

async function startApp(databaseUrl: string, env: Record<string, string> = {}): Promise<Harness> {
  const started = await startAppOnDatabase(databaseUrl, env);
  const { app } = started;
  return {
    app,
    database: started.database,
    token: await started.token('acme/alice'),
    post: async (query, bearer) =>
      app.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: JSON.stringify({ query }),
      }),
    close: started.close,
  };
}

async function unavailableReply(response: Response) {
  const body = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    codes: body.errors.map((error) => error.extensions.code),
    retryAfterSeconds: body.errors[0]?.extensions.retryAfterSeconds,
  };
}

describe('the app on a PostgreSQL port that refuses connections', () => {
  let t: Harness;

  beforeAll(async () => {
    t = await startApp(`postgres://orders@127.0.0.1:${await freePort()}/orders`);
  });

  afterAll(() => t.close());

  it('answers an anonymous operation with 503 SERVICE_UNAVAILABLE and a Retry-After', async () => {
    expect(await unavailableReply(await t.post(PRODUCTS))).toEqual({
      status: 503,
      retryAfter: '5',
      codes: ['SERVICE_UNAVAILABLE'],
      retryAfterSeconds: 5,
    });
  });

  it('answers an authenticated one the same way (its plan lookup needs the database too)', async () => {
    expect(await unavailableReply(await t.post(PRODUCTS, t.token))).toEqual({
      status: 503,
      retryAfter: '5',
      codes: ['SERVICE_UNAVAILABLE'],
      retryAfterSeconds: 5,
    });
  });

  it('is not ready, and says why; it is alive', async () => {
    const ready = await t.app.fetch('http://localhost/readyz');
    expect([ready.status, ready.headers.get('retry-after'), await ready.json()]).toEqual([
      503,
      '5',
      { status: 'unavailable', reason: 'database unreachable' },
    ]);
    expect((await t.app.fetch('http://localhost/healthz')).status).toBe(200);
  });
});

describe('the app on a PostgreSQL that cannot accept connections (FATAL 57P03)', () => {
  let server: Server;
  let connections = 0;
  let t: Harness;

  beforeAll(async () => {
    server = createServer((socket: Socket) => {
      connections++;
      // After the client's startup message, as PostgreSQL does while it starts up.
      socket.once('data', () => socket.end(fatal('57P03', 'the database system is starting up')));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    t = await startApp(`postgres://orders@127.0.0.1:${port}/orders`, {
      DB_CIRCUIT_FAILURES: '3',
      DB_CIRCUIT_RESET_MS: '60000',
    });
  });

  afterAll(async () => {
    await t.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('tries the database for each request until DB_CIRCUIT_FAILURES have failed in a row', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await t.post(PRODUCTS, t.token)).status);
    expect([statuses, connections, t.database.circuit.state]).toEqual([[503, 503, 503], 3, 'open']);
  });

  it('then fails every request without a connection attempt, telling when to retry', async () => {
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await unavailableReply(await t.post(PRODUCTS)));
    expect(connections).toBe(3);
    for (const reply of replies) {
      expect(reply).toEqual({
        status: 503,
        retryAfter: String(reply.retryAfterSeconds),
        codes: ['SERVICE_UNAVAILABLE'],
        retryAfterSeconds: 60,
      });
    }
  });

  it('answers /readyz from the open circuit too, without a connection attempt', async () => {
    const ready = await t.app.fetch('http://localhost/readyz');
    expect([ready.status, ready.headers.get('retry-after'), connections]).toEqual([503, '60', 3]);
  });
});
