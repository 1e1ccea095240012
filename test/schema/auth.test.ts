/**
 * Field-level authorization (issue 4, items 1 and 2): each rule of the schema, allowed and
 * denied per role and with a token whose `scope` claim narrows the role, through HTTP with
 * exact partial-success bodies; and a walk over the schema proving that every `@auth` in the
 * SDL is the runtime check (they are built from one declaration) and that every guarded
 * field is nullable, so a denial nulls that field only.
 */
import { and, asc, eq, ne } from 'drizzle-orm';
import {
  type GraphQLField,
  type GraphQLNamedType,
  getNamedType,
  isNonNullType,
  isObjectType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orders, products, users } from '../../src/db/schema.ts';
import { authDirectiveArgsOf } from '../../src/schema/auth.ts';
import { schema } from '../../src/schema/index.ts';
import { EMAILS } from '../fixtures/operations.ts';
import {
  type DemoUserName,
  type GraphQLResponse,
  startTestApp,
  type TestApp,
} from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const SCOPES = /* GraphQL */ `
  query Scopes {
    viewer { scopes }
  }
`;

const COST_PRICE = /* GraphQL */ `
  query CostPrice($id: ID!) {
    product(id: $id) {
      name
      costPrice { amount currency }
    }
  }
`;

const ORDER_BY_ID = /* GraphQL */ `
  query OrderById($id: ID!) {
    order(id: $id) { id customer { username } }
    node(id: $id) { id }
  }
`;

const ORDERS_OF_USER = /* GraphQL */ `
  query OrdersOfUser($id: ID!) {
    node(id: $id) {
      ... on User {
        username
        orders(first: 100) { nodes { customer { username } } }
      }
    }
  }
`;

const USERS = /* GraphQL */ `
  query Users {
    viewer { scopes }
    users(first: 10) { nodes { username } }
  }
`;

const CREATE_PRODUCT_AND_ORDER = /* GraphQL */ `
  mutation CreateProductAndOrder($product: CreateProductInput!, $order: CreateOrderInput!) {
    createProduct(input: $product) { product { name } userErrors { code } }
    createOrder(input: $order) { order { status } userErrors { code } }
  }
`;

const CONFIRM_AND_CANCEL = /* GraphQL */ `
  mutation ConfirmAndCancel($id: ID!) {
    confirmOrder(input: { id: $id }) { order { status } userErrors { code } }
    cancelOrder(input: { id: $id }) { order { status } userErrors { code } }
  }
`;

const ALL_SCOPES = [
  'admin:api-keys',
  'admin:persisted-operations',
  'admin:privacy',
  'admin:webhooks',
  'read:orders',
  'read:pii',
  'read:products',
  'read:users',
  'write:orders',
  'write:products',
];

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

type Caller = DemoUserName | { user: DemoUserName; scopes: string[] };

/** A request as a demo user, or as one whose token narrows its role to `scopes`. */
async function as(caller: Caller, query: string, variables: Record<string, unknown> = {}) {
  if (typeof caller === 'string') return t.graphql(query, variables, { as: caller });
  const token = await t.token(caller.user, { scopes: caller.scopes });
  return t.graphql(query, variables, { authorization: `Bearer ${token}` });
}

/** The error a denied field gets, exactly. */
function denied(
  response: GraphQLResponse,
  path: (string | number)[],
  message: string,
  line: number,
  column: number,
  code = 'FORBIDDEN',
) {
  return {
    message,
    locations: [{ line, column }],
    path,
    extensions: { code, requestId: response.headers.get('x-request-id') },
  };
}

async function firstOrderOf(user: DemoUserName) {
  const [order] = await t.database.db
    .select({ id: orders.id })
    .from(orders)
    .where(eq(orders.customerId, t.ids.users[user]))
    .orderBy(asc(orders.id))
    .limit(1);
  if (!order) throw new Error(`the seed has no order of ${user}`);
  return order.id;
}

async function usernamesOfOrders(tenant: string, customer?: DemoUserName) {
  const rows = await t.database.db
    .select({ username: users.username })
    .from(orders)
    .innerJoin(users, eq(users.id, orders.customerId))
    .where(
      and(
        eq(orders.tenantId, t.ids.tenants[tenant]!),
        customer ? eq(orders.customerId, t.ids.users[customer]) : undefined,
      ),
    );
  return rows.map((row) => row.username);
}

describe('role scopes and token narrowing', () => {
  it.each([
    ['acme/alice', ALL_SCOPES],
    ['acme/bob', ['read:orders', 'read:products', 'write:orders']],
    ['acme/carol', ['read:products']],
  ] as const)('gives %s its role default scopes', async (user, scopes) => {
    const response = await as(user, SCOPES);
    expect(response.body).toEqual({ data: { viewer: { scopes } } });
  });

  it("narrows an admin's scopes to the token's scope claim", async () => {
    const response = await as({ user: 'acme/alice', scopes: ['read:orders', 'read:pii'] }, SCOPES);
    expect(response.body).toEqual({ data: { viewer: { scopes: ['read:orders', 'read:pii'] } } });
  });

  it("never widens: a viewer's token asking for admin scopes keeps only what the role grants", async () => {
    const response = await as(
      {
        user: 'acme/carol',
        scopes: ['read:products', 'read:orders', 'read:users', 'write:products'],
      },
      SCOPES,
    );
    expect(response.body).toEqual({ data: { viewer: { scopes: ['read:products'] } } });
  });

  it('a token asking only for scopes the role lacks has no scopes at all', async () => {
    const response = await as({ user: 'acme/bob', scopes: ['read:users', 'read:pii'] }, SCOPES);
    expect(response.body).toEqual({ data: { viewer: { scopes: [] } } });
  });
});

describe('User.email: read:pii, or being that user', () => {
  const emailsOf = (visible: Record<string, boolean>) =>
    ['alice', 'bob', 'carol'].map((username) => ({
      username,
      email: visible[username] ? `${username}@acme.example` : null,
    }));
  const ids = () => [t.ids.users['acme/alice'], t.ids.users['acme/bob'], t.ids.users['acme/carol']];

  it('shows an admin every email', async () => {
    const response = await as('acme/alice', EMAILS, { ids: ids() });
    expect(response.body).toEqual({
      data: { nodes: emailsOf({ alice: true, bob: true, carol: true }) },
    });
  });

  it.each([
    ['a member', 'acme/bob' as Caller, 'bob'],
    ['a viewer', 'acme/carol' as Caller, 'carol'],
    [
      'an admin whose token drops read:pii',
      { user: 'acme/alice', scopes: ['read:users'] } as Caller,
      'alice',
    ],
    [
      'a member whose token is narrowed to read:products',
      { user: 'acme/bob', scopes: ['read:products'] } as Caller,
      'bob',
    ],
  ])(
    'shows %s only their own email; the others are null and FORBIDDEN',
    async (_who, caller, self) => {
      const response = await as(caller, EMAILS, { ids: ids() });
      const others = ['alice', 'bob', 'carol']
        .map((username, index) => [username, index] as const)
        .filter(([username]) => username !== self);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        data: { nodes: emailsOf({ [self]: true }) },
        errors: others.map(([, index]) =>
          denied(
            response,
            ['nodes', index, 'email'],
            'Not authorized to resolve User.email',
            4,
            30,
          ),
        ),
      });
    },
  );
});

describe('Product.costPrice: the admin role', () => {
  async function product() {
    const [row] = await t.database.db
      .select()
      .from(products)
      .where(eq(products.tenantId, t.ids.tenants.acme!))
      .orderBy(asc(products.id))
      .limit(1);
    return row!;
  }

  it.each([
    ['an admin', 'acme/alice' as Caller],
    [
      'an admin whose token is narrowed to read:products (a role rule, not a scope)',
      { user: 'acme/alice', scopes: ['read:products'] } as Caller,
    ],
  ])('is shown to %s', async (_who, caller) => {
    const row = await product();
    const response = await as(caller, COST_PRICE, { id: row.id });
    expect(response.body).toEqual({
      data: {
        product: { name: row.name, costPrice: { amount: row.costCents, currency: row.currency } },
      },
    });
  });

  it.each([
    ['a member', 'acme/bob' as Caller],
    ['a viewer', 'acme/carol' as Caller],
    [
      'a viewer whose token asks for write:products',
      { user: 'acme/carol', scopes: ['read:products', 'write:products'] } as Caller,
    ],
  ])('is null and FORBIDDEN for %s, with the rest of the product', async (_who, caller) => {
    const row = await product();
    const response = await as(caller, COST_PRICE, { id: row.id });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: { product: { name: row.name, costPrice: null } },
      errors: [
        denied(
          response,
          ['product', 'costPrice'],
          'Not authorized to resolve Product.costPrice',
          5,
          7,
        ),
      ],
    });
  });
});

describe("other customers' orders: read:orders and at least the member role", () => {
  it.each([
    ['the customer, a viewer', 'acme/carol' as Caller],
    ['the customer, whose token drops every scope', { user: 'acme/carol', scopes: [] } as Caller],
    ['a member', 'acme/bob' as Caller],
    ['an admin', 'acme/alice' as Caller],
  ])("shows carol's order to %s", async (_who, caller) => {
    const id = await firstOrderOf('acme/carol');
    const response = await as(caller, ORDER_BY_ID, { id });
    expect(response.body).toEqual({
      data: { order: { id, customer: { username: 'carol' } }, node: { id } },
    });
  });

  it.each([
    ['a viewer', 'acme/carol' as Caller, 'acme/bob' as DemoUserName],
    [
      'a viewer whose token asks for read:orders',
      { user: 'acme/carol', scopes: ['read:orders'] } as Caller,
      'acme/bob' as DemoUserName,
    ],
    [
      'a member whose token drops read:orders',
      { user: 'acme/bob', scopes: ['read:products', 'write:orders'] } as Caller,
      'acme/carol' as DemoUserName,
    ],
  ])(
    "hides another customer's order from %s as not found (null, no error)",
    async (_who, caller, customer) => {
      const id = await firstOrderOf(customer);
      const response = await as(caller, ORDER_BY_ID, { id });
      expect(response.body).toEqual({ data: { order: null, node: null } });
    },
  );

  it("lists only a viewer's own orders, the whole tenant's for a member", async () => {
    const query = /* GraphQL */ `
      query { orders(first: 100) { nodes { customer { username } } } }
    `;
    const carol = await as('acme/carol', query);
    expect(
      carol.body.data?.orders.nodes
        .map((node: { customer: { username: string } }) => node.customer.username)
        .sort(),
    ).toEqual((await usernamesOfOrders('acme', 'acme/carol')).sort());
    const bob = await as('acme/bob', query);
    const all = (await usernamesOfOrders('acme')).sort();
    expect(all.length).toBeLessThanOrEqual(100);
    expect(new Set(all).size).toBeGreaterThan(1);
    expect(
      bob.body.data?.orders.nodes
        .map((node: { customer: { username: string } }) => node.customer.username)
        .sort(),
    ).toEqual(all);
    const narrowed = await as({ user: 'acme/bob', scopes: ['read:products'] }, query);
    expect(
      narrowed.body.data?.orders.nodes
        .map((node: { customer: { username: string } }) => node.customer.username)
        .sort(),
    ).toEqual((await usernamesOfOrders('acme', 'acme/bob')).sort());
  });

  it('makes User.orders of someone else null and FORBIDDEN for a viewer, with the rest of the user', async () => {
    const response = await as('acme/carol', ORDERS_OF_USER, { id: t.ids.users['acme/bob'] });
    expect(response.body).toEqual({
      data: { node: { username: 'bob', orders: null } },
      errors: [denied(response, ['node', 'orders'], 'Not authorized to resolve User.orders', 6, 9)],
    });
  });

  it('shows User.orders to the user themself and to a member', async () => {
    const own = (await usernamesOfOrders('acme', 'acme/carol')).map((username) => ({
      customer: { username },
    }));
    for (const caller of ['acme/carol', 'acme/bob'] as const) {
      const response = await as(caller, ORDERS_OF_USER, { id: t.ids.users['acme/carol'] });
      expect(response.body).toEqual({
        data: { node: { username: 'carol', orders: { nodes: own } } },
      });
    }
  });
});

describe('users: the admin role and read:users', () => {
  it('lists the tenant users for an admin', async () => {
    const response = await as('acme/alice', USERS);
    expect(response.body).toEqual({
      data: {
        viewer: { scopes: ALL_SCOPES },
        users: { nodes: [{ username: 'alice' }, { username: 'bob' }, { username: 'carol' }] },
      },
    });
  });

  it.each([
    ['a member', 'acme/bob' as Caller, ['read:orders', 'read:products', 'write:orders']],
    [
      'a viewer asking for read:users',
      { user: 'acme/carol', scopes: ['read:users'] } as Caller,
      [],
    ],
    [
      'an admin whose token drops read:users',
      { user: 'acme/alice', scopes: ['read:pii'] } as Caller,
      ['read:pii'],
    ],
  ])('is null and FORBIDDEN for %s, with the rest of the data', async (_who, caller, scopes) => {
    const response = await as(caller, USERS);
    expect(response.body).toEqual({
      data: { viewer: { scopes }, users: null },
      errors: [denied(response, ['users'], 'Not authorized to resolve Query.users', 4, 5)],
    });
  });
});

describe('mutations: each needs its write scope', () => {
  const variables = async () => {
    const [row] = await t.database.db
      .select({ id: products.id })
      .from(products)
      .where(
        and(
          eq(products.tenantId, t.ids.tenants.acme!),
          eq(products.currency, 'USD'),
          ne(products.stock, 0),
        ),
      )
      .limit(1);
    return {
      product: {
        clientMutationId: newClientMutationId('product'),
        name: 'Field Auth Mug',
        price: { amount: 500, currency: 'USD' },
      },
      order: {
        clientMutationId: newClientMutationId('order'),
        items: [{ productId: row!.id, quantity: 1 }],
      },
    };
  };

  const mugs = async () =>
    (
      await t.database.db
        .select({ id: products.id })
        .from(products)
        .where(eq(products.name, 'Field Auth Mug'))
    ).length;

  it('runs the mutation the token allows and refuses the other, in one response (the new product is unreadable without read:products)', async () => {
    const before = await mugs();
    const response = await as(
      { user: 'acme/alice', scopes: ['write:products'] },
      CREATE_PRODUCT_AND_ORDER,
      await variables(),
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: {
        createProduct: { product: null, userErrors: [] },
        createOrder: null,
      },
      errors: [
        denied(
          response,
          ['createProduct', 'product', 'name'],
          'Not authorized to read fields for Product',
          3,
          48,
        ),
        denied(response, ['createOrder'], 'Not authorized to resolve Mutation.createOrder', 4, 5),
      ],
    });
    expect(await mugs()).toBe(before + 1);
  });

  it('lets a member place an order but not create a product', async () => {
    const response = await as('acme/bob', CREATE_PRODUCT_AND_ORDER, await variables());
    expect(response.body).toEqual({
      data: { createProduct: null, createOrder: { order: { status: 'pending' }, userErrors: [] } },
      errors: [
        denied(
          response,
          ['createProduct'],
          'Not authorized to resolve Mutation.createProduct',
          3,
          5,
        ),
      ],
    });
  });

  it.each([
    ['a viewer', 'acme/carol' as Caller],
    [
      'a member whose token drops write:orders',
      { user: 'acme/bob', scopes: ['read:orders', 'read:products'] } as Caller,
    ],
  ])('refuses confirmOrder and cancelOrder to %s, changing nothing', async (_who, caller) => {
    const id = await firstOrderOf('acme/carol');
    const [before] = await t.database.db.select().from(orders).where(eq(orders.id, id));
    const response = await as(caller, CONFIRM_AND_CANCEL, { id });
    expect(response.body).toEqual({
      data: { confirmOrder: null, cancelOrder: null },
      errors: [
        denied(response, ['confirmOrder'], 'Not authorized to resolve Mutation.confirmOrder', 3, 5),
        denied(response, ['cancelOrder'], 'Not authorized to resolve Mutation.cancelOrder', 4, 5),
      ],
    });
    const [after] = await t.database.db.select().from(orders).where(eq(orders.id, id));
    expect(after).toEqual(before);
  });

  it('tells an anonymous caller to authenticate, per field', async () => {
    const response = await t.graphql(CREATE_PRODUCT_AND_ORDER, await variables());
    expect(response.body).toEqual({
      data: { createProduct: null, createOrder: null },
      errors: [
        denied(
          response,
          ['createProduct'],
          'Authentication is required for this field.',
          3,
          5,
          'UNAUTHENTICATED',
        ),
        denied(
          response,
          ['createOrder'],
          'Authentication is required for this field.',
          4,
          5,
          'UNAUTHENTICATED',
        ),
      ],
    });
  });
});

describe('the @auth directives of the schema', () => {
  type Guarded = { name: string; args: unknown; check: unknown; nullable?: boolean };

  function authOf(thing: GraphQLNamedType | GraphQLField<unknown, unknown>) {
    const extensions = thing.extensions as {
      directives?: { auth?: unknown };
      pothosOptions?: { authScopes?: unknown };
    };
    return { args: extensions.directives?.auth, check: extensions.pothosOptions?.authScopes };
  }

  function guarded(): Guarded[] {
    const found: Guarded[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      const { args, check } = authOf(type);
      if (args !== undefined || check !== undefined) found.push({ name: type.name, args, check });
      for (const field of Object.values(type.getFields())) {
        const { args, check } = authOf(field);
        if (args !== undefined || check !== undefined) {
          found.push({
            name: `${type.name}.${field.name}`,
            args,
            check,
            nullable: !isNonNullType(field.type),
          });
        }
      }
    }
    return found;
  }

  it('are exactly the runtime checks: each was built from the same declaration', () => {
    const rules = guarded();
    // 6 types, 12 query and object fields (apiKeys, dataExport, auditEvents included),
    // 14 mutations (registerPersistedOperation, the five webhook mutations, createApiKey,
    // revokeApiKey and eraseUser included).
    expect(rules.length).toBe(32);
    for (const rule of rules) {
      expect({ name: rule.name, args: authDirectiveArgsOf(rule.check) }).toEqual({
        name: rule.name,
        args: rule.args,
      });
    }
  });

  it('prints the rules of the issue into the SDL', () => {
    const byName = Object.fromEntries(guarded().map((rule) => [rule.name, rule.args]));
    expect(byName).toMatchObject({
      'User.email': { requires: ['read:pii'], allowSelf: true },
      'Product.costPrice': { roles: ['admin'] },
      Order: { requires: ['read:orders'], roles: ['member', 'admin'], allowSelf: true },
      'User.orders': { requires: ['read:orders'], roles: ['member', 'admin'], allowSelf: true },
      'Query.users': { requires: ['read:users'], roles: ['admin'] },
      'Mutation.createProduct': { requires: ['write:products'] },
      'Mutation.updateProduct': { requires: ['write:products'] },
      'Mutation.createOrder': { requires: ['write:orders'] },
      'Mutation.confirmOrder': { requires: ['write:orders'] },
      'Mutation.cancelOrder': { requires: ['write:orders'] },
      'Mutation.registerPersistedOperation': {
        requires: ['admin:persisted-operations'],
        roles: ['admin'],
      },
      WebhookEndpoint: { requires: ['admin:webhooks'], roles: ['admin'] },
      WebhookDelivery: { requires: ['admin:webhooks'], roles: ['admin'] },
      'Query.webhookEndpoints': { requires: ['admin:webhooks'], roles: ['admin'] },
      'Mutation.createWebhookEndpoint': { requires: ['admin:webhooks'], roles: ['admin'] },
      'Mutation.updateWebhookEndpoint': { requires: ['admin:webhooks'], roles: ['admin'] },
      'Mutation.deleteWebhookEndpoint': { requires: ['admin:webhooks'], roles: ['admin'] },
      'Mutation.rotateWebhookSecret': { requires: ['admin:webhooks'], roles: ['admin'] },
      'Mutation.redeliverWebhook': { requires: ['admin:webhooks'], roles: ['admin'] },
    });
  });

  it('guard only nullable fields, so a denial nulls the field and not its parent', () => {
    const nonNull = guarded()
      .filter((rule) => rule.nullable === false)
      .map((rule) => rule.name);
    // The one exception: issue 17 fixes `dataExport(userId: ID): DataExport!`, so a refused
    // export nulls `data` (docs/privacy.md says to ask for it alone).
    expect(nonNull).toEqual(['Query.dataExport']);
  });

  it('guard types that appear non-null only where their rule is already implied', () => {
    const guardedTypes = new Map(
      guarded()
        .filter((rule) => !rule.name.includes('.'))
        .map((rule) => [rule.name, rule.args as Record<string, unknown>]),
    );
    const unsafe: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        const target = getNamedType(field.type).name;
        const rule = guardedTypes.get(target);
        if (!rule || !isNonNullType(field.type)) continue;
        // A connection's items are guarded by the list field that returns the connection, which
        // filters rows by the same rule (products: read:products; orders: Order's rule).
        if (/(Connection|Edge)$/.test(type.name)) continue;
        // "Signed in" is implied inside any guarded type.
        if (Object.keys(rule).length === 0 && guardedTypes.has(type.name)) continue;
        unsafe.push(`${type.name}.${field.name}`);
      }
    }
    expect(unsafe).toEqual([]);
  });
});
