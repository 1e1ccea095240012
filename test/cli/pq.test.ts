/**
 * `npm run pq`: `check` keeps the committed manifest in step with persisted-queries/ (the drift
 * test), `build` writes it byte for byte and refuses every operation the server would refuse,
 * naming the file and why, and `register` adds each client tool's file to a real server on a
 * loopback port, after which the operations run by the id that tool sends.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPqCli } from '../../src/cli/pq.ts';
import type { ManifestEntry } from '../../src/persisted-operations/manifest.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const execFileAsync = promisify(execFile);

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OPERATIONS_DIR = path.join(repoRoot, 'persisted-queries');
const COMMITTED_MANIFEST = path.join(OPERATIONS_DIR, 'manifest.json');

const USAGE = `Usage:
  npm run pq -- build [--dir persisted-queries]
  npm run pq -- check [--dir persisted-queries]
  npm run pq -- register <file> --url http://host:4000/graphql [--token <admin token>]`;

/** What `build` prints above the list of refused operations. */
const REFUSED = (count: number) => `${count} operation problem(s); nothing written:`;

const COST_ADVICE = 'Fix the page sizes (first: 20 rather than first: $n) or select less.';

/** Worst case: orders 1 + 100 nodes + 100 × 10 items + 100 × 10 products = 2101. */
const BIG = 'query Big($n: Int) { orders(first: $n) { nodes { items { product { name } } } } }\n';

const SIXTEEN_ALIASES = `query Aliases { rateLimit { ${Array.from(
  { length: 16 },
  (_, i) => `a${i}: resetAt`,
).join(' ')} } }\n`;

/** viewer › user › (orders › nodes › customer) × 3 › username: 11 levels above the leaf. */
const DEEP =
  'query Deep { viewer { user { orders(first: 1) { nodes { customer { orders(first: 1) { nodes { customer { orders(first: 1) { nodes { customer { username } } } } } } } } } } } }\n';

/** Ids of the right form that no tenant has. */
const NO_SUCH_PRODUCT = 'prod_01h455vb4pex5vsknk084sn02q';
const NO_SUCH_ORDER = 'ord_01h455vb4pex5vsknk084sn02q';

function digest(algorithm: 'sha256' | 'sha1' | 'md5', text: string): string {
  return createHash(algorithm).update(text, 'utf8').digest('hex');
}

function fixture(name: string): string {
  return fileURLToPath(new URL(`../persisted-operations/fixtures/${name}`, import.meta.url));
}

let dataDir: string;
const temporaryDirs: string[] = [];

beforeAll(async () => {
  dataDir = await temporaryDir();
});

afterAll(async () => {
  await Promise.all(temporaryDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function temporaryDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pq-cli-'));
  temporaryDirs.push(dir);
  return dir;
}

/** A copy of persisted-queries/ (operations, README and committed manifest) to change freely. */
async function copyOfOperations(): Promise<string> {
  const dir = await temporaryDir();
  await cp(OPERATIONS_DIR, dir, { recursive: true });
  return dir;
}

/** The manifest of `dir` as the command names it: relative to the working directory. */
function shownManifest(dir: string): string {
  return path.relative(process.cwd(), path.join(dir, 'manifest.json'));
}

function staleMessage(dir: string, ...lines: string[]): string {
  return [
    `${shownManifest(dir)} is stale: run npm run pq -- build and commit it.`,
    ...lines.map((line) => `  ${line}`),
  ].join('\n');
}

async function pq(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runPqCli(
    argv,
    { NODE_ENV: 'test', DATA_DIR: dataDir, ...env },
    { out: (line) => out.push(line), err: (line) => err.push(line) },
  );
  return { status, out: out.join('\n'), err: err.join('\n') };
}

/** The operations of the manifest `build` wrote in `dir`, by sha256 (after checking its version). */
async function writtenOperations(dir: string): Promise<Record<string, ManifestEntry>> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  expect(manifest.version).toBe(1);
  return manifest.operations;
}

async function graphqlFileNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.graphql')).sort();
}

describe('npm run pq -- check', () => {
  it('passes on the committed persisted-queries/: the manifest is not stale', async () => {
    const operations = (await graphqlFileNames(OPERATIONS_DIR)).length;
    const result = await pq(['check']);
    expect(result).toEqual({
      status: 0,
      out: `persisted-queries/manifest.json is up to date (${operations} operations).`,
      err: '',
    });
  });

  it('runs as `npm run pq -- check`, its exit status that of the check', async () => {
    const run = (args: string[]) =>
      execFileAsync('npx', ['tsx', 'src/cli/pq.ts', ...args], { cwd: repoRoot }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({
          code: error.code,
          stdout: error.stdout,
          stderr: error.stderr,
        }),
      );
    const operations = (await graphqlFileNames(OPERATIONS_DIR)).length;
    const fresh = await run(['check']);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toBe(
      `persisted-queries/manifest.json is up to date (${operations} operations).\n`,
    );

    const stale = await copyOfOperations();
    await unlink(path.join(stale, 'Viewer.graphql'));
    const failed = await run(['check', '--dir', stale]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    // npx may add its own warnings to stderr; the command's message is whole lines.
    expect(failed.stderr).toContain(
      `${path.relative(repoRoot, path.join(stale, 'manifest.json'))} is stale: run npm run pq -- build and commit it.\n  removed: Viewer\n`,
    );
  }, 60_000);

  it.each([
    [
      'an operation file was edited',
      async (dir: string) => {
        const file = path.join(dir, 'RateLimit.graphql');
        await writeFile(file, (await readFile(file, 'utf8')).replace('resetAt', 'resetAt\n'));
      },
      ['changed: RateLimit (document)'],
    ],
    [
      'an operation file was added',
      (dir: string) =>
        writeFile(path.join(dir, 'Budget.graphql'), 'query Budget { rateLimit { resetAt } }\n'),
      ['added: Budget'],
    ],
    [
      'an operation file was removed',
      (dir: string) => unlink(path.join(dir, 'Viewer.graphql')),
      ['removed: Viewer'],
    ],
    [
      'an operation file was renamed',
      (dir: string) =>
        rename(path.join(dir, 'RateLimit.graphql'), path.join(dir, 'Budget.graphql')),
      ['changed: RateLimit (cost, depth or source)'],
    ],
    [
      'several files changed',
      async (dir: string) => {
        await unlink(path.join(dir, 'UserList.graphql'));
        await unlink(path.join(dir, 'CancelOrder.graphql'));
        await writeFile(
          path.join(dir, 'Budget.graphql'),
          'query Budget { rateLimit { resetAt } }\n',
        );
      },
      ['added: Budget', 'removed: CancelOrder', 'removed: UserList'],
    ],
    [
      'the manifest is missing',
      (dir: string) => unlink(path.join(dir, 'manifest.json')),
      ['the manifest is missing'],
    ],
    [
      'the manifest was reformatted',
      async (dir: string) => {
        const file = path.join(dir, 'manifest.json');
        await writeFile(file, JSON.stringify(JSON.parse(await readFile(file, 'utf8'))));
      },
      ['formatting differs'],
    ],
  ])('fails, naming what changed, when %s', async (_name, change, lines) => {
    const dir = await copyOfOperations();
    await change(dir);
    expect(await pq(['check', '--dir', dir])).toEqual({
      status: 1,
      out: '',
      err: staleMessage(dir, ...lines),
    });
  });

  it('fails on a manifest left with merge conflict markers, saying to rebuild it', async () => {
    const dir = await copyOfOperations();
    const file = path.join(dir, 'manifest.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, `<<<<<<< HEAD\n${text}=======\n${text}>>>>>>> feature\n`);
    const result = await pq(['check', '--dir', dir]);
    expect(result.status).toBe(1);
    expect(result.out).toBe('');
    expect(result.err.split('\n')).toEqual([
      `${shownManifest(dir)} is stale: run npm run pq -- build and commit it.`,
      expect.stringMatching(new RegExp(`^  ${file}: not valid JSON \\(.+\\)\\.$`)),
    ]);
  });

  it('fails on a hand-edited document whose id is no longer its sha256', async () => {
    const dir = await copyOfOperations();
    const file = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(file, 'utf8'));
    const id = digest('sha256', await readFile(path.join(dir, 'RateLimit.graphql'), 'utf8'));
    manifest.operations[id].document += '\n';
    await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
    expect(await pq(['check', '--dir', dir])).toEqual({
      status: 1,
      out: '',
      err: staleMessage(
        dir,
        `${file}: operation RateLimit is listed as ${id}, which is not the sha256 of its document. Rebuild it with npm run pq -- build.`,
      ),
    });
  });

  it("computes costs with the page sizes of its environment, as the server's", async () => {
    // A page size given as a variable is costed at PAGE_SIZE_MAX: ProductList and UserList cost
    // less with 50 than the committed manifest says (with 100). CartProducts does not change:
    // nodes(ids:) takes up to 100 ids whatever the page size, so its worst case stays 200.
    const result = await pq(['check', '--dir', OPERATIONS_DIR], { PAGE_SIZE_MAX: '50' });
    expect(result.status).toBe(1);
    expect(result.out).toBe('');
    const lines = result.err.split('\n');
    expect(lines[0]).toBe(staleMessage(OPERATIONS_DIR));
    expect(lines.slice(1)).toEqual([
      '  changed: ProductList (cost, depth or source)',
      '  changed: UserList (cost, depth or source)',
    ]);
  });

  it('fails on an operation over the limits of its environment (MAX_COST)', async () => {
    const result = await pq(['check', '--dir', OPERATIONS_DIR], { MAX_COST: '600' });
    expect(result).toEqual({
      status: 1,
      out: '',
      err: [
        REFUSED(1),
        `  OrderList.graphql: QUERY_TOO_COMPLEX: The operation costs up to 662 points (every page at its largest); the maximum is 600. ${COST_ADVICE}`,
      ].join('\n'),
    });
  });

  it('refuses extra arguments with the usage', async () => {
    expect(await pq(['check', 'persisted-queries'])).toEqual({ status: 1, out: '', err: USAGE });
  });
});

describe('npm run pq -- build', () => {
  it('writes the committed manifest byte for byte from the operation files', async () => {
    const dir = await copyOfOperations();
    await unlink(path.join(dir, 'manifest.json'));
    const operations = (await graphqlFileNames(dir)).length;
    const result = await pq(['build', '--dir', dir]);
    expect(result.status).toBe(0);
    expect(result.err).toBe('');
    const lines = result.out.split('\n');
    expect(lines[0]).toBe(`Wrote ${shownManifest(dir)}: ${operations} operations.`);
    expect(lines).toHaveLength(1 + operations);
    expect(await readFile(path.join(dir, 'manifest.json'))).toEqual(
      await readFile(COMMITTED_MANIFEST),
    );
  });

  it('maps the sha256 of each document to its name, type, source, cost, depth and text', async () => {
    const dir = await copyOfOperations();
    await unlink(path.join(dir, 'manifest.json'));
    const { out } = await pq(['build', '--dir', dir]);
    const operations = await writtenOperations(dir);
    const files = await graphqlFileNames(dir);
    expect(
      Object.values(operations)
        .map((entry) => entry.source)
        .sort(),
    ).toEqual(files);
    for (const [id, entry] of Object.entries(operations)) {
      const document = await readFile(path.join(dir, entry.source), 'utf8');
      expect(Object.keys(entry)).toEqual(['name', 'type', 'source', 'cost', 'depth', 'document']);
      // The id is the digest of the file's exact text, comments and final newline included.
      expect(id).toBe(digest('sha256', document));
      expect(entry.document).toBe(document);
      expect(`${entry.name}.graphql`).toBe(entry.source);
      expect(document).toMatch(new RegExp(`^(query|mutation) ${entry.name}\\b`, 'm'));
      expect(document).toContain(`${entry.type} ${entry.name}`);
      expect(out).toMatch(
        new RegExp(
          `^  ${entry.name} +${entry.type} +cost +${entry.cost}  depth ${entry.depth}  sha256:${id}$`,
          'm',
        ),
      );
    }
    const byName = (name: string) => Object.values(operations).find((entry) => entry.name === name);
    // products 1 + 100 × (product 1 + price 1) + pageInfo 1, $first at its maximum.
    expect(byName('ProductList')).toMatchObject({ type: 'query', cost: 202, depth: 3 });
    // orders 1 + 20 × (order, total, customer 3 + 10 items × (item, subtotal, product 3)) + pageInfo 1.
    expect(byName('OrderList')).toMatchObject({ type: 'query', cost: 662, depth: 4 });
    // The budget is free to read.
    expect(byName('RateLimit')).toMatchObject({ type: 'query', cost: 0, depth: 1 });
    // mutation 10 + payload, order and userErrors 3.
    expect(byName('CancelOrder')).toMatchObject({ type: 'mutation', cost: 13, depth: 2 });
  });

  it('reads JSON files of the client tools too, each operation named file#id', async () => {
    const dir = await temporaryDir();
    await cp(fixture('relay-persisted-queries.json'), path.join(dir, 'relay.json'));
    await cp(fixture('persisted-query-manifest.json'), path.join(dir, 'apollo.json'));
    expect((await pq(['build', '--dir', dir])).status).toBe(0);
    const operations = await writtenOperations(dir);
    expect(Object.values(operations).map(({ name, source, cost }) => [name, source, cost])).toEqual(
      [
        ['CreateOrder', 'apollo.json#CreateOrder', 13],
        ['OrderDetails', 'apollo.json#OrderDetails', 32],
        ['OrdersListQuery', 'relay.json#d84c34857fae6464bdfbb299dff41059', 202],
        ['ProductList', 'apollo.json#ProductList', 101],
        ['ProductPageQuery', 'relay.json#4156349c876df6f37b7f2e9ac3af6605', 2],
        ['UpdateProductMutation', 'relay.json#aee0195a33cdcb82fd3e913568cfed55', 13],
      ],
    );
    for (const [id, entry] of Object.entries(operations)) {
      expect(id).toBe(digest('sha256', entry.document));
    }
  });

  it("orders operations by name's code units, whatever the machine's locale", async () => {
    // localeCompare would sort ab, Ab, AB here, and put Zeta before Tau on an Estonian machine.
    const dir = await temporaryDir();
    for (const name of ['ab', 'Ab', 'AB', 'Zeta', 'Tau', 'Sigma']) {
      await writeFile(
        path.join(dir, `${name}-op.graphql`),
        `query ${name} { rateLimit { resetAt } }\n`,
      );
    }
    expect((await pq(['build', '--dir', dir])).status).toBe(0);
    const operations = await writtenOperations(dir);
    expect(Object.values(operations).map((entry) => entry.name)).toEqual([
      'AB',
      'Ab',
      'Sigma',
      'Tau',
      'Zeta',
      'ab',
    ]);
  });

  it('costs a page size given as a variable at PAGE_SIZE_MAX from its environment', async () => {
    const dir = await copyOfOperations();
    expect((await pq(['build', '--dir', dir], { PAGE_SIZE_MAX: '50' })).status).toBe(0);
    const costs = Object.fromEntries(
      Object.values(await writtenOperations(dir)).map((entry) => [entry.name, entry.cost]),
    );
    // products 1 + 50 × (product, price 2) + pageInfo 1; users 1 + 50 + pageInfo 1.
    expect(costs).toMatchObject({ ProductList: 102, UserList: 52, OrderList: 662 });
  });

  it('accepts what MAX_COST from its environment allows', async () => {
    const dir = await copyOfOperations();
    await writeFile(path.join(dir, 'Big.graphql'), BIG);
    expect((await pq(['build', '--dir', dir], { MAX_COST: '2101' })).status).toBe(0);
    expect((await writtenOperations(dir))[digest('sha256', BIG)]).toEqual({
      name: 'Big',
      type: 'query',
      source: 'Big.graphql',
      cost: 2101,
      depth: 4,
      document: BIG,
    });
  });

  it.each<[string, Record<string, string>, Record<string, string>, string[]]>([
    [
      'a query deeper than the limit',
      { 'Deep.graphql': DEEP },
      {},
      ['Deep.graphql: QUERY_TOO_DEEP: The operation has depth 11; the limit is 10.'],
    ],
    [
      'operations deeper than MAX_DEPTH from its environment',
      {},
      { MAX_DEPTH: '3' },
      [
        'CreateOrder.graphql: QUERY_TOO_DEEP: The operation has depth 4; the limit is 3.',
        'OrderList.graphql: QUERY_TOO_DEEP: The operation has depth 4; the limit is 3.',
        'Viewer.graphql: QUERY_TOO_DEEP: The operation has depth 4; the limit is 3.',
      ],
    ],
    [
      'an operation too costly with its worst-case variables',
      { 'Big.graphql': BIG },
      {},
      [
        `Big.graphql: QUERY_TOO_COMPLEX: The operation costs up to 2101 points (every page at its largest); the maximum is 1000. ${COST_ADVICE}`,
      ],
    ],
    [
      'an operation over MAX_COST from its environment',
      {},
      { MAX_COST: '600' },
      [
        `OrderList.graphql: QUERY_TOO_COMPLEX: The operation costs up to 662 points (every page at its largest); the maximum is 600. ${COST_ADVICE}`,
      ],
    ],
    [
      'too many aliases',
      { 'Aliases.graphql': SIXTEEN_ALIASES },
      {},
      ['Aliases.graphql: TOO_MANY_ALIASES: The operation has 16 aliases; the limit is 15.'],
    ],
    [
      'a document that does not validate, with its line and column',
      { 'Colour.graphql': 'query Colour {\n  products(first: 2) { nodes { colour } }\n}\n' },
      {},
      [
        'Colour.graphql: INVALID_DOCUMENT: Cannot query field "colour" on type "Product". (line 2, column 32)',
      ],
    ],
    [
      'a document that does not parse, with its line and column',
      { 'Cut.graphql': 'query Cut {\n  rateLimit {\n    resetAt\n' },
      {},
      [
        'Cut.graphql: INVALID_DOCUMENT: Syntax Error: Expected Name, found <EOF>. (line 4, column 1)',
      ],
    ],
    [
      'an anonymous operation',
      { 'Anonymous.graphql': '{ rateLimit { resetAt } }\n' },
      {},
      [
        'Anonymous.graphql: ANONYMOUS_OPERATION: The operation has no name; name it (logs, metrics and the manifest list operations by name).',
      ],
    ],
    [
      'two operations in one file',
      {
        'Two.graphql':
          'query One { rateLimit { resetAt } }\nquery Two { rateLimit { restoreRate } }\n',
      },
      {},
      [
        'Two.graphql: INVALID_DOCUMENT: A persisted document holds exactly one operation; this one has 2.',
      ],
    ],
    [
      'two files with the same operation name',
      { 'ProductList2.graphql': 'query ProductList { products(first: 1) { nodes { id } } }\n' },
      {},
      [
        'ProductList2.graphql: another document (ProductList.graphql) already has an operation named ProductList.',
      ],
    ],
    [
      'several operations at once, listing each',
      { 'Aliases.graphql': SIXTEEN_ALIASES, 'Big.graphql': BIG, 'Deep.graphql': DEEP },
      {},
      [
        'Aliases.graphql: TOO_MANY_ALIASES: The operation has 16 aliases; the limit is 15.',
        `Big.graphql: QUERY_TOO_COMPLEX: The operation costs up to 2101 points (every page at its largest); the maximum is 1000. ${COST_ADVICE}`,
        'Deep.graphql: QUERY_TOO_DEEP: The operation has depth 11; the limit is 10.',
      ],
    ],
  ])(
    'refuses %s, naming the file and why, and writes nothing',
    async (_name, files, env, problems) => {
      const dir = await copyOfOperations();
      for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
      const result = await pq(['build', '--dir', dir], env);
      expect(result).toEqual({
        status: 1,
        out: '',
        err: [REFUSED(problems.length), ...problems.map((problem) => `  ${problem}`)].join('\n'),
      });
      expect(await readFile(path.join(dir, 'manifest.json'))).toEqual(
        await readFile(COMMITTED_MANIFEST),
      );
    },
  );

  it.each([
    [
      'an Apollo manifest of another version',
      'apollo.json',
      '{ "format": "apollo-persisted-query-manifest", "version": 2, "operations": [] }',
      'apollo.json: Apollo persisted query manifest version 2 is not supported; this server reads version 1, as written by @apollo/generate-persisted-query-manifest.',
    ],
    [
      'an id that is not a digest of its document',
      'relay.json',
      '{ "0123456789abcdef0123456789abcdef": "query Q { rateLimit { resetAt } }" }',
      `relay.json#0123456789abcdef0123456789abcdef: the id "0123456789abcdef0123456789abcdef" is not the md5 digest of its document, which is ${digest('md5', 'query Q { rateLimit { resetAt } }')}.`,
    ],
    [
      'an empty .graphql file',
      'Empty.graphql',
      ' \n',
      'Empty.graphql is empty: it should hold one GraphQL document.',
    ],
  ])('refuses %s, naming the file, and writes nothing', async (_name, fileName, text, message) => {
    const dir = await copyOfOperations();
    await writeFile(path.join(dir, fileName), text);
    const result = await pq(['build', '--dir', dir]);
    expect(result.status).toBe(1);
    expect(result.out).toBe('');
    expect(result.err.startsWith(message)).toBe(true);
    expect(await readFile(path.join(dir, 'manifest.json'))).toEqual(
      await readFile(COMMITTED_MANIFEST),
    );
  });

  it('refuses a folder without operation files', async () => {
    const empty = await temporaryDir();
    expect(await pq(['build', '--dir', empty])).toEqual({
      status: 1,
      out: '',
      err: `${empty}: no operation files (*.graphql, *.json).`,
    });
    // The README and the manifest are not operations.
    const docsOnly = await temporaryDir();
    await cp(path.join(OPERATIONS_DIR, 'README.md'), path.join(docsOnly, 'README.md'));
    await cp(COMMITTED_MANIFEST, path.join(docsOnly, 'manifest.json'));
    expect(await pq(['build', '--dir', docsOnly])).toEqual({
      status: 1,
      out: '',
      err: `${docsOnly}: no operation files (*.graphql, *.json).`,
    });
    expect(await readFile(path.join(docsOnly, 'manifest.json'))).toEqual(
      await readFile(COMMITTED_MANIFEST),
    );
  });

  it.each(['build', 'check'])(
    'runs %s with NODE_ENV=production and none of the server settings production needs',
    async (command) => {
      // No JWT_*, no DATABASE_URL, and a server setting that would stop the server: none of
      // them is build's or check's business.
      const env = { NODE_ENV: 'production', PORT: 'not-a-port', JWT_ALGORITHMS: 'none' };
      const result = await pq([command, '--dir', await copyOfOperations()], env);
      expect(result.err).toBe('');
      expect(result.status).toBe(0);
    },
  );

  it('refuses a limit its environment gets wrong, naming the variable', async () => {
    const result = await pq(['build', '--dir', await copyOfOperations()], { MAX_COST: 'lots' });
    expect(result.status).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toMatch(/^Invalid configuration:\n {2}MAX_COST: /);
  });

  it.each([[['build', 'more']], [['build', '--bogus']], [['compile']], [[]]])(
    'answers %j with the usage',
    async (argv) => {
      const result = await pq(argv);
      expect(result.status).toBe(1);
      expect(result.out).toBe('');
      expect(result.err.endsWith(USAGE)).toBe(true);
    },
  );
});

describe('npm run pq -- register', () => {
  let t: TestApp;
  let server: Server;
  let url: string;
  let adminToken: string;

  beforeAll(async () => {
    // Require mode: the register mutation itself runs as a persisted operation.
    t = await startTestApp({ env: { PERSISTED_OPERATIONS: 'require' } });
    server = createServer(t.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    adminToken = await t.token('acme/alice');
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await t.close();
  });

  function register(file: string, token: string | null = adminToken) {
    return pq(['register', file, '--url', url, ...(token === null ? [] : ['--token', token])]);
  }

  function registered(name: string, document: string, cost: number, again = false): string {
    return `  ${again ? 'already registered' : 'registered'} ${name} sha256:${digest('sha256', document)} (cost ${cost})`;
  }

  type Entry = [id: string, document: string];

  /** A fixture map's three entries: the id its tool sends, and the document. */
  async function entriesOf(fixtureName: string): Promise<[Entry, Entry, Entry]> {
    const entries = Object.entries(JSON.parse(await readFile(fixture(fixtureName), 'utf8')));
    expect(entries).toHaveLength(3);
    return entries as [Entry, Entry, Entry];
  }

  /** The code of the first error of a request (as a member), if any. */
  async function errorCode(params: Record<string, unknown>) {
    const response = await t.send(params, { as: 'acme/bob' });
    return response.body.errors?.[0]?.extensions?.code;
  }

  it('registers a .graphql file, which then runs by its documentId', async () => {
    const file = fixture('ProductList.graphql');
    const document = await readFile(file, 'utf8');
    const params = { documentId: `sha256:${digest('sha256', document)}`, variables: { first: 2 } };
    expect(await errorCode(params)).toBe('PERSISTED_QUERY_NOT_FOUND');

    expect(await register(file)).toEqual({
      status: 0,
      // products 1 + 100 × (product, price 2) + pageInfo 1.
      out: [
        `${file}: 1 operation(s) (graphql) → ${url}`,
        registered('ProductList', document, 202),
      ].join('\n'),
      err: '',
    });

    const response = await t.send(params, { as: 'acme/bob' });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    const names = response.body.data?.products.nodes.map((node: { name: string }) => node.name);
    expect(names).toHaveLength(2);
    expect([...names].sort()).toEqual(names);
    expect(response.body.data?.products.pageInfo.hasNextPage).toBe(true);
  });

  it("registers an Apollo manifest, whose operations run by Apollo's persistedQuery hash", async () => {
    const file = fixture('persisted-query-manifest.json');
    const operations: { id: string; name: string; body: string }[] = JSON.parse(
      await readFile(file, 'utf8'),
    ).operations;
    const entry = (name: string) => operations.find((op) => op.name === name);
    const body = (name: string) => entry(name)?.body ?? '';
    // What Apollo Client's persisted queries link sends: the manifest's id as sha256Hash.
    const apollo = (name: string) => ({
      persistedQuery: { version: 1, sha256Hash: entry(name)?.id },
    });
    expect(await errorCode({ extensions: apollo('ProductList'), variables: { first: 1 } })).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );

    expect(await register(file)).toEqual({
      status: 0,
      out: [
        `${file}: 3 operation(s) (apollo-manifest) → ${url}`,
        registered('CreateOrder', body('CreateOrder'), 13),
        registered('OrderDetails', body('OrderDetails'), 32),
        registered('ProductList', body('ProductList'), 101),
      ].join('\n'),
      err: '',
    });

    const products = await t.send(
      { extensions: apollo('ProductList'), variables: { first: 1 } },
      { as: 'acme/bob' },
    );
    const [product] = products.body.data?.products.nodes ?? [];
    expect(product).toEqual({
      id: expect.stringMatching(/^prod_/),
      name: expect.any(String),
      __typename: 'Product',
    });
    const created = await t.send(
      {
        extensions: apollo('CreateOrder'),
        variables: {
          input: {
            clientMutationId: newClientMutationId(),
            items: [{ productId: product.id, quantity: 1 }],
          },
        },
      },
      { as: 'acme/bob' },
    );
    const order = created.body.data?.createOrder.order;
    expect(created.body.data?.createOrder.userErrors).toEqual([]);
    expect(order).toEqual({
      id: expect.stringMatching(/^ord_/),
      status: 'pending',
      version: 1,
      __typename: 'Order',
    });
    const details = await t.send(
      { extensions: apollo('OrderDetails'), variables: { id: order.id } },
      { as: 'acme/bob' },
    );
    expect(details.body.errors).toBeUndefined();
    expect(details.body.data?.order).toMatchObject({
      id: order.id,
      status: 'pending',
      items: [{ quantity: 1, product: { id: product.id, name: product.name } }],
    });
  });

  it('registers Codegen persisted documents, which run by bare sha1 or sha256 documentId', async () => {
    const sha1File = fixture('codegen-sha1.persisted-documents.json');
    const sha256File = fixture('codegen-sha256.persisted-documents.json');
    const bySha1 = await entriesOf('codegen-sha1.persisted-documents.json');
    const bySha256 = await entriesOf('codegen-sha256.persisted-documents.json');
    // The same three documents in both files, keyed by their sha1 in one and sha256 in the other.
    expect(bySha256.map(([, document]) => document)).toEqual(
      bySha1.map(([, document]) => document),
    );
    const [[productListSha1, productList], [, viewerOrders], [, cancelOrder]] = bySha1;
    expect(await errorCode({ documentId: productListSha1, variables: { first: 2 } })).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );

    expect(await register(sha1File)).toEqual({
      status: 0,
      out: [
        `${sha1File}: 3 operation(s) (persisted-documents) → ${url}`,
        // products 1 + 100 × (product, price 2).
        registered('ProductList', productList, 201),
        // viewer 1 + orders 1 + 100 × (order, total 2) + pageInfo 1.
        registered('ViewerOrders', viewerOrders, 203),
        registered('CancelOrder', cancelOrder, 13),
      ].join('\n'),
      err: '',
    });
    expect(await register(sha256File)).toEqual({
      status: 0,
      out: [
        `${sha256File}: 3 operation(s) (persisted-documents) → ${url}`,
        registered('ProductList', productList, 201, true),
        registered('ViewerOrders', viewerOrders, 203, true),
        registered('CancelOrder', cancelOrder, 13, true),
      ].join('\n'),
      err: '',
    });

    // The client preset sends the map's key, a bare hex digest, as documentId.
    for (const [[productListId], [viewerOrdersId], [cancelOrderId]] of [bySha1, bySha256]) {
      const products = await t.send(
        { documentId: productListId, variables: { first: 2 } },
        { as: 'acme/bob' },
      );
      expect(products.status).toBe(200);
      expect(products.body.data?.products.nodes).toHaveLength(2);
      const orders = await t.send(
        { documentId: viewerOrdersId, variables: { first: 1 } },
        { as: 'acme/bob' },
      );
      expect(orders.body.errors).toBeUndefined();
      expect(orders.body.data?.viewer.orders.nodes).toEqual([
        expect.objectContaining({ id: expect.stringMatching(/^ord_/) }),
      ]);
      const cancelled = await t.send(
        {
          documentId: cancelOrderId,
          variables: { input: { id: NO_SUCH_ORDER } },
        },
        { as: 'acme/bob' },
      );
      expect(cancelled.body).toEqual({
        data: {
          cancelOrder: {
            order: null,
            userErrors: [{ code: 'NOT_FOUND', field: ['input', 'id'], message: 'No such order.' }],
          },
        },
      });
    }
  });

  it("registers Relay's persisted queries, which run by their md5 doc_id", async () => {
    const file = fixture('relay-persisted-queries.json');
    // Relay's network layer sends the file's key, the md5 of the text, as doc_id.
    const [
      [productPageId, productPage],
      [updateProductId, updateProduct],
      [ordersListId, ordersList],
    ] = await entriesOf('relay-persisted-queries.json');
    expect(await errorCode({ doc_id: ordersListId, variables: { first: 2 } })).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );

    expect(await register(file)).toEqual({
      status: 0,
      out: [
        `${file}: 3 operation(s) (persisted-documents) → ${url}`,
        registered('ProductPageQuery', productPage, 2),
        registered('UpdateProductMutation', updateProduct, 13),
        // orders 1 + 100 × (edge, node 2) + pageInfo 1.
        registered('OrdersListQuery', ordersList, 202),
      ].join('\n'),
      err: '',
    });

    const orders = await t.send(
      { doc_id: ordersListId, variables: { first: 2 } },
      { as: 'acme/alice' },
    );
    expect(orders.body.errors).toBeUndefined();
    expect(orders.body.data?.orders.edges).toHaveLength(2);
    const products = await t.send(
      { documentId: digest('sha256', await readFile(fixture('ProductList.graphql'), 'utf8')) },
      { as: 'acme/alice' },
    );
    const productId = products.body.data?.products.nodes[0].id;
    const product = await t.send(
      { doc_id: productPageId, variables: { id: productId } },
      { as: 'acme/alice' },
    );
    expect(product.body.data?.product).toMatchObject({
      id: productId,
      name: products.body.data?.products.nodes[0].name,
    });
    const updated = await t.send(
      {
        doc_id: updateProductId,
        variables: { input: { id: NO_SUCH_PRODUCT, name: 'Renamed' } },
      },
      { as: 'acme/alice' },
    );
    expect(updated.body).toEqual({
      data: {
        updateProduct: {
          product: null,
          userErrors: [{ field: ['input', 'id'], code: 'NOT_FOUND', message: 'No such product.' }],
        },
      },
    });
  });

  it('says "already registered" for a file registered before, and exits 0', async () => {
    const dir = await temporaryDir();
    const file = path.join(dir, 'Stock.graphql');
    const document = 'query Stock { products(first: 5) { nodes { stock } } }\n';
    await writeFile(file, document);
    const header = `${file}: 1 operation(s) (graphql) → ${url}`;
    expect(await register(file)).toEqual({
      status: 0,
      out: [header, registered('Stock', document, 6)].join('\n'),
      err: '',
    });
    // PQ_TOKEN instead of --token: the token stays out of the process list.
    expect(await pq(['register', file, '--url', url], { PQ_TOKEN: adminToken })).toEqual({
      status: 0,
      out: [header, registered('Stock', document, 6, true)].join('\n'),
      err: '',
    });
  });

  it('registers the others of a file when one is refused, and exits 1', async () => {
    const cheap = 'query Cheap { products(first: 1) { nodes { id } } }';
    const alsoCheap = 'query AlsoCheap { products(first: 2) { nodes { id } } }';
    const documents = [cheap, BIG, alsoCheap];
    const dir = await temporaryDir();
    const file = path.join(dir, 'persisted-documents.json');
    await writeFile(
      file,
      JSON.stringify(Object.fromEntries(documents.map((d) => [digest('sha1', d), d]))),
    );
    expect(await register(file)).toEqual({
      status: 1,
      out: [
        `${file}: 3 operation(s) (persisted-documents) → ${url}`,
        registered('Cheap', cheap, 2),
        registered('AlsoCheap', alsoCheap, 3),
      ].join('\n'),
      err: [
        `  refused persisted-documents.json#${digest('sha1', BIG)}: QUERY_TOO_COMPLEX: The operation costs up to 2101 points (every page at its largest); the maximum is 1000. ${COST_ADVICE}`,
        '1 of 3 operation(s) not registered.',
      ].join('\n'),
    });
    for (const document of documents) {
      const code = await errorCode({ documentId: digest('sha1', document) });
      expect(code).toBe(document === BIG ? 'PERSISTED_QUERY_NOT_FOUND' : undefined);
    }
  });

  it('refuses an anonymous operation as build does, with ANONYMOUS_OPERATION, and registers the rest', async () => {
    const anonymous = '{ products(first: 4) { nodes { id } } }';
    const named = 'query NamedFour { products(first: 4) { nodes { id } } }';
    const dir = await temporaryDir();
    const file = path.join(dir, 'persisted-documents.json');
    await writeFile(
      file,
      JSON.stringify({ [digest('sha1', anonymous)]: anonymous, [digest('sha1', named)]: named }),
    );
    expect(await register(file)).toEqual({
      status: 1,
      out: [
        `${file}: 2 operation(s) (persisted-documents) → ${url}`,
        registered('NamedFour', named, 5),
      ].join('\n'),
      err: [
        `  refused persisted-documents.json#${digest('sha1', anonymous)}: ANONYMOUS_OPERATION: The operation has no name; name it (logs, metrics and the manifest list operations by name).`,
        '1 of 2 operation(s) not registered.',
      ].join('\n'),
    });
    expect(await errorCode({ documentId: digest('sha1', anonymous) })).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
    expect(await errorCode({ documentId: digest('sha1', named) })).toBeUndefined();
  });

  it("refuses a member's token with FORBIDDEN, registering nothing", async () => {
    const dir = await temporaryDir();
    const file = path.join(dir, 'Member.graphql');
    const document = 'query Member { products(first: 3) { nodes { name } } }\n';
    await writeFile(file, document);
    const result = await register(file, await t.token('acme/bob'));
    expect(result).toEqual({
      status: 1,
      out: `${file}: 1 operation(s) (graphql) → ${url}`,
      err: [
        '  refused Member.graphql: FORBIDDEN: Not authorized to resolve Mutation.registerPersistedOperation',
        '1 of 1 operation(s) not registered.',
      ].join('\n'),
    });
    expect(await errorCode({ documentId: `sha256:${digest('sha256', document)}` })).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
  });

  it('refuses a bad token with the reason of the 401', async () => {
    const file = fixture('ProductList.graphql');
    expect(await register(file, 'not-a-jwt')).toEqual({
      status: 1,
      out: `${file}: 1 operation(s) (graphql) → ${url}`,
      err: [
        '  refused ProductList.graphql: UNAUTHENTICATED: The access token is missing, invalid or expired.',
        '1 of 1 operation(s) not registered.',
      ].join('\n'),
    });
  });

  it('needs a token, from --token or PQ_TOKEN', async () => {
    expect(await register(fixture('ProductList.graphql'), null)).toEqual({
      status: 1,
      out: '',
      err: 'register needs an admin token: --token or PQ_TOKEN.',
    });
  });

  it.each([
    [['register', '--url', 'http://127.0.0.1:4000/graphql', '--token', 'x']],
    [['register', 'a.graphql', '--token', 'x']],
    [['register', 'a.graphql', 'b.graphql', '--url', 'http://127.0.0.1:4000/graphql']],
  ])('answers %j with the usage', async (argv) => {
    expect(await pq(argv)).toEqual({ status: 1, out: '', err: USAGE });
  });

  it('says it cannot connect to a server that is not listening', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const closedUrl = `http://127.0.0.1:${port}/graphql`;
    const file = fixture('ProductList.graphql');
    expect(await pq(['register', file, '--url', closedUrl, '--token', adminToken])).toEqual({
      status: 1,
      out: `${file}: 1 operation(s) (graphql) → ${closedUrl}`,
      err: `${closedUrl}: cannot connect (ECONNREFUSED).`,
    });
  });

  it('says when the URL answers with something other than GraphQL', async () => {
    const wrongUrl = url.replace(/\/graphql$/, '/nowhere');
    const file = fixture('ProductList.graphql');
    const result = await pq(['register', file, '--url', wrongUrl, '--token', adminToken]);
    expect(result.status).toBe(1);
    expect(result.err).toMatch(new RegExp(`^${wrongUrl}: HTTP 404, not a GraphQL response: `));
  });

  it('refuses a missing file and a file of no known format', async () => {
    const missing = path.join(await temporaryDir(), 'Missing.graphql');
    expect(await register(missing)).toEqual({
      status: 1,
      out: '',
      err: `${missing}: no such file.`,
    });
    const text = path.join(await temporaryDir(), 'operations.txt');
    await writeFile(text, 'query A { rateLimit { resetAt } }');
    const result = await register(text);
    expect(result.status).toBe(1);
    expect(result.err).toMatch(/^operations\.txt: unsupported file type "\.txt"\. /);
  });
});
