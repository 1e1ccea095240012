/**
 * `npm run cost`: the report for a file, and a clear message (exit status 1) for each mistake.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCostCli } from '../../src/cli/cost.ts';

const DOCUMENT = /* GraphQL */ `
  query Nested($n: Int) {
    orders(first: $n) { nodes { items { product { name } } } pageInfo { hasNextPage } }
  }
  query Who { viewer { user { username } } }
`;

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cost-cli-'));
  file = path.join(dir, 'ops.graphql');
  await writeFile(file, DOCUMENT);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runCostCli(
    argv,
    { NODE_ENV: 'test', DATA_DIR: dir, ...env },
    {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    },
  );
  return { status, out: out.join('\n'), err: err.join('\n') };
}

describe('npm run cost', () => {
  it('prints the cost, the depth and each field’s share', async () => {
    // orders 1 + nodes 50 + items 50 × 10 + product 50 × 10 + pageInfo 1 = 1052.
    const result = await run([file, '--operation', 'Nested', '--variables', '{"n": 50}']);
    expect(result.status).toBe(2);
    expect(result.out).toBe(
      [
        'Operation: Nested (query)',
        'Cost:      1052 (maximum 1000: refused with QUERY_TOO_COMPLEX)',
        'Depth:     4 (maximum 10)',
        '',
        'cost  path                        field',
        '   1  orders                      Query.orders',
        '  50  orders.nodes                OrderConnection.nodes',
        ' 500  orders.nodes.items          Order.items',
        ' 500  orders.nodes.items.product  OrderItem.product',
        '   1  orders.pageInfo             OrderConnection.pageInfo',
      ].join('\n'),
    );
  });

  it('exits 0 when the server would accept the cost, with MAX_COST from the environment', async () => {
    const result = await run([file, '--operation', 'Nested', '--variables', '{"n": 1}'], {
      MAX_COST: '22',
    });
    // 1 + 1 + 10 + 10 + 1 = 23 > 22.
    expect(result.status).toBe(2);
    const accepted = await run([file, '--operation', 'Who']);
    expect(accepted.status).toBe(0);
    expect(accepted.out).toContain('Cost:      2 (maximum 1000: accepted)');
  });

  it.each([
    [['/no/such/file.graphql'], '/no/such/file.graphql: no such file.'],
    [[], 'Usage: npm run cost -- <file.graphql>'],
    [['FILE', '--variables', '{n: 1}'], '--variables is not valid JSON:'],
    [['FILE', '--variables', '[1]'], '--variables must be a JSON object'],
    [['FILE'], 'has several operations (Nested, Who): choose one with --operation.'],
    [['FILE', '--operation', 'Nope'], 'has no operation named "Nope"; it has: Nested, Who.'],
    [
      ['FILE', '--operation', 'Nested', '--variables', '{"n": "x"}'],
      'Variable "$n" got invalid value "x"',
    ],
  ])('explains %j', async (argv, message) => {
    const result = await run(argv.map((arg) => (arg === 'FILE' ? file : arg)));
    expect(result.status).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toContain(message);
  });

  it('reports where a document does not validate against the schema', async () => {
    const invalid = path.join(dir, 'invalid.graphql');
    await writeFile(invalid, '{ products { nodes { nope } } }');
    const result = await run([invalid]);
    expect(result.status).toBe(1);
    expect(result.err).toBe(
      `${invalid} does not validate against the schema:\n  ${invalid}:1:22: Cannot query field "nope" on type "Product". Did you mean "name"?`,
    );
  });
});
