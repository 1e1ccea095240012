/**
 * `npm start` as a user runs it: package.json's start command (the server's build in dist/,
 * rebuilt when stale), a real process on a real port, with the embedded database in a
 * temporary DATA_DIR. First start seeds and prints the demo tokens; SIGTERM exits cleanly;
 * a second start on the same DATA_DIR keeps the data and the signing key.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TENANTS } from '../src/db/seed.ts';
import { CREATE_PRODUCT, PRODUCT } from './fixtures/operations.ts';
import { splitCostReport } from './helpers/app.ts';
import { newClientMutationId } from './helpers/keys.ts';
import {
  exitOf,
  killServers,
  type ServerProcess as Server,
  STARTUP_TIMEOUT_MS,
  startServer as startServerWith,
} from './helpers/server-process.ts';

const WHO_AM_I = /* GraphQL */ `
  query WhoAmI {
    viewer { user { username } tenant { id slug } }
  }
`;

/** The demo users as the banner lists them: `tenant/user` and role. */
const DEMO_USERS = DEMO_TENANTS.flatMap((tenant) =>
  tenant.users.map((user) => ({ name: `${tenant.slug}/${user.username}`, role: user.role })),
);

/** `npm start`'s Node arguments, from package.json, run with this test's Node (20 or 24). */
const START_ARGS = (() => {
  const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as {
    scripts: { start: string };
  };
  const [command, ...args] = scripts.start.split(' ');
  if (command !== 'node') throw new Error(`npm start runs ${command}, not node: update this test`);
  return args;
})();

const startServer = (env: Record<string, string>) => startServerWith(env, START_ARGS);

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'orders-startup-'));
  // Rebuilt now if stale, so that no start below says "Rebuilding the server" on stderr.
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'ignore' });
}, 60_000);

afterAll(async () => {
  killServers();
  await rm(dataDir, { recursive: true, force: true });
});

/** Resolves once stdout matches `pattern`; fails on exit or after STARTUP_TIMEOUT_MS. */
async function waitForOutput(server: Server, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!pattern.test(server.stdout())) {
    const { exitCode, signalCode } = server.child;
    if (exitCode !== null || signalCode !== null || Date.now() > deadline) {
      throw new Error(
        `server ${exitCode !== null || signalCode !== null ? `exited (${exitCode ?? signalCode})` : 'timed out'} before printing ${pattern}\n` +
          `--- stdout\n${server.stdout()}\n--- stderr\n${server.stderr()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGTERM, then the exit (or an error once EXIT_TIMEOUT_MS have passed without one). */
async function stopServer(server: Server) {
  server.child.kill('SIGTERM');
  return exitOf(server);
}

/** The `tenant/user → token` lines of the banner. */
function bannerTokens(stdout: string) {
  return [...stdout.matchAll(/^ {4}(\S+\/\S+) +(admin|member|viewer) +Bearer (\S+)$/gm)].map(
    ([, name, role, token]) => ({ name: name!, role: role!, token: token! }),
  );
}

async function graphql(
  server: Server,
  query: string,
  variables: Record<string, unknown>,
  token: string,
) {
  const response = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: splitCostReport(await response.json()).body };
}

const development = () => ({ NODE_ENV: 'development', LOG_LEVEL: 'info', DATA_DIR: dataDir });
/** Everything production needs; each refusal test breaks one setting. Nothing is contacted. */
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://orders@db.invalid:5432/orders',
  JWT_ISSUER: 'https://id.example.com/',
  JWT_AUDIENCE: 'orders-api',
  JWT_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
};
const LAST_BANNER_LINE = /^ {4}globex\/frank +viewer +Bearer \S+$/m;
/**
 * The log line of the same moment. Logs go through pino-pretty's worker thread and may reach
 * stdout after the banner; a "seeded" line, logged earlier on the same stream, is there by then.
 */
const READY_LOG = /Orders API ready/;

describe('first start on an empty DATA_DIR', () => {
  let server: Server;
  let tokens: ReturnType<typeof bannerTokens>;

  beforeAll(async () => {
    server = await startServer(development());
    await waitForOutput(server, LAST_BANNER_LINE);
    await waitForOutput(server, READY_LOG);
    tokens = bannerTokens(server.stdout());
  }, STARTUP_TIMEOUT_MS + 10_000);

  it('prints where the API and GraphiQL are', () => {
    const url = `http://localhost:${server.port}/graphql`;
    expect(server.stdout()).toContain(`  Orders API on ${url}\n`);
    expect(server.stdout()).toContain(`  GraphiQL:  open ${url} in a browser`);
  });

  it('prints a development token for each of the six demo users', () => {
    expect(tokens.map(({ name, role }) => ({ name, role }))).toEqual(DEMO_USERS);
    expect(new Set(tokens.map(({ token }) => token)).size).toBe(6);
  });

  it('seeds the demo data into the embedded database', () => {
    expect(server.stdout()).toContain('seeded the demo data into the embedded database');
  });

  it('accepts each printed token as the user it is printed for', async () => {
    for (const { name, token } of tokens) {
      const [slug, username] = name.split('/');
      const tenant = DEMO_TENANTS.find((candidate) => candidate.slug === slug);
      const response = await graphql(server, WHO_AM_I, {}, token);
      expect(response).toEqual({
        status: 200,
        body: { data: { viewer: { user: { username }, tenant: { id: tenant?.id, slug } } } },
      });
    }
  });

  it('serves GraphiQL to a browser on GET /graphql', async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
      headers: { accept: 'text/html' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('<title>Orders API</title>');
  });

  it('exits with code 0 on SIGTERM', async () => {
    expect(await stopServer(server)).toEqual({ code: 0, signal: null });
  });
});

describe('a restart on the same DATA_DIR', () => {
  let server: Server;
  let aliceToken: string;
  let productId: string;

  beforeAll(
    async () => {
      // Written by a first run, read back by the second.
      const first = await startServer(development());
      await waitForOutput(first, LAST_BANNER_LINE);
      aliceToken = bannerTokens(first.stdout()).find(({ name }) => name === 'acme/alice')!.token;
      const created = await graphql(
        first,
        CREATE_PRODUCT,
        {
          input: {
            clientMutationId: newClientMutationId('product'),
            name: 'Kept across restarts',
            price: { amount: 1250, currency: 'EUR' },
          },
        },
        aliceToken,
      );
      expect(created.body.data!.createProduct.userErrors).toEqual([]);
      productId = created.body.data!.createProduct.product.id;
      expect(await stopServer(first)).toEqual({ code: 0, signal: null });

      server = await startServer(development());
      await waitForOutput(server, LAST_BANNER_LINE);
      await waitForOutput(server, READY_LOG);
    },
    2 * STARTUP_TIMEOUT_MS + 30_000,
  );

  it('does not seed again', () => {
    expect(server.stdout()).not.toContain('seeded');
    expect(server.stdout()).toContain(`  Orders API on http://localhost:${server.port}/graphql\n`);
  });

  it('keeps the data written before the restart', async () => {
    const response = await graphql(server, PRODUCT, { id: productId }, aliceToken);
    expect(response).toEqual({
      status: 200,
      body: { data: { product: { name: 'Kept across restarts' } } },
    });
  });

  it('keeps the tenants and the signing key: a token from the previous run still works', async () => {
    const response = await graphql(server, WHO_AM_I, {}, aliceToken);
    expect(response.body).toEqual({
      data: {
        viewer: { user: { username: 'alice' }, tenant: { id: DEMO_TENANTS[0]!.id, slug: 'acme' } },
      },
    });
  });

  it('exits with code 0 on SIGTERM', async () => {
    expect(await stopServer(server)).toEqual({ code: 0, signal: null });
  });
});

describe('a bad configuration', () => {
  it(
    'stops the server with exit code 1 and a message naming the variable, without a stack trace',
    async () => {
      const server = await startServer({ ...development(), PORT: 'not-a-port' });
      const { code } = await Promise.race([
        server.exit,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('still running')), STARTUP_TIMEOUT_MS),
        ),
      ]);
      expect(code).toBe(1);
      expect(server.stderr()).toMatch(/^Invalid configuration:\n {2}PORT: .+\n$/);
      expect(server.stdout()).toBe('');
    },
    STARTUP_TIMEOUT_MS + 10_000,
  );

  it.each([
    [
      'the development signing key',
      { JWT_JWKS_URL: '' },
      'NODE_ENV=production refuses the development signing key: set JWT_JWKS_FILE or JWT_JWKS_URL.',
    ],
    ['GraphiQL', { GRAPHIQL: 'true' }, 'GRAPHIQL=true is refused when NODE_ENV=production.'],
    [
      'a CORS wildcard',
      { CORS_ORIGINS: '*' },
      'CORS_ORIGINS=* is refused when NODE_ENV=production: list the allowed origins.',
    ],
  ])(
    'refuses to start in production with %s, saying which setting is wrong',
    async (_setting, change, message) => {
      const server = await startServer({
        ...PRODUCTION,
        ...change,
        DATA_DIR: dataDir,
      });
      const { code } = await Promise.race([
        server.exit,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('still running')), STARTUP_TIMEOUT_MS),
        ),
      ]);
      expect(code).toBe(1);
      expect(server.stderr()).toBe(`${message}\n`);
      expect(server.stdout()).toBe('');
    },
    STARTUP_TIMEOUT_MS + 10_000,
  );

  it(
    'stops the server with exit code 1 when the persisted-operations manifest is missing',
    async () => {
      const manifest = path.join(dataDir, 'no-such-manifest.json');
      const server = await startServer({
        ...development(),
        PERSISTED_OPERATIONS_MANIFEST: manifest,
      });
      const { code } = await Promise.race([
        server.exit,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('still running')), STARTUP_TIMEOUT_MS),
        ),
      ]);
      expect(code).toBe(1);
      expect(server.stderr()).toContain(
        `${manifest}: no such file. Build it with npm run pq -- build, or point PERSISTED_OPERATIONS_MANIFEST at it.`,
      );
    },
    STARTUP_TIMEOUT_MS + 10_000,
  );
});
