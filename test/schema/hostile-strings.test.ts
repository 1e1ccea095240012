/**
 * Every text a client can send, through every argument of every field, answers with a clear
 * error or a normal result, never INTERNAL_SERVER_ERROR. The schema is walked (schema.graphql,
 * kept equal to the code by schema.test.ts), so a new field or input is covered the day it is
 * added; a new mutation must add a valid input to VALID_INPUTS below, whose text fields are
 * then made hostile one at a time: replaced by, or (for a valid value, so that it passes the
 * checks of its format) followed by, what reaches PostgreSQL badly: U+0000 (text cannot hold
 * it, and GraphQL allows it in a comment), a lone surrogate (not UTF-8), bidi and zero-width
 * controls, and a long string.
 */
import { readFileSync } from 'node:fs';
import {
  buildSchema,
  type GraphQLField,
  type GraphQLInputType,
  getNamedType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_ORDER } from '../fixtures/operations.ts';
import { type GraphQLResponse, startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));

const HOSTILE: Record<string, string> = {
  'U+0000 alone': '\u0000',
  'U+0000 inside': 'a\u0000b',
  'a lone surrogate': 'a\ud800b',
  'bidi and zero-width controls': '\u202e\u200b\ufeff',
  'a long string': 'x'.repeat(20_000),
};

interface Fixture {
  productId: string;
  orderId: string;
  apiKeyId: string;
  endpointId: string;
  deliveryId: string;
  otherTenantUserId: string;
}

/** A valid input per mutation (acting as acme's admin), which one text field at a time replaces. */
const VALID_INPUTS: Record<string, (f: Fixture) => Record<string, unknown>> = {
  createProduct: () => ({ name: 'Hostile', price: { amount: 100, currency: 'EUR' } }),
  updateProduct: (f) => ({ id: f.productId, description: 'Checked' }),
  createOrder: (f) => ({ items: [{ productId: f.productId, quantity: 1 }] }),
  confirmOrder: (f) => ({ id: f.orderId }),
  cancelOrder: (f) => ({ id: f.orderId }),
  createApiKey: () => ({ name: 'Hostile', scopes: ['read:products'] }),
  revokeApiKey: (f) => ({ id: f.apiKeyId }),
  createWebhookEndpoint: () => ({ url: 'http://127.0.0.1:9/hooks', events: ['ORDER_CREATED'] }),
  updateWebhookEndpoint: (f) => ({
    id: f.endpointId,
    url: 'http://127.0.0.1:9/other',
    description: 'Checked',
  }),
  deleteWebhookEndpoint: (f) => ({ id: f.endpointId }),
  rotateWebhookSecret: (f) => ({ id: f.endpointId }),
  redeliverWebhook: (f) => ({ deliveryId: f.deliveryId }),
  // Another tenant's user: found by no one here, so nobody is erased.
  eraseUser: (f) => ({ id: f.otherTenantUserId }),
  registerPersistedOperation: () => ({ document: 'query Hostile { rateLimit { restoreRate } }' }),
};

const isText = (type: GraphQLInputType) => ['String', 'ID'].includes(getNamedType(type).name);

/** Paths (into an input value of `type`) of every text field, one level of lists deep each. */
function textPaths(
  type: GraphQLInputType,
  prefix: (string | number)[] = [],
): (string | number)[][] {
  const named = getNamedType(type);
  if (!isInputObjectType(named)) return [];
  const paths: (string | number)[][] = [];
  for (const field of Object.values(named.getFields())) {
    const inner = isNonNullType(field.type) ? field.type.ofType : field.type;
    const path = isListType(inner) ? [...prefix, field.name, 0] : [...prefix, field.name];
    if (isText(field.type)) paths.push(path);
    else paths.push(...textPaths(field.type, path));
  }
  return paths;
}

/** The hostile variants of a text field whose valid value (if any) is `valid`. */
function hostileVariants(valid: unknown): [string, string][] {
  const variants = Object.entries(HOSTILE);
  if (typeof valid !== 'string') return variants;
  return [
    ...variants,
    ['its valid value, then U+0000', `${valid}\u0000`],
    ['its valid value, then a comment holding U+0000', `${valid}\n# \u0000`],
  ];
}

function textAt(value: unknown, path: (string | number)[]): unknown {
  let current = value;
  for (const step of path)
    current = (current as Record<string | number, unknown> | undefined)?.[step];
  return current;
}

/** A copy of `value` with `text` at `path` (creating the objects and lists on the way). */
function withTextAt(value: unknown, path: (string | number)[], text: string): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return text;
  if (typeof head === 'number') {
    const list = Array.isArray(value) ? [...value] : [];
    list[head] = withTextAt(list[head] ?? {}, rest, text);
    return list;
  }
  const object = { ...((value ?? {}) as Record<string, unknown>) };
  object[head] = withTextAt(object[head], rest, text);
  return object;
}

function selectionOf(field: GraphQLField<unknown, unknown>): string {
  return isLeafType(getNamedType(field.type)) ? '' : '{ __typename }';
}

function expectHandled(response: GraphQLResponse, what: string) {
  expect(response.status, what).toBeLessThan(500);
  const codes = (response.body.errors ?? []).map((error) => error.extensions?.code);
  expect(codes, what).not.toContain('INTERNAL_SERVER_ERROR');
}

let t: TestApp;
let fixture: Fixture;

beforeAll(async () => {
  t = await startTestApp();
  const as = { as: 'acme/alice' } as const;
  const products = await t.graphql('{ products(first: 1) { nodes { id } } }', {}, as);
  const productId = products.body.data?.products.nodes[0].id;
  const endpoint = await t.graphql(
    `mutation($input: CreateWebhookEndpointInput!) {
      createWebhookEndpoint(input: $input) { webhookEndpoint { id } }
    }`,
    { input: { ...VALID_INPUTS.createWebhookEndpoint!({} as Fixture), clientMutationId: 'e1' } },
    as,
  );
  const order = await t.graphql(
    CREATE_ORDER,
    { input: { items: [{ productId, quantity: 1 }], clientMutationId: newClientMutationId() } },
    as,
  );
  const key = await t.graphql(
    'mutation { createApiKey(input: { name: "Fixture" }) { apiKey { id } } }',
    {},
    as,
  );
  const deliveries = await t.graphql(
    '{ webhookEndpoints(first: 1) { nodes { deliveries(first: 1) { nodes { id } } } } }',
    {},
    as,
  );
  fixture = {
    productId,
    orderId: order.body.data?.createOrder.order.id,
    apiKeyId: key.body.data?.createApiKey.apiKey.id,
    endpointId: endpoint.body.data?.createWebhookEndpoint.webhookEndpoint.id,
    deliveryId: deliveries.body.data?.webhookEndpoints.nodes[0].deliveries.nodes[0].id,
    otherTenantUserId: t.ids.users['globex/dave'],
  };
  expect(Object.values(fixture).every((id) => typeof id === 'string')).toBe(true);
});

afterAll(() => t?.close());

const mutations = Object.values(schema.getMutationType()?.getFields() ?? {});
const queries = Object.values(schema.getQueryType()?.getFields() ?? {});

describe('every mutation', () => {
  it('has a valid input here to vary', () => {
    expect(mutations.map((field) => field.name).sort()).toEqual(Object.keys(VALID_INPUTS).sort());
  });

  it.each(mutations.map((field) => [field.name, field] as const))(
    '%s answers hostile text in each of its input fields without an internal error',
    async (name, field) => {
      const inputArg = field.args.find((arg) => arg.name === 'input');
      expect(inputArg, name).toBeDefined();
      const typeName = getNamedType(inputArg!.type).name;
      const document = `mutation Hostile($input: ${typeName}!) { ${name}(input: $input) ${selectionOf(field)} }`;
      const paths = textPaths(inputArg!.type);
      expect(paths.length, name).toBeGreaterThan(0);
      for (const path of paths) {
        for (const [label, text] of hostileVariants(textAt(VALID_INPUTS[name]!(fixture), path))) {
          // A fresh key each time, so that no variant replays another (some mutations need one).
          const base = { clientMutationId: newClientMutationId(), ...VALID_INPUTS[name]!(fixture) };
          const input = withTextAt(base, path, text);
          const response = await t.graphql(document, { input }, { as: 'acme/alice' });
          expectHandled(response, `${name} input.${path.join('.')} = ${label}`);
        }
      }
    },
  );
});

describe('every query field', () => {
  it.each(
    queries
      .filter((field) => field.args.some((arg) => isText(arg.type) || textPaths(arg.type).length))
      .map((field) => [field.name, field] as const),
  )(
    '%s answers hostile text in each of its arguments without an internal error',
    async (name, field) => {
      const declared = field.args.map((arg) => `$${arg.name}: ${arg.type.toString()}`).join(', ');
      const passed = field.args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
      const document = `query Hostile(${declared}) { ${name}(${passed}) ${selectionOf(field)} }`;
      for (const arg of field.args) {
        const inner = isNonNullType(arg.type) ? arg.type.ofType : arg.type;
        const paths = isText(arg.type) ? [isListType(inner) ? [0] : []] : textPaths(arg.type);
        for (const path of paths) {
          for (const [label, text] of Object.entries(HOSTILE)) {
            // Required arguments other than this one get the same text: they are ids here.
            const variables: Record<string, unknown> = {};
            for (const other of field.args) {
              if (other !== arg && isNonNullType(other.type) && isText(other.type)) {
                variables[other.name] = isListType(other.type.ofType) ? ['x'] : 'x';
              }
            }
            variables[arg.name] = withTextAt(variables[arg.name], path, text);
            const response = await t.graphql(document, variables, { as: 'acme/alice' });
            expectHandled(
              response,
              `${name}(${arg.name}${path.length ? `.${path.join('.')}` : ''}) = ${label}`,
            );
          }
        }
      }
    },
  );
});
