/**
 * Idempotent mutations (src/idempotency/): keys from clientMutationId or the Idempotency-Key
 * header, replays byte-identical to the first answer, different input refused, exactly once
 * under 50 concurrent retries, nothing kept from an aborted transaction, scoping by tenant
 * and user, expiry, and optimistic concurrency on the state-changing mutations.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.ts';
import { idempotencyKeys, orders } from '../../src/db/schema.ts';
import { deleteExpiredIdempotencyKeys } from '../../src/idempotency/expiry.ts';
import { fingerprintOf } from '../../src/idempotency/with-idempotency.ts';
import { type DemoUserName, startTestApp, type TestApp } from '../helpers/app.ts';

const CREATE_PRODUCT = /* GraphQL */ `
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      clientMutationId
      product { id stock version }
      userErrors { field code message }
    }
  }
`;

const CREATE_ORDER = /* GraphQL */ `
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) {
      clientMutationId
      order { id status version createdAt total { amount currency } items { quantity } }
      userErrors { field code message }
    }
  }
`;

const CONFIRM_ORDER = /* GraphQL */ `
  mutation ConfirmOrder($input: ConfirmOrderInput!) {
    confirmOrder(input: $input) {
      order { id status version }
      userErrors { field code message }
    }
  }
`;

const CANCEL_ORDER = /* GraphQL */ `
  mutation CancelOrder($input: CancelOrderInput!) {
    cancelOrder(input: $input) {
      order { id status version }
      userErrors { field code message }
    }
  }
`;

const UPDATE_PRODUCT = /* GraphQL */ `
  mutation UpdateProduct($input: UpdateProductInput!) {
    updateProduct(input: $input) {
      product { id stock version }
      userErrors { field code message }
    }
  }
`;

const STOCK = /* GraphQL */ `
  query Stock($id: ID!) { product(id: $id) { stock } }
`;

let t: TestApp;
let acmeId: string;

beforeAll(async () => {
  t = await startTestApp({ env: { FIELD_RATE_LIMITS: 'false', IDEMPOTENCY_WAIT_MS: '5000' } });
  acmeId = t.ids.tenants.acme!;
});
afterAll(() => t.close());

const key = () => `key-${randomUUID()}`;

function inTenant<T>(tenantId: string, work: (tx: Db) => Promise<T>): Promise<T> {
  return t.database.db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
    return work(tx as unknown as Db);
  });
}

async function createProduct(stock: number, as: DemoUserName = 'acme/alice'): Promise<string> {
  const response = await t.graphql(
    CREATE_PRODUCT,
    {
      input: {
        clientMutationId: key(),
        name: 'Idempotent widget',
        price: { amount: 500, currency: 'USD' },
        stock,
      },
    },
    { as },
  );
  expect(response.body.errors).toBeUndefined();
  return response.body.data!.createProduct.product.id;
}

async function stockOf(productId: string, as: DemoUserName = 'acme/alice'): Promise<number> {
  const response = await t.graphql(STOCK, { id: productId }, { as });
  return response.body.data!.product.stock;
}

async function ordersWithNote(tenantId: string, note: string) {
  return inTenant(tenantId, (tx) =>
    tx
      .select({ id: orders.id })
      .from(orders)
      .where(and(eq(orders.tenantId, tenantId), eq(orders.note, note))),
  );
}

async function keyRows(k: string) {
  // Superuser connection: sees every tenant's keys.
  return t.database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, k));
}

describe('keys', () => {
  it('requires clientMutationId on createOrder and createProduct', async () => {
    const product = await createProduct(5);
    const order = await t.graphql(
      CREATE_ORDER,
      { input: { items: [{ productId: product, quantity: 1 }] } },
      { as: 'acme/bob' },
    );
    expect(order.body.data).toEqual({ createOrder: null });
    expect(order.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    const created = await t.graphql(
      CREATE_PRODUCT,
      { input: { name: 'x', price: { amount: 1, currency: 'USD' } } },
      { as: 'acme/alice' },
    );
    expect(created.body.data).toEqual({ createProduct: null });
    expect(created.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(await stockOf(product)).toBe(5);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['a control character', 'abc\ndef'],
    ['non-ASCII', 'clé'],
  ])('refuses a key that is %s', async (_label, badKey) => {
    const product = await createProduct(5);
    const response = await t.graphql(
      CREATE_ORDER,
      { input: { clientMutationId: badKey, items: [{ productId: product, quantity: 1 }] } },
      { as: 'acme/bob' },
    );
    expect(response.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(await stockOf(product)).toBe(5);
  });

  it('accepts a key of 255 printable characters', async () => {
    const product = await createProduct(5);
    const longKey = `${key()} ~!`.padEnd(255, 'x');
    const response = await t.graphql(
      CREATE_ORDER,
      { input: { clientMutationId: longKey, items: [{ productId: product, quantity: 1 }] } },
      { as: 'acme/bob' },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data!.createOrder.order.status).toBe('pending');
  });

  it('takes the Idempotency-Key header for a single mutation', async () => {
    const product = await createProduct(5);
    const k = key();
    const send = () =>
      t.graphql(
        CREATE_ORDER,
        { input: { items: [{ productId: product, quantity: 2 }] } },
        { as: 'acme/bob', headers: { 'Idempotency-Key': k } },
      );
    const first = await send();
    expect(first.body.errors).toBeUndefined();
    expect(first.headers.get('Idempotent-Replayed')).toBeNull();
    const second = await send();
    expect(second.headers.get('Idempotent-Replayed')).toBe('true');
    expect(second.body.extensions).toEqual({ idempotentReplay: true });
    expect(JSON.stringify(second.body.data)).toBe(JSON.stringify(first.body.data));
    expect(await stockOf(product)).toBe(3);
  });

  it('refuses the Idempotency-Key header for a request with several mutations', async () => {
    const product = await createProduct(5);
    const response = await t.graphql(
      /* GraphQL */ `
        mutation Two($a: CreateOrderInput!, $b: CreateOrderInput!) {
          a: createOrder(input: $a) { order { id } }
          b: createOrder(input: $b) { order { id } }
        }
      `,
      {
        a: { items: [{ productId: product, quantity: 1 }] },
        b: { items: [{ productId: product, quantity: 1 }] },
      },
      { as: 'acme/bob', headers: { 'Idempotency-Key': key() } },
    );
    expect(response.body.errors?.map((e) => e.extensions?.code)).toEqual([
      'BAD_USER_INPUT',
      'BAD_USER_INPUT',
    ]);
    expect(await stockOf(product)).toBe(5);
  });
});

describe('replays', () => {
  it('replays the stored payload byte for byte, without executing again', async () => {
    const product = await createProduct(10);
    const k = key();
    const input = { clientMutationId: k, items: [{ productId: product, quantity: 3 }], note: k };
    const first = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    expect(first.body.errors).toBeUndefined();
    expect(first.body.extensions).toBeUndefined();
    // The order changes afterwards: the replay still answers what the first request answered.
    const orderId = first.body.data!.createOrder.order.id;
    await t.graphql(CONFIRM_ORDER, { input: { id: orderId } }, { as: 'acme/bob' });
    const replay = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
    expect(replay.body.extensions).toEqual({ idempotentReplay: true });
    expect(JSON.stringify(replay.body.data!.createOrder)).toBe(
      JSON.stringify(first.body.data!.createOrder),
    );
    expect(await stockOf(product)).toBe(7);
    expect(await ordersWithNote(acmeId, k)).toHaveLength(1);
  });

  it('replays a payload with userErrors too', async () => {
    const product = await createProduct(1);
    const input = { clientMutationId: key(), items: [{ productId: product, quantity: 5 }] };
    const first = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    expect(first.body.data!.createOrder.userErrors.map((e: { code: string }) => e.code)).toEqual([
      'INSUFFICIENT_STOCK',
    ]);
    // Stock appears; the retry still answers what the first request answered.
    await t.graphql(UPDATE_PRODUCT, { input: { id: product, stock: 10 } }, { as: 'acme/alice' });
    const replay = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
    expect(JSON.stringify(replay.body.data)).toBe(JSON.stringify(first.body.data));
    expect(await stockOf(product)).toBe(10);
  });

  it('refuses the same key with a different input (422)', async () => {
    const product = await createProduct(10);
    const k = key();
    const first = await t.graphql(
      CREATE_ORDER,
      { input: { clientMutationId: k, items: [{ productId: product, quantity: 1 }] } },
      { as: 'acme/bob' },
    );
    expect(first.body.errors).toBeUndefined();
    const reused = await t.graphql(
      CREATE_ORDER,
      { input: { clientMutationId: k, items: [{ productId: product, quantity: 2 }] } },
      { as: 'acme/bob' },
    );
    expect(reused.status).toBe(422);
    expect(reused.body.errors?.map((e) => e.extensions?.code)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(await stockOf(product)).toBe(9);
  });

  it('fingerprints the input, not the order of its fields', async () => {
    const product = await createProduct(10);
    const k = key();
    const send = (input: Record<string, unknown>) =>
      t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    const first = await send({
      clientMutationId: k,
      note: 'same',
      items: [{ productId: product, quantity: 1 }],
    });
    const second = await send({
      items: [{ quantity: 1, productId: product }],
      note: 'same',
      clientMutationId: k,
    });
    expect(second.headers.get('Idempotent-Replayed')).toBe('true');
    expect(JSON.stringify(second.body.data)).toBe(JSON.stringify(first.body.data));
  });

  it('scopes a key to the mutation field, the user and the tenant', async () => {
    const k = key();
    const acmeProduct = await createProduct(10);
    const globexProduct = await createProduct(10, 'globex/dave');
    const order = (as: DemoUserName, productId: string) =>
      t.graphql(
        CREATE_ORDER,
        { input: { clientMutationId: k, items: [{ productId, quantity: 1 }] } },
        { as },
      );
    const bob = await order('acme/bob', acmeProduct);
    const alice = await order('acme/alice', acmeProduct);
    const dave = await order('globex/dave', globexProduct);
    for (const response of [bob, alice, dave]) {
      expect(response.body.errors).toBeUndefined();
      expect(response.headers.get('Idempotent-Replayed')).toBeNull();
    }
    const ids = [bob, alice, dave].map((r) => r.body.data!.createOrder.order.id);
    expect(new Set(ids).size).toBe(3);
    expect(await stockOf(acmeProduct)).toBe(8);
    expect(await stockOf(globexProduct, 'globex/dave')).toBe(9);
    // The same key on another mutation field is another operation too.
    const product = await t.graphql(
      CREATE_PRODUCT,
      { input: { clientMutationId: k, name: 'scoped', price: { amount: 1, currency: 'USD' } } },
      { as: 'acme/bob' },
    );
    expect(product.headers.get('Idempotent-Replayed')).toBeNull();
    expect((await keyRows(k)).length).toBeGreaterThanOrEqual(3);
  });
});

describe('concurrency and failures', () => {
  it('50 concurrent identical createOrder requests create one order and 50 identical payloads', async () => {
    const product = await createProduct(100);
    const k = key();
    const input = { clientMutationId: k, note: k, items: [{ productId: product, quantity: 2 }] };
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' })),
    );
    for (const response of responses) expect(response.body.errors).toBeUndefined();
    const payloads = responses.map((r) => JSON.stringify(r.body.data!.createOrder));
    expect(new Set(payloads).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('Idempotent-Replayed') === null)).toHaveLength(1);
    expect(await ordersWithNote(acmeId, k)).toHaveLength(1);
    expect(await stockOf(product)).toBe(98);
  });

  it('never oversells when 50 concurrent orders race for the last units', async () => {
    const product = await createProduct(7);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        t.graphql(
          CREATE_ORDER,
          { input: { clientMutationId: key(), items: [{ productId: product, quantity: 2 }] } },
          { as: 'acme/bob' },
        ),
      ),
    );
    const succeeded = responses.filter((r) => r.body.data!.createOrder.order !== null);
    expect(succeeded).toHaveLength(3);
    expect(await stockOf(product)).toBe(1);
  });

  it('keeps no key when the transaction aborts part-way; the retry executes', async () => {
    const product = await createProduct(10);
    const k = key();
    const input = { clientMutationId: k, note: k, items: [{ productId: product, quantity: 1 }] };
    // A crash after the order was written, before commit: storing the payload fails, so the
    // request's transaction is rolled back.
    await t.database.db.execute(
      sql.raw(`
      create or replace function test_fail_idempotency_store() returns trigger
      language plpgsql as $$ begin raise exception 'simulated crash'; end $$`),
    );
    await t.database.db.execute(
      sql.raw(`
      create trigger test_fail_idempotency_store before update on idempotency_keys
      for each row execute function test_fail_idempotency_store()`),
    );
    let aborted: Awaited<ReturnType<TestApp['graphql']>>;
    try {
      aborted = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    } finally {
      await t.database.db.execute(
        sql.raw('drop trigger test_fail_idempotency_store on idempotency_keys'),
      );
    }
    expect(aborted.body.errors?.map((e) => e.extensions?.code)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(await keyRows(k)).toEqual([]);
    expect(await ordersWithNote(acmeId, k)).toEqual([]);
    expect(await stockOf(product)).toBe(10);

    const retry = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    expect(retry.body.errors).toBeUndefined();
    expect(retry.headers.get('Idempotent-Replayed')).toBeNull();
    expect(retry.body.data!.createOrder.order.status).toBe('pending');
    expect(await ordersWithNote(acmeId, k)).toHaveLength(1);
    expect(await stockOf(product)).toBe(9);
    expect(await keyRows(k)).toHaveLength(1);
  });

  it('stores and replays a payload whose userErrors come from validation', async () => {
    // An unknown product is a userError: stored and replayed like any payload.
    const k = key();
    const input = {
      clientMutationId: k,
      items: [{ productId: 'prod_01h455vb4pex5vsknk084sn02q', quantity: 1 }],
    };
    const first = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    expect(first.body.data!.createOrder.userErrors.length).toBeGreaterThan(0);
    const replay = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
    expect(JSON.stringify(replay.body.data)).toBe(JSON.stringify(first.body.data));
  });
});

// Only PostgreSQL runs two transactions at once: PGlite serializes them, so a retry there
// always finds the first request finished.
describe.runIf(process.env.DATABASE_URL)(
  'a retry while the first request runs (PostgreSQL)',
  () => {
    /**
     * Holds, in an open transaction of another connection, the key row a first request would
     * have claimed; `finish` then commits it (with a payload) or rolls it back.
     */
    async function holdKey(app: TestApp, input: Record<string, unknown>, finish: Promise<string>) {
      const bob = app.ids.users['acme/bob'];
      let claimed!: () => void;
      const isClaimed = new Promise<void>((resolve) => {
        claimed = resolve;
      });
      const done = app.database.db
        .transaction(async (tx) => {
          await tx.insert(idempotencyKeys).values({
            tenantId: app.ids.tenants.acme!,
            userId: bob,
            mutation: 'createOrder',
            key: input.clientMutationId as string,
            fingerprint: fingerprintOf(input),
            expiresAt: new Date(Date.now() + 60_000),
          });
          claimed();
          const response = await finish;
          if (response === 'rollback') tx.rollback();
          await tx
            .update(idempotencyKeys)
            .set({ response })
            .where(eq(idempotencyKeys.key, input.clientMutationId as string));
        })
        .catch(() => undefined);
      await isClaimed;
      // Wrapped: an async function returning the promise itself would wait for it.
      return { done };
    }

    it('gives IDEMPOTENCY_IN_PROGRESS (409) after IDEMPOTENCY_WAIT_MS', async () => {
      const short = await startTestApp({
        env: { FIELD_RATE_LIMITS: 'false', IDEMPOTENCY_WAIT_MS: '300' },
      });
      try {
        const input = {
          clientMutationId: key(),
          items: [{ productId: 'prod_01h455vb4pex5vsknk084sn02q', quantity: 1 }],
        };
        let release!: (value: string) => void;
        const held = await holdKey(
          short,
          input,
          new Promise((resolve) => {
            release = resolve;
          }),
        );
        try {
          const started = Date.now();
          const retry = await short.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
          expect(Date.now() - started).toBeGreaterThanOrEqual(250);
          expect(retry.body.errors?.map((e) => e.extensions?.code)).toEqual([
            'IDEMPOTENCY_IN_PROGRESS',
          ]);
          expect(retry.status).toBe(409);
        } finally {
          release('rollback');
          await held.done;
        }
      } finally {
        await short.close();
      }
    });

    it('waits for the first request and replays its payload', async () => {
      const input = {
        clientMutationId: key(),
        items: [{ productId: 'prod_01h455vb4pex5vsknk084sn02q', quantity: 1 }],
      };
      const stored = '{"clientMutationId":"first","order":null,"userErrors":[]}';
      const held = await holdKey(
        t,
        input,
        new Promise((resolve) => setTimeout(() => resolve(stored), 300)),
      );
      const started = Date.now();
      const retry = await t.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      await held.done;
      expect(retry.status).toBe(200);
      expect(retry.headers.get('Idempotent-Replayed')).toBe('true');
      expect(JSON.stringify(retry.body.data!.createOrder)).toBe(stored);
    });
  },
);

describe('expiry', () => {
  it('forgets a key after IDEMPOTENCY_TTL: the same key executes again', async () => {
    const short = await startTestApp({
      env: { FIELD_RATE_LIMITS: 'false', IDEMPOTENCY_TTL: '1s' },
    });
    try {
      const created = await short.graphql(
        CREATE_PRODUCT,
        {
          input: {
            clientMutationId: key(),
            name: 'ttl',
            price: { amount: 1, currency: 'USD' },
            stock: 10,
          },
        },
        { as: 'acme/alice' },
      );
      const product = created.body.data!.createProduct.product.id;
      const input = { clientMutationId: key(), items: [{ productId: product, quantity: 1 }] };
      const first = await short.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
      const replay = await short.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
      expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const again = await short.graphql(CREATE_ORDER, { input }, { as: 'acme/bob' });
      expect(again.headers.get('Idempotent-Replayed')).toBeNull();
      expect(again.body.data!.createOrder.order.id).not.toBe(first.body.data!.createOrder.order.id);
      // Two keys (createProduct's and createOrder's) have expired by now, one has not.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await deleteExpiredIdempotencyKeys(short.database.db, 1)).toBe(1);
      expect(await deleteExpiredIdempotencyKeys(short.database.db, 100)).toBe(1);
      expect(await deleteExpiredIdempotencyKeys(short.database.db, 100)).toBe(0);
    } finally {
      await short.close();
    }
  });
});

describe('optimistic concurrency', () => {
  it('gives CONFLICT with the current version on a stale expectedVersion', async () => {
    const product = await createProduct(5);
    const first = await t.graphql(
      UPDATE_PRODUCT,
      { input: { id: product, expectedVersion: 1, stock: 6 } },
      { as: 'acme/alice' },
    );
    expect(first.body.data!.updateProduct.product.version).toBe(2);
    const stale = await t.graphql(
      UPDATE_PRODUCT,
      { input: { id: product, expectedVersion: 1, stock: 7 } },
      { as: 'acme/alice' },
    );
    expect(stale.body.data!.updateProduct.userErrors.map((e: { code: string }) => e.code)).toEqual([
      'CONFLICT',
    ]);
    expect(stale.body.data!.updateProduct.product.version).toBe(2);
  });

  it('gives CONFLICT on confirmOrder and INVALID_STATE on an illegal transition', async () => {
    const product = await createProduct(5);
    const created = await t.graphql(
      CREATE_ORDER,
      { input: { clientMutationId: key(), items: [{ productId: product, quantity: 1 }] } },
      { as: 'acme/bob' },
    );
    const id = created.body.data!.createOrder.order.id;
    const stale = await t.graphql(
      CONFIRM_ORDER,
      { input: { id, expectedVersion: 2 } },
      { as: 'acme/bob' },
    );
    expect(stale.body.data!.confirmOrder.userErrors.map((e: { code: string }) => e.code)).toEqual([
      'CONFLICT',
    ]);
    const cancelled = await t.graphql(CANCEL_ORDER, { input: { id } }, { as: 'acme/bob' });
    expect(cancelled.body.data!.cancelOrder.order.status).toBe('cancelled');
    const again = await t.graphql(CONFIRM_ORDER, { input: { id } }, { as: 'acme/bob' });
    expect(again.body.data!.confirmOrder.userErrors.map((e: { code: string }) => e.code)).toEqual([
      'INVALID_STATE',
    ]);
  });
});
