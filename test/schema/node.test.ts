import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DemoUserName,
  type GraphQLResponse,
  startTestApp,
  type TestApp,
} from '../helpers/app.ts';

const NODE_FIELDS = /* GraphQL */ `
  fragment NodeFields on Node {
    __typename
    id
    ... on Product { name }
    ... on Order { status }
    ... on OrderItem { quantity }
    ... on User { username }
    ... on Tenant { slug }
  }
`;

const NODE = /* GraphQL */ `
  query Node($id: ID!) {
    node(id: $id) { ...NodeFields }
  }
  ${NODE_FIELDS}
`;

const NODES = /* GraphQL */ `
  query Nodes($ids: [ID!]!) {
    nodes(ids: $ids) { ...NodeFields }
  }
  ${NODE_FIELDS}
`;

/** One object of every node type in the caller's tenant, as the lists show them. */
const SAMPLES = /* GraphQL */ `
  query Samples {
    viewer {
      user { id username }
      tenant { id slug }
    }
    products(first: 1) { nodes { id name } }
    orders(first: 1) {
      nodes {
        id
        status
        items { id quantity }
      }
    }
  }
`;

interface Sample {
  __typename: 'Product' | 'Order' | 'OrderItem' | 'User' | 'Tenant';
  id: string;
  [field: string]: unknown;
}

/** Errors without the per-request id and source locations, for exact comparison. */
function errorsOf(response: GraphQLResponse) {
  return response.body.errors?.map(({ message, path, extensions }) => {
    const { requestId: _requestId, ...rest } = extensions ?? {};
    return { message, path, extensions: rest };
  });
}

let t: TestApp;
let acme: Sample[];
let globex: Sample[];

async function samplesOf(as: DemoUserName): Promise<Sample[]> {
  const response = await t.graphql(SAMPLES, {}, { as });
  expect(response.body.errors).toBeUndefined();
  const { viewer, products, orders } = response.body.data!;
  const order = orders.nodes[0];
  const item = order.items[0];
  return [
    { __typename: 'Product', ...products.nodes[0] },
    { __typename: 'Order', id: order.id, status: order.status },
    { __typename: 'OrderItem', ...item },
    { __typename: 'User', ...viewer.user },
    { __typename: 'Tenant', ...viewer.tenant },
  ];
}

beforeAll(async () => {
  t = await startTestApp();
  acme = await samplesOf('acme/alice');
  globex = await samplesOf('globex/dave');
});
afterAll(() => t.close());

const UNKNOWN_PRODUCT = 'prod_01h455vb4pex5vsknk084sn02q';
const UNKNOWN_ORDER = 'ord_01h455vb4pex5vsknk084sn02q';

describe('node(id)', () => {
  it.each(['Product', 'Order', 'OrderItem', 'User', 'Tenant'])(
    'returns a %s by its id, with the right __typename',
    async (typename) => {
      const sample = acme.find((node) => node.__typename === typename)!;
      const response = await t.graphql(NODE, { id: sample.id }, { as: 'acme/alice' });
      expect(response.body).toEqual({ data: { node: sample } });
    },
  );

  it.each(['Product', 'Order', 'OrderItem', 'User', 'Tenant'])(
    'is null for another tenant’s %s',
    async (typename) => {
      const sample = globex.find((node) => node.__typename === typename)!;
      const response = await t.graphql(NODE, { id: sample.id }, { as: 'acme/alice' });
      expect(response.body).toEqual({ data: { node: null } });
    },
  );

  it.each([UNKNOWN_PRODUCT, UNKNOWN_ORDER, 'usr_01h455vb4pex5vsknk084sn02q'])(
    'is null for the well-formed id %s that matches nothing',
    async (id) => {
      const response = await t.graphql(NODE, { id }, { as: 'acme/alice' });
      expect(response.body).toEqual({ data: { node: null } });
    },
  );

  it('is null for an anonymous caller', async () => {
    const product = acme.find((node) => node.__typename === 'Product')!;
    const response = await t.graphql(NODE, { id: product.id });
    expect(response.body).toEqual({ data: { node: null } });
  });

  it.each([
    ['nope', '"nope" is not a valid ID.'],
    ['', '"" is not a valid ID.'],
    ['prod_', '"prod_" is not a valid ID.'],
    ['zzz_01h455vb4pex5vsknk084sn02q', '"zzz_01h455vb4pex5vsknk084sn02q" is not a valid ID.'],
    ['PROD_01H455VB4PEX5VSKNK084SN02Q', '"PROD_01H455VB4PEX5VSKNK084SN02Q" is not a valid ID.'],
    // The first character of a TypeID suffix is at most 7: anything above overflows 128 bits.
    ['prod_81h455vb4pex5vsknk084sn02q', '"prod_81h455vb4pex5vsknk084sn02q" is not a valid ID.'],
    [`prod_${'a'.repeat(5000)}`, '"prod_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…" is not a valid ID.'],
  ])('refuses the malformed id %j with BAD_USER_INPUT', async (id, message) => {
    const response = await t.graphql(NODE, { id }, { as: 'acme/alice' });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ node: null });
    expect(errorsOf(response)).toEqual([
      { message, path: ['node'], extensions: { code: 'BAD_USER_INPUT' } },
    ]);
  });
});

describe('nodes(ids)', () => {
  it('returns the objects in the order of the ids, null for unknown ones', async () => {
    const [product, order, item, user, tenant] = acme as [Sample, Sample, Sample, Sample, Sample];
    const ids = [
      tenant.id,
      UNKNOWN_PRODUCT,
      item.id,
      product.id,
      user.id,
      UNKNOWN_ORDER,
      order.id,
      product.id,
    ];
    const response = await t.graphql(NODES, { ids }, { as: 'acme/alice' });
    expect(response.body).toEqual({
      data: { nodes: [tenant, null, item, product, user, null, order, product] },
    });
    // The transaction's set-up statement, then one SELECT per node type.
    expect(response.sqlStatements).toBe(1 + 5);
  });

  it('loads each type with one statement however many ids there are', async () => {
    const products = await t.graphql(
      /* GraphQL */ `query ProductIds { products(first: 30) { nodes { id } } }`,
      {},
      { as: 'acme/alice' },
    );
    const ids = products.body.data!.products.nodes.map((node: { id: string }) => node.id);
    const one = await t.graphql(NODES, { ids: ids.slice(0, 1) }, { as: 'acme/alice' });
    const many = await t.graphql(NODES, { ids }, { as: 'acme/alice' });
    expect(many.body.data!.nodes.map((node: Sample) => node.id)).toEqual(ids);
    expect(one.sqlStatements).toBe(2);
    expect(many.sqlStatements).toBe(2);
  });

  it('gives null for every object of another tenant', async () => {
    const ids = globex.map((node) => node.id);
    const response = await t.graphql(NODES, { ids }, { as: 'acme/alice' });
    expect(response.body).toEqual({ data: { nodes: [null, null, null, null, null] } });
  });

  it('returns an empty list for no ids', async () => {
    const response = await t.graphql(NODES, { ids: [] }, { as: 'acme/alice' });
    expect(response.body).toEqual({ data: { nodes: [] } });
  });

  it('accepts 100 ids', async () => {
    const product = acme[0]!;
    const response = await t.graphql(
      NODES,
      { ids: Array.from({ length: 100 }, () => product.id) },
      { as: 'acme/alice' },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data!.nodes).toEqual(Array.from({ length: 100 }, () => product));
  });

  it('refuses 101 ids with BAD_USER_INPUT', async () => {
    const response = await t.graphql(
      NODES,
      { ids: Array.from({ length: 101 }, () => UNKNOWN_PRODUCT) },
      { as: 'acme/alice' },
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toBeNull();
    expect(errorsOf(response)).toEqual([
      {
        message: 'nodes(ids:) takes at most 100 ids; got 101.',
        path: ['nodes'],
        extensions: { code: 'BAD_USER_INPUT', field: ['ids'] },
      },
    ]);
  });

  it('refuses a list with a malformed id with BAD_USER_INPUT naming it', async () => {
    const product = acme[0]!;
    const response = await t.graphql(
      NODES,
      { ids: [product.id, 'not-an-id'] },
      { as: 'acme/alice' },
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toBeNull();
    expect(errorsOf(response)).toEqual([
      {
        message: '"not-an-id" is not a valid ID.',
        path: ['nodes'],
        extensions: { code: 'BAD_USER_INPUT' },
      },
    ]);
  });
});
