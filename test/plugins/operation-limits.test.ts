/**
 * Operation limits (issue 3, item 1): every limit just under and just over, through HTTP.
 * Each rejection is HTTP 400 with its own code, a message naming the value found and the
 * limit, and both in `extensions`. The defaults are in force (15,000 characters, 1,000
 * tokens, depth 10, 15 aliases, 10 root fields, 50 directives, no batching); cost and
 * budget limits are raised so that only the limit under test can answer.
 */
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { STANDARD_INTROSPECTION_DEPTH } from '../../src/cost/operation-shape.ts';
import { createLogger } from '../../src/logger.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

/** Only the limit under test may reject: cost and budgets are out of the way. */
const ROOMY_COST = {
  MAX_COST: '1000000',
  BUDGET_PRO: '1000000/1000000',
  BUDGET_FREE: '1000000/1000000',
  BUDGET_ANONYMOUS: '1000000/1000000',
};

/**
 * Fields that nest forever: orders → nodes → customer → orders … The selection inside the
 * i-th field (0-based) has type OrderConnection, Order, User for i % 3 = 0, 1, 2.
 */
const CHAIN = ['orders(first: 1)', 'nodes', 'customer'];
const CHAIN_TYPES = ['OrderConnection', 'Order', 'User'];

/** `count` nested fields of the chain, starting at position `start`, around `inner`. */
function chain(start: number, count: number, inner: string): string {
  let document = inner;
  for (let i = start + count - 1; i >= start; i--) {
    document = `${CHAIN[i % 3]} { ${document} }`;
  }
  return document;
}

/** A query of exactly `depth` levels (a field with a selection set is one level). */
function queryOfDepth(depth: number): string {
  return `query Deep { ${chain(0, depth, '__typename')} }`;
}

/** The same depth, its last levels in a named fragment reached through an inline fragment. */
function queryOfDepthThroughFragments(depth: number): string {
  const split = 4;
  const type = CHAIN_TYPES[(split - 1) % 3];
  return `query DeepFragments { ${chain(0, split, '...Rest')} }
fragment Rest on ${type} { ... on ${type} { ${chain(split, depth - split, '__typename')} } }`;
}

const DEPTH_10 = queryOfDepth(10);
const DEPTH_11 = queryOfDepth(11);
const DEPTH_10_FRAGMENTS = queryOfDepthThroughFragments(10);
const DEPTH_11_FRAGMENTS = queryOfDepthThroughFragments(11);

/** graphql-depth-limit skips `__`-names; here only the fragment and the alias look so. */
const DEPTH_11_FRAGMENT_NAMED_SCHEMA = `query { ...__schema }
fragment __schema on Query { ${chain(0, 11, '__typename')} }`;
const DEPTH_11_ALIASED_SCHEMA = `query { __schema: ${chain(0, 11, '__typename')} }`;

/** `__schema(1) types(2) fields(3) type(4)`, then `ofType` twenty times: depth 24. */
const DEEP_INTROSPECTION = `query { __schema { types { fields { type { ${'ofType { '.repeat(20)}name${' }'.repeat(20)} } } } } }`;

const INTROSPECTION = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});

/** Exactly `characters` long: a tiny query padded with trailing spaces (not tokens). */
function documentOfSize(characters: number): string {
  const query = '{ __typename }';
  return query + ' '.repeat(characters - query.length);
}

/**
 * Exactly `tokens` tokens: 22 around a list of enum values, one token each. (Repeating one
 * field instead would trip graphql-js's own guard against quadratic field merging.)
 */
function documentOfTokens(tokens: number): string {
  const statuses = 'pending '.repeat(tokens - 22);
  return `{ orders(first: 1, filter: { status: [${statuses}] }) { nodes { id } } }`;
}

/** `count` aliases below one root field (so the root-field limit stays out of it). */
function aliases(count: number): string {
  const fields = Array.from({ length: count }, (_, i) => `a${i}: __typename`).join(' ');
  return `query { products(first: 1) { ${fields} } }`;
}

const ALIASES_15 = aliases(15);
const ALIASES_16 = aliases(16);
/** 2 aliases in a fragment spread 7 times, plus 1 in an inline fragment: 15. */
const ALIASES_15_FRAGMENTS = `query { products(first: 1) { ${'...Two '.repeat(7)} ... on ProductConnection { one: __typename } } }
fragment Two on ProductConnection { x: __typename y: __typename }`;
/** The same fragment spread 8 times: 16 aliases, though the document spells only 2. */
const ALIASES_16_FRAGMENTS = `query { products(first: 1) { ${'...Two '.repeat(8)} } }
fragment Two on ProductConnection { x: __typename y: __typename }`;

/** Ten distinct root response keys, two of them repeated through fragments (merged). */
const ROOT_FIELDS_10 = `query { viewer { scopes } r1: __typename ...Roots ... on Query { r2: __typename viewer { scopes } } }
fragment Roots on Query { r1: __typename r3: __typename r4: __typename r5: __typename r6: __typename r7: __typename r8: __typename r9: __typename }`;
const ROOT_FIELDS_11 = `query { viewer { scopes } r1: __typename ...Roots ... on Query { r2: __typename r10: __typename } }
fragment Roots on Query { r1: __typename r3: __typename r4: __typename r5: __typename r6: __typename r7: __typename r8: __typename r9: __typename }`;

function directives(count: number): string {
  return `query { ${'__typename @skip(if: false) '.repeat(count)}}`;
}
const DIRECTIVES_50 = directives(50);
const DIRECTIVES_51 = directives(51);

const MISSPELT_FIELD = 'query { viewr { scopes } }';
const MISSPELT_ENUM_VARIABLE = /* GraphQL */ `
  query Misspelt($status: [OrderStatus!]) {
    orders(first: 1, filter: { status: $status }) { nodes { id } }
  }
`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: ROOMY_COST });
});
afterAll(() => t.close());

function expectLimitError(
  response: Awaited<ReturnType<TestApp['graphql']>>,
  code: string,
  message: string,
  extensions: Record<string, unknown>,
) {
  expect(response.status).toBe(400);
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors).toHaveLength(1);
  expect(response.body.errors?.[0]?.message).toBe(message);
  expect(response.body.errors?.[0]?.extensions).toMatchObject({ code, ...extensions });
}

describe('document size', () => {
  it('accepts a document of exactly 15,000 characters', async () => {
    const response = await t.graphql(documentOfSize(15_000));
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({ __typename: 'Query' });
  });

  it('rejects a document of 15,001 characters before parsing it', async () => {
    // Padded with a syntax error: parsing it would answer with a syntax error instead.
    const document = `${documentOfSize(15_000)}{`;
    expectLimitError(
      await t.graphql(document),
      'DOCUMENT_TOO_LARGE',
      'The document has 15001 characters; the limit is 15000.',
      { limit: 15_000, size: 15_001 },
    );
  });

  it('refuses a 1 MB request with 413 before reading it: the body limit comes first', async () => {
    const response = await t.graphql(documentOfSize(1_048_576));
    expect(response.status).toBe(413);
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual([
      'REQUEST_ENTITY_TOO_LARGE',
    ]);
  });
});

describe('tokens', () => {
  it('accepts a document of exactly 1,000 tokens', async () => {
    const response = await t.graphql(documentOfTokens(1_000), {}, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.orders.nodes).toHaveLength(1);
  });

  it("rejects a document of 1,001 tokens through the parser's token limit", async () => {
    expectLimitError(
      await t.graphql(documentOfTokens(1_001)),
      'TOO_MANY_TOKENS',
      'The document has 1001 tokens; the limit is 1000.',
      { limit: 1_000, tokens: 1_001 },
    );
  });

  it('gives the same answer for the same document again (cached parse error)', async () => {
    const response = await t.graphql(documentOfTokens(1_001));
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('TOO_MANY_TOKENS');
  });
});

describe('depth', () => {
  it('runs a query of depth 10', async () => {
    const response = await t.graphql(DEPTH_10, {}, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.orders.nodes[0].customer.orders.nodes).toHaveLength(1);
  });

  it('rejects a query of depth 11', async () => {
    expectLimitError(
      await t.graphql(DEPTH_11, {}, { as: 'acme/alice' }),
      'QUERY_TOO_DEEP',
      'The operation has depth 11; the limit is 10.',
      { limit: 10, depth: 11 },
    );
  });

  it('follows named and inline fragments: depth 10 runs, 11 is rejected', async () => {
    const under = await t.graphql(DEPTH_10_FRAGMENTS, {}, { as: 'acme/alice' });
    expect(under.body.errors).toBeUndefined();
    expect(under.status).toBe(200);
    expect(under.body.errors).toBeUndefined();
    expectLimitError(
      await t.graphql(DEPTH_11_FRAGMENTS, {}, { as: 'acme/alice' }),
      'QUERY_TOO_DEEP',
      'The operation has depth 11; the limit is 10.',
      { limit: 10, depth: 11 },
    );
  });

  it('is not bypassed by a fragment named like an introspection field', async () => {
    expectLimitError(
      await t.graphql(DEPTH_11_FRAGMENT_NAMED_SCHEMA, {}, { as: 'acme/alice' }),
      'QUERY_TOO_DEEP',
      'The operation has depth 11; the limit is 10.',
      { limit: 10, depth: 11 },
    );
  });

  it('is not bypassed by an alias named like an introspection field', async () => {
    expectLimitError(
      await t.graphql(DEPTH_11_ALIASED_SCHEMA, {}, { as: 'acme/alice' }),
      'QUERY_TOO_DEEP',
      'The operation has depth 11; the limit is 10.',
      { limit: 10, depth: 11 },
    );
  });

  it('bounds introspection too: a deep ofType chain is rejected', async () => {
    expectLimitError(
      await t.graphql(DEEP_INTROSPECTION),
      'QUERY_TOO_DEEP',
      `The introspection query has depth 24; the limit is ${STANDARD_INTROSPECTION_DEPTH}.`,
      { limit: STANDARD_INTROSPECTION_DEPTH, depth: 24 },
    );
  });

  it("still answers GraphiQL's full introspection query in development", async () => {
    const response = await t.graphql(INTROSPECTION);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.__schema.queryType).toEqual({ name: 'Query', kind: 'OBJECT' });
  });
});

describe('aliases', () => {
  it('accepts 15 aliases', async () => {
    const response = await t.graphql(ALIASES_15, {}, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(Object.keys(response.body.data?.products ?? {})).toHaveLength(15);
  });

  it('rejects 16 aliases', async () => {
    expectLimitError(
      await t.graphql(ALIASES_16),
      'TOO_MANY_ALIASES',
      'The operation has 16 aliases; the limit is 15.',
      { limit: 15, aliases: 16 },
    );
  });

  it('counts the aliases of a fragment once per spread', async () => {
    const under = await t.graphql(ALIASES_15_FRAGMENTS, {}, { as: 'acme/alice' });
    expect(under.status).toBe(200);
    expect(under.body.data).toEqual({
      products: { x: 'ProductConnection', y: 'ProductConnection', one: 'ProductConnection' },
    });
    expectLimitError(
      await t.graphql(ALIASES_16_FRAGMENTS),
      'TOO_MANY_ALIASES',
      'The operation has 16 aliases; the limit is 15.',
      { limit: 15, aliases: 16 },
    );
  });
});

describe('root fields', () => {
  it('accepts 10 root fields, counting fields merged from fragments once', async () => {
    const response = await t.graphql(ROOT_FIELDS_10, {}, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(Object.keys(response.body.data ?? {})).toHaveLength(10);
  });

  it('rejects 11 root fields', async () => {
    expectLimitError(
      await t.graphql(ROOT_FIELDS_11, {}, { as: 'acme/alice' }),
      'TOO_MANY_ROOT_FIELDS',
      'The operation has 11 root fields; the limit is 10.',
      { limit: 10, rootFields: 11 },
    );
  });
});

describe('directives', () => {
  it('accepts 50 directives', async () => {
    const response = await t.graphql(DIRECTIVES_50);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({ __typename: 'Query' });
  });

  it('rejects 51 directives', async () => {
    expectLimitError(
      await t.graphql(DIRECTIVES_51),
      'TOO_MANY_DIRECTIVES',
      'The operation has 51 directives; the limit is 50.',
      { limit: 50, directives: 51 },
    );
  });
});

async function postBatch(app: TestApp, count: number) {
  const response = await app.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify(Array.from({ length: count }, () => ({ query: '{ __typename }' }))),
  });
  return { status: response.status, body: await response.json() };
}

describe('batching', () => {
  it('is off by default: a JSON array gets a 400 that says so', async () => {
    const response = await postBatch(t, 2);
    expect(response.status).toBe(400);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors[0].message).toBe(
      'Batching is off: send one operation as a JSON object, not an array.',
    );
    expect(response.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  describe('when on', () => {
    let batching: TestApp;
    beforeAll(async () => {
      batching = await startTestApp({ env: { ...ROOMY_COST, BATCHING: 'true' } });
    });
    afterAll(() => batching.close());

    it('runs 10 operations in one request', async () => {
      const response = await postBatch(batching, 10);
      expect(response.status).toBe(200);
      expect(response.body.map((result: { data: unknown }) => result.data)).toEqual(
        Array.from({ length: 10 }, () => ({ __typename: 'Query' })),
      );
    });

    it('rejects 11 operations with TOO_MANY_OPERATIONS and 400', async () => {
      const response = await postBatch(batching, 11);
      expect(response.status).toBe(400);
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.errors[0].message).toBe(
        'The request has 11 operations; the limit is 10.',
      );
      expect(response.body.errors[0].extensions).toMatchObject({
        code: 'TOO_MANY_OPERATIONS',
        limit: 10,
        operations: 11,
      });
    });

    it('applies the per-operation limits to each operation of a batch', async () => {
      const response = await batching.fetch('/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
        },
        body: JSON.stringify([{ query: '{ __typename }' }, { query: ALIASES_16 }]),
      });
      const body = await response.json();
      expect(body[0].data).toEqual({ __typename: 'Query' });
      expect(body[1].errors[0].extensions.code).toBe('TOO_MANY_ALIASES');
    });
  });
});

describe('field suggestions', () => {
  it('are given in development', async () => {
    const response = await t.graphql(MISSPELT_FIELD);
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.message).toBe(
      'Cannot query field "viewr" on type "Query". Did you mean "viewer"?',
    );
  });

  describe('with hideSuggestions (production)', () => {
    let app: ReturnType<typeof createApp>;
    beforeAll(async () => {
      const config = { ...t.config, limits: { ...t.config.limits, hideSuggestions: true } };
      app = createApp({
        config,
        database: t.database,
        persistedOperations: t.persistedOperations,
        verifier: await createTokenVerifier(t.config.auth),
        logger: createLogger({ logLevel: 'silent', env: 'test' }),
      });
    });

    async function post(query: string, variables?: Record<string, unknown>) {
      const token = await t.token('acme/alice');
      const response = await app.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: await response.json() };
    }

    it('are left out of validation errors', async () => {
      const response = await post(MISSPELT_FIELD);
      expect(response.status).toBe(400);
      expect(response.body.errors[0].message).toBe('Cannot query field "viewr" on type "Query".');
    });

    it('are left out of variable errors', async () => {
      const response = await post(MISSPELT_ENUM_VARIABLE, { status: ['pendin'] });
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.errors[0].message).not.toContain('Did you mean');
      expect(response.body.errors[0].message).toContain('"pendin"');
    });
  });
});
