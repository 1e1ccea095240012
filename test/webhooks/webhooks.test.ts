/**
 * Webhooks end to end: the admin API through HTTP (`app.fetch`), the outbox written by real
 * mutations, and the delivery worker POSTing to real receivers on 127.0.0.1. Signatures are
 * checked with the `standardwebhooks` package, as a receiver would. The retry schedule is
 * short (50 ms) and every wait is a bounded poll: assertions are about behaviour and counts,
 * never about timing.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookMetrics } from '../../src/webhooks/metrics.ts';
import {
  claimDueDeliveries,
  startWebhookWorker,
  type WebhookWorker,
} from '../../src/webhooks/worker.ts';
import { type DemoUserName, startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';
import {
  eventually,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../helpers/webhook-receiver.ts';

const CREATE_ENDPOINT = /* GraphQL */ `
  mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      webhookEndpoint { id url events enabled description }
      signingSecret
      userErrors { field code message }
    }
  }
`;

const UPDATE_ENDPOINT = /* GraphQL */ `
  mutation UpdateWebhookEndpoint($input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(input: $input) {
      webhookEndpoint { id url events enabled }
      userErrors { field code message }
    }
  }
`;

const DELETE_ENDPOINT = /* GraphQL */ `
  mutation DeleteWebhookEndpoint($input: DeleteWebhookEndpointInput!) {
    deleteWebhookEndpoint(input: $input) {
      deletedWebhookEndpointId
      userErrors { field code message }
    }
  }
`;

const ROTATE_SECRET = /* GraphQL */ `
  mutation RotateWebhookSecret($input: RotateWebhookSecretInput!) {
    rotateWebhookSecret(input: $input) {
      webhookEndpoint { id }
      signingSecret
      userErrors { field code message }
    }
  }
`;

const REDELIVER = /* GraphQL */ `
  mutation RedeliverWebhook($input: RedeliverWebhookInput!) {
    redeliverWebhook(input: $input) {
      webhookDelivery { id eventId status attempts }
      userErrors { field code message }
    }
  }
`;

const ENDPOINTS = /* GraphQL */ `
  query WebhookEndpoints {
    webhookEndpoints(first: 10) {
      nodes {
        id
        url
        deliveries(first: 20) {
          nodes {
            id eventId eventType status attempts responseStatus lastAttemptAt nextAttemptAt lastError
          }
        }
      }
    }
  }
`;

const PRODUCTS = /* GraphQL */ `
  query Products {
    products(first: 50) { nodes { id stock } }
  }
`;

const CREATE_ORDER = /* GraphQL */ `
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) {
      order { id status }
      userErrors { code }
    }
  }
`;

const CONFIRM_ORDER = /* GraphQL */ `
  mutation ConfirmOrder($input: ConfirmOrderInput!) {
    confirmOrder(input: $input) {
      order { id status }
      userErrors { code }
    }
  }
`;

const UPDATE_PRODUCT = /* GraphQL */ `
  mutation UpdateProduct($input: UpdateProductInput!) {
    updateProduct(input: $input) {
      product { id name }
      userErrors { code }
    }
  }
`;

interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  attempts: number;
  responseStatus: number | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  lastError: string | null;
}

let t: TestApp;
const receivers: WebhookReceiver[] = [];
const workers: WebhookWorker[] = [];
const endpoints: { id: string; as: DemoUserName }[] = [];
const acmeProducts: string[] = [];
const globexProducts: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
  for (const [as, list] of [
    ['acme/alice', acmeProducts],
    ['globex/dave', globexProducts],
  ] as const) {
    const response = await t.graphql(PRODUCTS, {}, { as });
    for (const product of response.body.data?.products.nodes ?? []) {
      if (product.stock >= 50) list.push(product.id);
    }
  }
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  for (const { id, as } of endpoints.splice(0)) {
    await t.graphql(DELETE_ENDPOINT, { input: { id } }, { as });
  }
});

afterAll(async () => {
  await t?.close();
});

async function receiver(): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver();
  receivers.push(started);
  return started;
}

function worker(options: { metrics?: ReturnType<typeof createWebhookMetrics> } = {}) {
  const started = startWebhookWorker({
    database: t.database,
    logger: pino({ level: 'silent' }),
    retryScheduleMs: [50, 50],
    urlPolicy: { requireHttps: false, allowPrivate: true },
    pollIntervalMs: 20,
    ...options,
  });
  workers.push(started);
  return started;
}

async function createEndpoint(
  url: string,
  events: string[] = ['ORDER_CREATED', 'ORDER_CONFIRMED', 'ORDER_CANCELLED', 'PRODUCT_UPDATED'],
  as: DemoUserName = 'acme/alice',
): Promise<{ id: string; secret: string }> {
  const response = await t.graphql(
    CREATE_ENDPOINT,
    { input: { url, events, clientMutationId: newClientMutationId() } },
    { as },
  );
  const payload = response.body.data?.createWebhookEndpoint;
  expect(payload?.userErrors).toEqual([]);
  endpoints.push({ id: payload.webhookEndpoint.id, as });
  return { id: payload.webhookEndpoint.id, secret: payload.signingSecret };
}

async function createOrder(
  as: DemoUserName = 'acme/alice',
  clientMutationId = newClientMutationId(),
) {
  const productId = (as.startsWith('acme') ? acmeProducts : globexProducts)[0];
  const response = await t.graphql(
    CREATE_ORDER,
    { input: { items: [{ productId, quantity: 1 }], clientMutationId } },
    { as },
  );
  expect(response.body.data?.createOrder.userErrors).toEqual([]);
  return response.body.data?.createOrder.order.id as string;
}

async function deliveriesOf(
  endpointId: string,
  as: DemoUserName = 'acme/alice',
): Promise<Delivery[]> {
  const response = await t.graphql(ENDPOINTS, {}, { as });
  expect(response.body.errors).toBeUndefined();
  const endpoint = response.body.data?.webhookEndpoints.nodes.find(
    (node: { id: string }) => node.id === endpointId,
  );
  return endpoint?.deliveries.nodes ?? [];
}

/** The endpoint's deliveries, once the newest has `status`. */
function deliveriesOnceFirstIs(
  endpointId: string,
  status: Delivery['status'],
): Promise<Delivery[]> {
  return eventually(async () => {
    const deliveries = await deliveriesOf(endpointId);
    return deliveries[0]?.status === status ? deliveries : null;
  });
}

function verify(secret: string, received: { headers: Record<string, unknown>; body: string }) {
  return new Webhook(secret).verify(received.body, received.headers as Record<string, string>);
}

describe('endpoints', () => {
  it('are registered by an admin, with a whsec_ signing secret shown once', async () => {
    const response = await t.graphql(
      CREATE_ENDPOINT,
      {
        input: {
          url: 'http://127.0.0.1:9/hooks',
          events: ['ORDER_CREATED'],
          description: 'Warehouse',
          clientMutationId: newClientMutationId(),
        },
      },
      { as: 'acme/alice' },
    );
    const payload = response.body.data?.createWebhookEndpoint;
    endpoints.push({ id: payload.webhookEndpoint.id, as: 'acme/alice' });
    expect(payload).toEqual({
      webhookEndpoint: {
        id: expect.stringMatching(/^whep_/),
        url: 'http://127.0.0.1:9/hooks',
        events: ['ORDER_CREATED'],
        enabled: true,
        description: 'Warehouse',
      },
      signingSecret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+=*$/),
      userErrors: [],
    });
    // 24 random bytes at least.
    expect(Buffer.from(payload.signingSecret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
    const listed = await t.graphql(ENDPOINTS, {}, { as: 'acme/alice' });
    expect(JSON.stringify(listed.body)).not.toContain(payload.signingSecret);
    expect(
      listed.body.data?.webhookEndpoints.nodes.map((node: { id: string }) => node.id),
    ).toContain(payload.webhookEndpoint.id);
    // Another tenant's admin does not see it.
    const other = await t.graphql(ENDPOINTS, {}, { as: 'globex/dave' });
    expect(other.body.data?.webhookEndpoints.nodes).toEqual([]);
  });

  it('never keep a signing secret for replays: a retry answers the endpoint with a null secret', async () => {
    const clientMutationId = newClientMutationId();
    const input = { url: 'http://127.0.0.1:9/hooks', events: ['ORDER_CREATED'], clientMutationId };
    const first = await t.graphql(CREATE_ENDPOINT, { input }, { as: 'acme/alice' });
    const created = first.body.data?.createWebhookEndpoint;
    endpoints.push({ id: created.webhookEndpoint.id, as: 'acme/alice' });
    expect(created.signingSecret).toMatch(/^whsec_/);
    const replay = await t.graphql(CREATE_ENDPOINT, { input }, { as: 'acme/alice' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.data?.createWebhookEndpoint).toEqual({ ...created, signingSecret: null });

    // The same for a rotation, whose secret is asked for under an alias in a fragment.
    const rotate = /* GraphQL */ `
      mutation Rotate($input: RotateWebhookSecretInput!) {
        rotateWebhookSecret(input: $input) { ...Rotated userErrors { code } }
      }
      fragment Rotated on RotateWebhookSecretPayload { newSecret: signingSecret }
    `;
    const rotation = { id: created.webhookEndpoint.id, clientMutationId: newClientMutationId() };
    const rotated = await t.graphql(rotate, { input: rotation }, { as: 'acme/alice' });
    expect(rotated.body.data?.rotateWebhookSecret.newSecret).toMatch(/^whsec_/);
    const rotatedAgain = await t.graphql(rotate, { input: rotation }, { as: 'acme/alice' });
    expect(rotatedAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(rotatedAgain.body.data?.rotateWebhookSecret).toEqual({
      newSecret: null,
      userErrors: [],
    });
  });

  it('refuses a URL that is not http(s), has credentials or control characters, or does not parse', async () => {
    for (const url of [
      'ftp://127.0.0.1/x',
      'http://user:pw@127.0.0.1/x',
      'http://127.0.0.1:9/a\u0000b',
      'not a url',
    ]) {
      const response = await t.graphql(
        CREATE_ENDPOINT,
        { input: { url, events: ['ORDER_CREATED'], clientMutationId: newClientMutationId() } },
        { as: 'acme/alice' },
      );
      expect(response.body.data?.createWebhookEndpoint).toEqual({
        webhookEndpoint: null,
        signingSecret: null,
        userErrors: [
          { field: ['input', 'url'], code: 'BAD_USER_INPUT', message: expect.any(String) },
        ],
      });
    }
  });

  it('refuses an empty event list and an unknown event type', async () => {
    const empty = await t.graphql(
      CREATE_ENDPOINT,
      {
        input: { url: 'http://127.0.0.1:9/', events: [], clientMutationId: newClientMutationId() },
      },
      { as: 'acme/alice' },
    );
    expect(empty.body.data?.createWebhookEndpoint.userErrors).toEqual([
      {
        field: ['input', 'events'],
        code: 'BAD_USER_INPUT',
        message: 'Subscribe to at least one event type.',
      },
    ]);
    const unknown = await t.graphql(
      CREATE_ENDPOINT,
      {
        input: {
          url: 'http://127.0.0.1:9/',
          events: ['ORDER_SHIPPED'],
          clientMutationId: newClientMutationId(),
        },
      },
      { as: 'acme/alice' },
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(unknown.body.errors?.[0]?.message).toContain('ORDER_SHIPPED');
  });

  it('are for admins with admin:webhooks only', async () => {
    const input = {
      url: 'http://127.0.0.1:9/',
      events: ['ORDER_CREATED'],
      clientMutationId: newClientMutationId(),
    };
    const member = await t.graphql(CREATE_ENDPOINT, { input }, { as: 'acme/bob' });
    expect(member.body.data?.createWebhookEndpoint).toBeNull();
    expect(member.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const narrowed = await t.token('acme/alice', { scopes: ['read:products', 'write:orders'] });
    const withoutScope = await t.graphql(
      CREATE_ENDPOINT,
      { input },
      { authorization: `Bearer ${narrowed}` },
    );
    expect(withoutScope.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const list = await t.graphql(ENDPOINTS, {}, { as: 'acme/bob' });
    expect(list.body.data?.webhookEndpoints).toBeNull();
    expect(list.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await t.graphql(ENDPOINTS, {});
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("treats another tenant's endpoint as not found, and a malformed id as bad input", async () => {
    const { id } = await createEndpoint('http://127.0.0.1:9/', ['ORDER_CREATED'], 'globex/dave');
    for (const [document, input, name] of [
      [UPDATE_ENDPOINT, { id, enabled: false }, 'updateWebhookEndpoint'],
      [DELETE_ENDPOINT, { id }, 'deleteWebhookEndpoint'],
      [ROTATE_SECRET, { id }, 'rotateWebhookSecret'],
    ] as const) {
      const response = await t.graphql(document, { input }, { as: 'acme/alice' });
      expect(response.body.data?.[name].userErrors).toEqual([
        { field: ['input', 'id'], code: 'NOT_FOUND', message: 'No such webhook endpoint.' },
      ]);
      const malformed = await t.graphql(
        document,
        { input: { ...input, id: 'prod_01h455vb4pex5vsknk084sn02q' } },
        { as: 'acme/alice' },
      );
      expect(malformed.body.data?.[name].userErrors).toEqual([
        { field: ['input', 'id'], code: 'BAD_USER_INPUT', message: 'Not a webhook endpoint id.' },
      ]);
    }
    const node = await t.graphql(
      `query ($id: ID!) { node(id: $id) { id } }`,
      { id },
      { as: 'acme/alice' },
    );
    expect(node.body).toEqual({ data: { node: null } });
  });

  it('refuses redelivery of a malformed or unknown delivery id', async () => {
    const malformed = await t.graphql(
      REDELIVER,
      { input: { deliveryId: 'nope' } },
      { as: 'acme/alice' },
    );
    expect(malformed.body.data?.redeliverWebhook.userErrors).toEqual([
      {
        field: ['input', 'deliveryId'],
        code: 'BAD_USER_INPUT',
        message: 'Not a webhook delivery id.',
      },
    ]);
    const unknown = await t.graphql(
      REDELIVER,
      { input: { deliveryId: 'whdl_01h455vb4pex5vsknk084sn02q' } },
      { as: 'acme/alice' },
    );
    expect(unknown.body.data?.redeliverWebhook.userErrors).toEqual([
      { field: ['input', 'deliveryId'], code: 'NOT_FOUND', message: 'No such webhook delivery.' },
    ]);
  });

  it('refuses a loopback address when private URLs are not allowed (as in production)', async () => {
    const strict = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'false' } });
    try {
      for (const url of [
        'http://127.0.0.1:8080/',
        'http://localhost/',
        'http://[::ffff:10.0.0.1]/',
        'http://169.254.169.254/latest',
      ]) {
        const response = await strict.graphql(
          CREATE_ENDPOINT,
          { input: { url, events: ['ORDER_CREATED'], clientMutationId: newClientMutationId() } },
          { as: 'acme/alice' },
        );
        expect(response.body.data?.createWebhookEndpoint).toEqual({
          webhookEndpoint: null,
          signingSecret: null,
          userErrors: [
            {
              field: ['input', 'url'],
              code: 'BAD_USER_INPUT',
              message: 'The URL resolves to a loopback, private or otherwise non-public address.',
            },
          ],
        });
      }
    } finally {
      await strict.close();
    }
  });
});

describe('delivery', () => {
  it('POSTs a signed order.created event that verifies with standardwebhooks', async () => {
    const hooks = await receiver();
    const { secret } = await createEndpoint(hooks.url);
    worker();
    const orderId = await createOrder();
    await eventually(() => hooks.received.length >= 1);
    const [received] = hooks.received;
    const body = verify(secret, received!) as {
      type: string;
      timestamp: string;
      data: { order: Record<string, unknown> };
    };
    expect(body.type).toBe('order.created');
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
    expect(body.data.order).toMatchObject({
      id: orderId,
      status: 'pending',
      customer: { id: t.ids.users['acme/alice'] },
      items: [{ product: { id: acmeProducts[0] }, quantity: 1 }],
    });
    expect(received!.headers['content-type']).toBe('application/json');
    expect(received!.headers['webhook-id']).toMatch(/^msg_/);
    expect(received!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    // A wrong secret does not verify.
    expect(() => verify(`whsec_${Buffer.alloc(32).toString('base64')}`, received!)).toThrow();
  });

  it("reaches only its tenant's endpoints subscribed to the event type", async () => {
    const acme = await receiver();
    const acmeProductsOnly = await receiver();
    const globex = await receiver();
    await createEndpoint(acme.url, ['ORDER_CREATED']);
    await createEndpoint(acmeProductsOnly.url, ['PRODUCT_UPDATED']);
    await createEndpoint(globex.url, ['ORDER_CREATED'], 'globex/dave');
    const metricsRegistry = new Registry();
    worker({ metrics: createWebhookMetrics(metricsRegistry) });
    await createOrder('acme/alice');
    await createOrder('globex/dave');
    await eventually(() => acme.received.length >= 1 && globex.received.length >= 1);
    const update = await t.graphql(
      UPDATE_PRODUCT,
      { input: { id: acmeProducts[1], name: 'Renamed by a webhook test' } },
      { as: 'acme/alice' },
    );
    expect(update.body.data?.updateProduct.userErrors).toEqual([]);
    await eventually(() => acmeProductsOnly.received.length >= 1);
    expect(acme.received.map((r) => JSON.parse(r.body).data.order.customer.id)).toEqual([
      t.ids.users['acme/alice'],
    ]);
    expect(globex.received.map((r) => JSON.parse(r.body).data.order.customer.id)).toEqual([
      t.ids.users['globex/dave'],
    ]);
    const productEvent = JSON.parse(acmeProductsOnly.received[0]!.body);
    expect(productEvent.type).toBe('product.updated');
    expect(productEvent.data.product).toMatchObject({
      id: acmeProducts[1],
      name: 'Renamed by a webhook test',
      costPrice: { amount: expect.any(Number) },
    });
    // The worker counts a delivery once it has read the answer, just after the receiver has it.
    const expected = [
      'webhook_deliveries_total{event_type="order.created",outcome="succeeded"} 2',
      'webhook_delivery_attempts_total{event_type="product.updated",result="success"} 1',
    ];
    const text = await eventually(async () => {
      const metrics = await metricsRegistry.metrics();
      return expected.every((line) => metrics.includes(line)) ? metrics : null;
    });
    expect(text).toContain('webhook_outbox_lag_seconds');
  });

  it('emits nothing for a refused mutation, and nothing new for an idempotent replay', async () => {
    const hooks = await receiver();
    const { id } = await createEndpoint(hooks.url);
    // Refused: more units than in stock; confirming an unknown order.
    const refused = await t.graphql(
      CREATE_ORDER,
      {
        input: {
          items: [{ productId: acmeProducts[0], quantity: 1000 }],
          clientMutationId: newClientMutationId(),
        },
      },
      { as: 'acme/alice' },
    );
    expect(refused.body.data?.createOrder.userErrors).toEqual([{ code: 'INSUFFICIENT_STOCK' }]);
    const orderId = await createOrder();
    const confirmed = await t.graphql(
      CONFIRM_ORDER,
      { input: { id: orderId } },
      { as: 'acme/alice' },
    );
    expect(confirmed.body.data?.confirmOrder.userErrors).toEqual([]);
    const again = await t.graphql(CONFIRM_ORDER, { input: { id: orderId } }, { as: 'acme/alice' });
    expect(again.body.data?.confirmOrder.userErrors).toEqual([{ code: 'INVALID_STATE' }]);
    // Replayed with the same key: the stored payload, no second order, no second event.
    const key = newClientMutationId();
    const first = await createOrder('acme/alice', key);
    const replay = await createOrder('acme/alice', key);
    expect(replay).toBe(first);
    const deliveries = await deliveriesOf(id);
    expect(deliveries.map((d) => d.eventType).sort()).toEqual([
      'ORDER_CONFIRMED',
      'ORDER_CREATED',
      'ORDER_CREATED',
    ]);
    worker();
    await eventually(() => hooks.received.length >= 3);
    expect(new Set(hooks.received.map((r) => r.headers['webhook-id'])).size).toBe(3);
  });

  it('retries a 503 and succeeds on 200: two attempts, one webhook-id', async () => {
    const hooks = await receiver();
    hooks.respond = (_request, index) => (index === 0 ? 503 : 200);
    const { id, secret } = await createEndpoint(hooks.url, ['ORDER_CREATED']);
    worker();
    await createOrder();
    const [delivery] = await deliveriesOnceFirstIs(id, 'SUCCEEDED');
    expect(hooks.received).toHaveLength(2);
    expect(hooks.received[0]!.headers['webhook-id']).toBe(hooks.received[1]!.headers['webhook-id']);
    expect(hooks.received[0]!.headers['webhook-id']).toBe(delivery!.eventId);
    for (const received of hooks.received) verify(secret, received);
    expect(delivery).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 2,
      responseStatus: 200,
      lastError: null,
      nextAttemptAt: null,
    });
  });

  it('ends FAILED when the retries are exhausted, and redeliverWebhook sends it again', async () => {
    const hooks = await receiver();
    hooks.respond = () => 500;
    const { id } = await createEndpoint(hooks.url, ['ORDER_CREATED']);
    worker();
    await createOrder();
    const [failed] = await deliveriesOnceFirstIs(id, 'FAILED');
    // The first attempt and the two retries of WEBHOOK_RETRY_SCHEDULE=50ms,50ms.
    expect(failed).toMatchObject({
      attempts: 3,
      responseStatus: 500,
      lastError: 'HTTP 500',
      nextAttemptAt: null,
    });
    expect(hooks.received).toHaveLength(3);

    hooks.respond = () => 204;
    const redelivered = await t.graphql(
      REDELIVER,
      { input: { deliveryId: failed!.id } },
      { as: 'acme/alice' },
    );
    expect(redelivered.body.data?.redeliverWebhook).toEqual({
      webhookDelivery: {
        id: expect.stringMatching(/^whdl_/),
        eventId: failed!.eventId,
        status: 'PENDING',
        attempts: 0,
      },
      userErrors: [],
    });
    await eventually(async () => {
      const deliveries = await deliveriesOf(id);
      return (
        deliveries.find((d) => d.id === redelivered.body.data?.redeliverWebhook.webhookDelivery.id)
          ?.status === 'SUCCEEDED'
      );
    });
    expect(hooks.received).toHaveLength(4);
    expect(new Set(hooks.received.map((r) => r.headers['webhook-id']))).toEqual(
      new Set([failed!.eventId]),
    );
    // Sending an event again is an audited act (docs/privacy.md), recorded against the delivery asked for.
    const audit = await t.graphql(
      '{ auditEvents(first: 1) { nodes { action targetId actorId } } }',
      {},
      { as: 'acme/alice' },
    );
    expect(audit.body.data?.auditEvents.nodes).toEqual([
      {
        action: 'WEBHOOK_DELIVERY_REDELIVERED',
        targetId: failed!.id,
        actorId: t.ids.users['acme/alice'],
      },
    ]);
  });

  it.each([410, 302])('does not retry (or follow) a %s answer', async (status) => {
    const hooks = await receiver();
    hooks.respond = () => status;
    const { id } = await createEndpoint(hooks.url, ['ORDER_CREATED']);
    worker();
    await createOrder();
    const [failed] = await deliveriesOnceFirstIs(id, 'FAILED');
    expect(failed).toMatchObject({
      attempts: 1,
      responseStatus: status,
      lastError: `HTTP ${status}`,
    });
    expect(hooks.received).toHaveLength(1);
  });

  it('retries a timeout and a refused connection, then fails', async () => {
    const silent = await receiver();
    silent.respond = () => null;
    const closed = await startWebhookReceiver();
    const closedUrl = closed.url;
    await closed.close();
    const timingOut = await createEndpoint(silent.url, ['ORDER_CREATED']);
    const refused = await createEndpoint(closedUrl, ['ORDER_CREATED']);
    workers.push(
      startWebhookWorker({
        database: t.database,
        logger: pino({ level: 'silent' }),
        retryScheduleMs: [50],
        urlPolicy: { requireHttps: false, allowPrivate: true },
        pollIntervalMs: 20,
        timeoutMs: 200,
      }),
    );
    await createOrder();
    const [timedOut] = await deliveriesOnceFirstIs(timingOut.id, 'FAILED');
    expect(timedOut).toMatchObject({
      attempts: 2,
      responseStatus: null,
      lastError: 'No response within 200 ms.',
    });
    expect(silent.received).toHaveLength(2);
    const [unreachable] = await deliveriesOnceFirstIs(refused.id, 'FAILED');
    expect(unreachable).toMatchObject({ attempts: 2, responseStatus: null });
    expect(unreachable!.lastError).toMatch(/^ECONNREFUSED/);
  });

  it('delivers each event once with two workers running', async () => {
    const hooks = await receiver();
    const { id } = await createEndpoint(hooks.url, ['ORDER_CREATED']);
    for (let i = 0; i < 8; i++) await createOrder();
    worker();
    worker();
    await eventually(async () => {
      const deliveries = await deliveriesOf(id);
      return deliveries.length === 8 && deliveries.every((d) => d.status === 'SUCCEEDED');
    });
    expect(hooks.received).toHaveLength(8);
    expect(new Set(hooks.received.map((r) => r.headers['webhook-id'])).size).toBe(8);
  });

  it('delivers after a restart what a crashed worker had claimed, once its lease expired', async () => {
    const hooks = await receiver();
    const { id } = await createEndpoint(hooks.url, ['ORDER_CREATED']);
    await createOrder();
    // A worker claims the delivery and dies before sending it (kill -9): its lease is all
    // that is left of it.
    const claimed = await claimDueDeliveries(t.database.db, { limit: 10, leaseMs: 200 });
    expect(claimed).toHaveLength(1);
    expect((await deliveriesOf(id))[0]).toMatchObject({ status: 'PENDING', attempts: 1 });
    // While the lease holds, nobody else claims it.
    expect(await claimDueDeliveries(t.database.db, { limit: 10, leaseMs: 60_000 })).toEqual([]);
    worker();
    await eventually(async () => (await deliveriesOf(id))[0]?.status === 'SUCCEEDED');
    expect(hooks.received).toHaveLength(1);
    expect(hooks.received[0]!.headers['webhook-id']).toBe(claimed[0]!.eventId);
    expect((await deliveriesOf(id))[0]).toMatchObject({ attempts: 2 });
  });

  it('signs with the old and the new secret after a rotation', async () => {
    const hooks = await receiver();
    const { id, secret: oldSecret } = await createEndpoint(hooks.url, ['ORDER_CREATED']);
    const rotated = await t.graphql(ROTATE_SECRET, { input: { id } }, { as: 'acme/alice' });
    const newSecret = rotated.body.data?.rotateWebhookSecret.signingSecret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    worker();
    await createOrder();
    await eventually(() => hooks.received.length >= 1);
    const received = hooks.received[0]!;
    const signatures = String(received.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((signature) => signature.startsWith('v1,'))).toBe(true);
    verify(newSecret, received);
    verify(oldSecret, received);
  });

  it('holds events of a disabled endpoint until it is enabled again', async () => {
    const hooks = await receiver();
    const { id } = await createEndpoint(hooks.url, ['ORDER_CREATED']);
    await createOrder();
    const disabled = await t.graphql(
      UPDATE_ENDPOINT,
      { input: { id, enabled: false } },
      { as: 'acme/alice' },
    );
    expect(disabled.body.data?.updateWebhookEndpoint.webhookEndpoint.enabled).toBe(false);
    // Disabled: no new deliveries, and the pending one waits.
    await createOrder();
    worker();
    expect(await claimDueDeliveries(t.database.db, { limit: 10, leaseMs: 1 })).toEqual([]);
    expect(await deliveriesOf(id)).toHaveLength(1);
    await t.graphql(UPDATE_ENDPOINT, { input: { id, enabled: true } }, { as: 'acme/alice' });
    await eventually(() => hooks.received.length >= 1);
    expect(hooks.received).toHaveLength(1);
  });

  it('refuses at delivery an endpoint that resolves to a private address when not allowed', async () => {
    const hooks = await receiver();
    const { id } = await createEndpoint(hooks.url, ['ORDER_CREATED']);
    workers.push(
      startWebhookWorker({
        database: t.database,
        logger: pino({ level: 'silent' }),
        retryScheduleMs: [50],
        urlPolicy: { requireHttps: false, allowPrivate: false },
        pollIntervalMs: 20,
      }),
    );
    await createOrder();
    const [failed] = await deliveriesOnceFirstIs(id, 'FAILED');
    expect(failed).toMatchObject({
      attempts: 1,
      responseStatus: null,
      lastError: 'The URL resolves to a loopback, private or otherwise non-public address.',
    });
    expect(hooks.received).toHaveLength(0);
  });
});
