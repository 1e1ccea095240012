/**
 * Tenant isolation through the API, proven by walking the schema instead of listing fields:
 *
 * 1. every field and mutation that takes an ID (an argument, or a field of an input object at
 *    any depth) is called by acme's admin, the most privileged caller of another tenant, with
 *    a globex id of the right type in that slot: it must resolve to nothing (null, an empty
 *    list, or NOT_FOUND), never FORBIDDEN (which would confirm the id exists), never globex
 *    data, and no row of either tenant may change;
 * 2. every list reachable from the root is read in full as acme's admin: the ids in the
 *    responses are exactly acme's rows.
 *
 * The fields come from `schema`, so a field added later is covered without editing this
 * file, and one the walk cannot exercise fails the test rather than being skipped.
 */
import { buildOperationNodeForField } from '@graphql-tools/utils';
import { eq, sql } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import {
  assertInterfaceType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  getNamedType,
  getNullableType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  isRequiredArgument,
  isRequiredInputField,
  isScalarType,
  Kind,
  OperationTypeNode,
  print,
  type SelectionSetNode,
  visit,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiKeys,
  auditEvents,
  orderItems,
  orders,
  products,
  tenants,
  users,
  webhookDeliveries,
  webhookEndpoints,
} from '../src/db/schema.ts';
import { IdPrefix, newId } from '../src/ids.ts';
import { schema } from '../src/schema/index.ts';
import { emitWebhookEvent } from '../src/webhooks/events.ts';
import { newSigningSecret } from '../src/webhooks/signing.ts';
import { type GraphQLResponse, startTestApp, type TestApp } from './helpers/app.ts';
import { newClientMutationId } from './helpers/keys.ts';

// biome-ignore lint/suspicious/noExplicitAny: response data is untyped JSON (see helpers/app.ts)
type Json = any;
type Tenant = 'acme' | 'globex';

/** The tables behind the Node types, so that ids of the right type come from real rows. */
const TABLES: Record<string, { table: PgTable; id: AnyPgColumn; tenant: AnyPgColumn }> = {
  Tenant: { table: tenants, id: tenants.id, tenant: tenants.id },
  User: { table: users, id: users.id, tenant: users.tenantId },
  Product: { table: products, id: products.id, tenant: products.tenantId },
  Order: { table: orders, id: orders.id, tenant: orders.tenantId },
  OrderItem: { table: orderItems, id: orderItems.id, tenant: orderItems.tenantId },
  // Not a Node (node(id:) does not route to it), but ids name it: revokeApiKey(input.id).
  ApiKey: { table: apiKeys, id: apiKeys.id, tenant: apiKeys.tenantId },
  // No id slot names it; its rows are listed by auditEvents.
  AuditEvent: { table: auditEvents, id: auditEvents.id, tenant: auditEvents.tenantId },
  WebhookEndpoint: {
    table: webhookEndpoints,
    id: webhookEndpoints.id,
    tenant: webhookEndpoints.tenantId,
  },
  WebhookDelivery: {
    table: webhookDeliveries,
    id: webhookDeliveries.id,
    tenant: webhookDeliveries.tenantId,
  },
};

/** Sample values for required non-ID arguments and input fields, by scalar. */
const SCALAR_SAMPLES: Record<string, unknown> = {
  Int: 1,
  Float: 1,
  String: 'x',
  Boolean: true,
  DateTime: '2024-01-01T00:00:00.000Z',
};

/**
 * The Relay mutation echo: an opaque client string typed `ID`, not a reference to an
 * object, so it is no slot (and a globex id in it would come back by design).
 */
const ECHO_FIELD = 'clientMutationId';

const NODE_TYPES = schema
  .getPossibleTypes(assertInterfaceType(schema.getType('Node')))
  .map((type) => type.name)
  .sort();

/** Types an ID slot can name: the Nodes, and the objects that are looked up by id elsewhere. */
const ID_TYPES = [...NODE_TYPES, 'ApiKey'];

/** A place in the variables that holds an id of `typename` owned by `tenant`. */
class IdRef {
  constructor(
    readonly tenant: Tenant,
    readonly typename: string,
  ) {}
}

/** A field or input slot the walk found but cannot call; the walk test lists them all. */
class Unexercisable extends Error {}

const isIdType = (type: GraphQLNamedType) => isScalarType(type) && type.name === 'ID';

/** Nodes named by an ID slot: by the field it selects (`id`), or by its name (`productId`). */
function nodeTypesFor(slotName: string, field: GraphQLField<unknown, unknown>): string[] {
  const base = slotName.replace(/Ids?$/, '');
  if (/^ids?$/.test(slotName)) {
    const returned = getNamedType(field.type);
    if (ID_TYPES.includes(returned.name)) return [returned.name];
    if (isInterfaceType(returned)) {
      return schema.getPossibleTypes(returned).map((type) => type.name);
    }
    // A mutation payload: its id names the object the payload returns, or the one whose id
    // a deletion returns (`deletedWebhookEndpointId`).
    if (isObjectType(returned)) {
      return [
        ...new Set(
          Object.values(returned.getFields())
            .map(
              (payloadField) =>
                /^deleted(\w+)Id$/.exec(payloadField.name)?.[1] ??
                getNamedType(payloadField.type).name,
            )
            .filter((name) => ID_TYPES.includes(name)),
        ),
      ];
    }
    return [];
  }
  const capitalized = base.charAt(0).toUpperCase() + base.slice(1);
  if (ID_TYPES.includes(capitalized)) return [capitalized];
  // `deliveryId` names the one Node whose name ends so (WebhookDelivery).
  const suffixed = NODE_TYPES.filter((name) => name.endsWith(capitalized));
  if (suffixed.length === 1) return suffixed;
  // `customerId` names the Node that some object's `customer` field returns.
  return [
    ...new Set(
      Object.values(schema.getTypeMap())
        .filter(isObjectType)
        .flatMap((type) => {
          const related = type.getFields()[base];
          return related ? [getNamedType(related.type).name] : [];
        })
        .filter((name) => ID_TYPES.includes(name)),
    ),
  ];
}

/**
 * Paths (in input-value segments, list items as '0') to every ID slot of one argument. An
 * input type that contains itself (`and: [Filter!]`) is followed once per path.
 */
function idSlots(
  name: string,
  type: GraphQLInputType,
  path: string[],
  within: ReadonlySet<string> = new Set(),
): string[][] {
  const nullable = getNullableType(type);
  if (isListType(nullable)) return idSlots(name, nullable.ofType, [...path, '0'], within);
  if (isIdType(nullable)) return name === ECHO_FIELD ? [] : [path];
  if (isInputObjectType(nullable) && !within.has(nullable.name)) {
    const inside = new Set([...within, nullable.name]);
    return Object.values(nullable.getFields()).flatMap((inputField) =>
      idSlots(inputField.name, inputField.type, [...path, inputField.name], inside),
    );
  }
  return [];
}

/**
 * A value of `type` with its required parts filled: the slot at `target` (the rest of its
 * path) gets `slotId`, every other required ID an acme id of its type, scalars and enums a
 * sample, lists one element.
 */
function inputValue(
  type: GraphQLInputType,
  name: string,
  field: GraphQLField<unknown, unknown>,
  target: string[] | null,
  slotId: IdRef,
): unknown {
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    return [inputValue(nullable.ofType, name, field, target?.slice(1) ?? null, slotId)];
  }
  if (isIdType(nullable)) {
    if (target) return slotId;
    const [typename] = nodeTypesFor(name, field);
    if (!typename) throw new Unexercisable(`no Node type for the required id "${name}"`);
    return new IdRef('acme', typename);
  }
  if (isEnumType(nullable)) {
    // Seeded products are priced in USD among others; the first value otherwise.
    const values = nullable.getValues().map((value) => value.name);
    return values.includes('USD') ? 'USD' : values[0];
  }
  if (isScalarType(nullable)) {
    if (!(nullable.name in SCALAR_SAMPLES)) {
      throw new Unexercisable(`no sample value for the scalar ${nullable.name} of "${name}"`);
    }
    return SCALAR_SAMPLES[nullable.name];
  }
  if (isInputObjectType(nullable)) {
    const value: Record<string, unknown> = {};
    for (const inputField of Object.values(nullable.getFields())) {
      const onPath = target?.[0] === inputField.name;
      if (inputField.name === ECHO_FIELD) {
        // createOrder and createProduct require one (an idempotency key); a fresh one per
        // call, so that no case replays another's answer.
        value[inputField.name] = newClientMutationId('isolation');
      } else if (onPath || isRequiredInputField(inputField)) {
        value[inputField.name] = inputValue(
          inputField.type,
          inputField.name,
          field,
          onPath ? target!.slice(1) : null,
          slotId,
        );
      }
    }
    return value;
  }
  throw new Unexercisable(`cannot build a value of ${String(type)}`);
}

/** Required arguments filled, plus the one holding the slot (first segment of `slot`). */
function argumentsFor(
  field: GraphQLField<unknown, unknown>,
  slot: string[] | null,
  slotId: IdRef,
): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const arg of field.args) {
    const onPath = slot?.[0] === arg.name;
    if (onPath || isRequiredArgument(arg)) {
      args[arg.name] = inputValue(
        arg.type,
        arg.name,
        field,
        onPath ? slot!.slice(1) : null,
        slotId,
      );
    }
  }
  return args;
}

/** `__typename`, the id, the userErrors of a payload and the id of every object field. */
function selectionOf(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  if (!isObjectType(named) && !isInterfaceType(named)) {
    return isCompositeType(named) ? '{ __typename }' : '';
  }
  const fields = named.getFields();
  const parts = ['__typename'];
  if (fields.id) parts.push('id');
  if (fields.userErrors) parts.push('userErrors { code field }');
  for (const child of Object.values(fields)) {
    const inner = getNamedType(child.type);
    const hasId = (isObjectType(inner) || isInterfaceType(inner)) && 'id' in inner.getFields();
    if (child.name !== 'userErrors' && hasId && !child.args.some(isRequiredArgument)) {
      parts.push(`${child.name} { __typename id }`);
    }
  }
  return `{ ${parts.join(' ')} }`;
}

/** The shortest field path from Query to each object type, through fields without required arguments. */
function pathsFromQuery(): Map<string, string[]> {
  const queryType = schema.getQueryType()!;
  const paths = new Map<string, string[]>([[queryType.name, []]]);
  const queue: GraphQLObjectType[] = [queryType];
  for (let type = queue.shift(); type; type = queue.shift()) {
    for (const child of Object.values(type.getFields())) {
      const inner = getNamedType(child.type);
      if (!isObjectType(inner) || paths.has(inner.name) || child.args.some(isRequiredArgument)) {
        continue;
      }
      paths.set(inner.name, [...paths.get(type.name)!, child.name]);
      queue.push(inner);
    }
  }
  return paths;
}

interface IdCase {
  /** `Type.field(slot.path) ← Typename`, for test names and failure messages. */
  label: string;
  kind: OperationTypeNode;
  /** Fields from the root to the object holding the field (empty for root fields). */
  ownerPath: string[];
  field: GraphQLField<unknown, unknown>;
  slot: string[];
  args: Record<string, unknown>;
}

/** Every (field, ID slot, Node type) in the schema, and what the walk could not call. */
function discoverIdCases(): { cases: IdCase[]; unexercisable: string[] } {
  const cases: IdCase[] = [];
  const unexercisable: string[] = [];
  const paths = pathsFromQuery();
  const mutationType = schema.getMutationType();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const isMutation = type === mutationType;
    const ownerPath = isMutation ? [] : paths.get(type.name);
    for (const field of Object.values(type.getFields())) {
      for (const slot of field.args.flatMap((arg) => idSlots(arg.name, arg.type, [arg.name]))) {
        const where = `${type.name}.${field.name}(${slot.join('.')})`;
        if (!ownerPath) {
          unexercisable.push(`${where}: ${type.name} is not reachable from Query`);
          continue;
        }
        const slotName = slot.filter((segment) => segment !== '0').at(-1)!;
        const typenames = nodeTypesFor(slotName, field);
        if (typenames.length === 0) unexercisable.push(`${where}: no Node type for "${slotName}"`);
        for (const typename of typenames) {
          const label = `${where} ← ${typename}`;
          if (!TABLES[typename]) {
            unexercisable.push(`${label}: no table to take a globex ${typename} from`);
            continue;
          }
          try {
            cases.push({
              label,
              kind: isMutation ? OperationTypeNode.MUTATION : OperationTypeNode.QUERY,
              ownerPath,
              field,
              slot,
              args: argumentsFor(field, slot, new IdRef('globex', typename)),
            });
          } catch (error) {
            if (!(error instanceof Unexercisable)) throw error;
            unexercisable.push(`${label}: ${error.message}`);
          }
        }
      }
    }
  }
  return { cases, unexercisable };
}

function documentFor(c: IdCase): string {
  const names = Object.keys(c.args);
  const definitions = names.map(
    (name) => `$${name}: ${String(c.field.args.find((arg) => arg.name === name)!.type)}`,
  );
  const call = `${c.field.name}${names.length ? `(${names.map((name) => `${name}: $${name}`).join(', ')})` : ''} ${selectionOf(c.field.type)}`;
  const body = c.ownerPath.reduceRight((inner, step) => `${step} { ${inner} }`, call);
  return `${c.kind} TenantIsolationWalk${definitions.length ? `(${definitions.join(', ')})` : ''} { ${body} }`;
}

/** Replaces each IdRef with the id of a real row of that tenant and type. */
function resolveRefs(value: unknown): unknown {
  if (value instanceof IdRef) return samples[value.tenant][value.typename];
  if (Array.isArray(value)) return value.map(resolveRefs);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, resolveRefs(inner)]),
    );
  }
  return value;
}

/** The values at `path` in `data`, through lists. */
function valuesAt(data: Json, path: string[]): Json[] {
  let current: Json[] = [data];
  for (const step of path) {
    current = current
      .filter((value) => value != null)
      .flatMap((value) => (Array.isArray(value[step]) ? value[step] : [value[step]]));
  }
  return current;
}

/** Every `id` in a response value. */
function idsIn(value: Json): string[] {
  if (Array.isArray(value)) return value.flatMap(idsIn);
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === 'id' && typeof inner === 'string' ? [inner] : idsIn(inner),
  );
}

const { cases: ID_CASES, unexercisable: UNEXERCISABLE } = discoverIdCases();

let t: TestApp;
/** Every row of each tenant, by Node type, ordered by id. */
let rows: Record<Tenant, Record<string, Record<string, unknown>[]>>;
/** One id per Node type and tenant, chosen so that a leak would show (see sampleIds). */
let samples: Record<Tenant, Record<string, string>>;
let idsOf: Record<Tenant, Set<string>>;

/**
 * Every row of one tenant, read as the privileged connection with the tenant setting (so
 * FORCE'd row-level security shows them whether or not the role is a superuser).
 */
async function rowsOfTenant(tenantId: string): Promise<Record<string, Record<string, unknown>[]>> {
  return t.database.db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
    const result: Record<string, Record<string, unknown>[]> = {};
    for (const [typename, { table, id, tenant }] of Object.entries(TABLES)) {
      result[typename] = await tx.select().from(table).where(eq(tenant, tenantId)).orderBy(id);
    }
    return result;
  });
}

async function bothTenants(): Promise<Record<Tenant, Record<string, Record<string, unknown>[]>>> {
  return {
    acme: await rowsOfTenant(t.ids.tenants.acme!),
    globex: await rowsOfTenant(t.ids.tenants.globex!),
  };
}

/**
 * Ids that would make a leak visible: a pending order with items (confirmOrder and
 * cancelOrder would succeed on it), one of its items and its customer (who has orders to
 * list), and a product in stock (createOrder could buy it).
 */
function sampleIds(tenantRows: Record<string, Record<string, unknown>[]>): Record<string, string> {
  const order = tenantRows.Order!.find(
    (row) =>
      row.status === 'pending' && tenantRows.OrderItem!.some((item) => item.orderId === row.id),
  )!;
  const item = tenantRows.OrderItem!.find((row) => row.orderId === order.id)!;
  const product = tenantRows.Product!.find((row) => (row.stock as number) > 0)!;
  return {
    Tenant: tenantRows.Tenant![0]!.id as string,
    User: order.customerId as string,
    Product: product.id as string,
    Order: order.id as string,
    OrderItem: item.id as string,
    ApiKey: tenantRows.ApiKey![0]!.id as string,
    WebhookEndpoint: tenantRows.WebhookEndpoint![0]!.id as string,
    WebhookDelivery: tenantRows.WebhookDelivery![0]!.id as string,
  };
}

/** An endpoint of each tenant, with a delivery: webhook rows for the walk to find. */
async function addWebhookRows(tenantId: string): Promise<void> {
  await t.database.db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
    await tx.insert(webhookEndpoints).values({
      id: newId(IdPrefix.WebhookEndpoint),
      tenantId,
      url: 'https://hooks.example.com/',
      events: ['order.created'],
      secret: newSigningSecret(),
    });
    await emitWebhookEvent(tx as never, tenantId, 'order.created', { order: {} });
  });
}

beforeAll(async () => {
  t = await startTestApp({
    // The generated operations select whole subtrees with pages of the maximum size: far
    // deeper, larger and costlier than a client's, and those limits are not under test here.
    env: {
      MAX_DEPTH: '100',
      MAX_COST: '1000000000',
      MAX_TOKENS: '1000000',
      MAX_DOCUMENT_SIZE: '10000000',
    },
  });
  await addWebhookRows(t.ids.tenants.acme!);
  await addWebhookRows(t.ids.tenants.globex!);
  // An API key in each tenant, so that revokeApiKey and apiKeys have rows to leak.
  for (const as of ['acme/alice', 'globex/dave'] as const) {
    const created = await t.graphql(
      'mutation Key($input: CreateApiKeyInput!) { createApiKey(input: $input) { userErrors { code } } }',
      { input: { name: `${as} key`, scopes: ['read:products'] } },
      { as },
    );
    expect(created.body.data?.createApiKey.userErrors).toEqual([]);
  }
  rows = await bothTenants();
  samples = { acme: sampleIds(rows.acme), globex: sampleIds(rows.globex) };
  idsOf = {
    acme: new Set(Object.values(rows.acme).flatMap((list) => list.map((row) => row.id as string))),
    globex: new Set(
      Object.values(rows.globex).flatMap((list) => list.map((row) => row.id as string)),
    ),
  };
});
afterAll(() => t.close());

/** Globex ids anywhere in a response's data or error extensions (messages may echo input). */
function globexIdsIn(body: GraphQLResponse['body']): string[] {
  const text = JSON.stringify([body.data, body.errors?.map((error) => error.extensions)]);
  return [...idsOf.globex].filter((id) => text.includes(id));
}

describe('every field and mutation that takes an ID, called by acme with globex ids', () => {
  it('exercises every ID slot in the schema', () => {
    expect(UNEXERCISABLE).toEqual([]);
    // The walk itself must work: these are the slots the schema had when it was written.
    expect(ID_CASES.map((c) => c.label)).toEqual(
      expect.arrayContaining([
        ...NODE_TYPES.map((typename) => `Query.node(id) ← ${typename}`),
        ...NODE_TYPES.map((typename) => `Query.nodes(ids.0) ← ${typename}`),
        'Query.order(id) ← Order',
        'Query.product(id) ← Product',
        'Query.orders(filter.customerId) ← User',
        'User.orders(filter.customerId) ← User',
        'Viewer.orders(filter.customerId) ← User',
        'Mutation.createOrder(input.items.0.productId) ← Product',
        'Mutation.confirmOrder(input.id) ← Order',
        'Mutation.cancelOrder(input.id) ← Order',
        'Mutation.updateProduct(input.id) ← Product',
      ]),
    );
  });

  it.each(ID_CASES.map((c) => [c.label, c] as const))(
    '%s resolves to nothing of globex, not FORBIDDEN, and changes no row',
    async (label, c) => {
      const response = await t.graphql(documentFor(c), resolveRefs(c.args) as never, {
        as: 'acme/alice',
      });
      const codes = (response.body.errors ?? []).map((error) => error.extensions?.code);
      expect(
        codes.filter((code) => code !== 'NOT_FOUND'),
        label,
      ).toEqual([]);
      expect(globexIdsIn(response.body), label).toEqual([]);

      const values = valuesAt(response.body.data, [...c.ownerPath, c.field.name]);
      expect(values.length > 0 || codes.includes('NOT_FOUND'), label).toBe(true);
      for (const value of values) {
        if (value && typeof value === 'object' && 'userErrors' in value) {
          const { userErrors, ...rest } = value;
          expect(userErrors, label).toEqual([{ code: 'NOT_FOUND', field: c.slot }]);
          expect(idsIn(rest), label).toEqual([]);
        } else {
          expect(idsIn(value), label).toEqual([]);
        }
      }

      expect(await bothTenants(), label).toEqual(rows);
    },
  );
});

/** Adds `__typename` to every selection set, so a response can be walked with the schema. */
function withTypenames(selectionSet: SelectionSetNode): SelectionSetNode {
  return visit(selectionSet, {
    SelectionSet: (node) => ({
      ...node,
      selections: [
        { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } },
        ...node.selections,
      ],
    }),
  });
}

/** Fields returning a list of objects, on every type reachable from Query. */
function listFieldsReachableFromQuery(): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const queue: GraphQLNamedType[] = [schema.getQueryType()!];
  for (let type = queue.shift(); type; type = queue.shift()) {
    if (seen.has(type.name) || !(isObjectType(type) || isInterfaceType(type))) continue;
    seen.add(type.name);
    const next: GraphQLNamedType[] = isInterfaceType(type)
      ? [...schema.getPossibleTypes(type)]
      : [];
    for (const child of Object.values(type.getFields())) {
      const inner = getNamedType(child.type);
      const nullable = getNullableType(child.type);
      if (isObjectType(type) && isListType(nullable) && isCompositeType(inner)) {
        found.push(`${type.name}.${child.name}`);
      }
      next.push(inner);
    }
    queue.push(...next);
  }
  return found.sort();
}

/** Records each `Type.field` holding a non-empty list, and every id, in a response value. */
function walkResponse(value: Json, lists: Set<string>, ids: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) walkResponse(item, lists, ids);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const type = schema.getType(value.__typename);
  for (const [key, inner] of Object.entries<Json>(value)) {
    if (key === 'id' && typeof inner === 'string') ids.add(inner);
    if (Array.isArray(inner) && inner.some((item) => item && typeof item === 'object')) {
      lists.add(`${type?.name}.${key}`);
    }
    walkResponse(inner, lists, ids);
  }
}

interface ListOperation {
  label: string;
  document: string;
  variables: Record<string, unknown>;
}

/**
 * One operation per root query field selecting its whole subtree (each type once per path),
 * with pages of the maximum size; root fields that need ids get acme's, one per Node type.
 */
function discoverListOperations(pageSize: number): {
  operations: ListOperation[];
  unexercisable: string[];
} {
  const operations: ListOperation[] = [];
  const unexercisable: string[] = [];
  for (const field of Object.values(schema.getQueryType()!.getFields())) {
    const slots = field.args
      .filter(isRequiredArgument)
      .flatMap((arg) => idSlots(arg.name, arg.type, [arg.name]));
    const slotName = slots[0]?.filter((segment) => segment !== '0').at(-1);
    const typenames = slots[0] ? nodeTypesFor(slotName!, field) : [null];
    const operation = buildOperationNodeForField({
      schema,
      kind: OperationTypeNode.QUERY,
      field: field.name,
    });
    const document = print({ ...operation, selectionSet: withTypenames(operation.selectionSet) });
    for (const typename of typenames) {
      const label = `Query.${field.name}${typename ? ` ← ${typename}` : ''}`;
      try {
        const args = argumentsFor(field, slots[0] ?? null, new IdRef('acme', typename ?? ''));
        const variables = resolveRefs(args) as Record<string, unknown>;
        for (const definition of operation.variableDefinitions ?? []) {
          const name = definition.variable.name.value;
          if (name in variables) continue;
          if (definition.type.kind === Kind.NON_NULL_TYPE) {
            throw new Unexercisable(`no value for the required variable $${name}`);
          }
          if (/(^|_)first$/.test(name)) variables[name] = pageSize;
        }
        operations.push({ label, document, variables });
      } catch (error) {
        if (!(error instanceof Unexercisable)) throw error;
        unexercisable.push(`${label}: ${error.message}`);
      }
    }
  }
  return { operations, unexercisable };
}

describe('every list reachable from the root, read by acme', () => {
  it("holds exactly acme's rows: none of globex, and every one of acme's", async () => {
    const { operations, unexercisable } = discoverListOperations(t.config.pagination.maxSize);
    expect(unexercisable).toEqual([]);

    const lists = new Set<string>();
    const ids = new Set<string>();
    for (const operation of operations) {
      const response = await t.graphql(operation.document, operation.variables, {
        as: 'acme/alice',
      });
      expect(response.body.errors, operation.label).toBeUndefined();
      walkResponse(response.body.data, lists, ids);
    }

    const listFields = listFieldsReachableFromQuery();
    expect(listFields).toEqual(
      expect.arrayContaining([
        'Query.nodes',
        'ProductConnection.nodes',
        'OrderConnection.nodes',
        'UserConnection.nodes',
        'Order.items',
      ]),
    );
    // Each list was seen holding rows, so each was checked.
    expect(listFields.filter((name) => !lists.has(name))).toEqual([]);
    expect([...ids].filter((id) => idsOf.globex.has(id))).toEqual([]);
    // The rows as they are now: reading dataExport recorded an audit event.
    const acmeNow = Object.values((await bothTenants()).acme).flatMap((list) =>
      list.map((row) => row.id as string),
    );
    expect([...ids].sort()).toEqual(acmeNow.sort());
  });
});
