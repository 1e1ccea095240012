/**
 * The request body limit (MAX_BODY_SIZE), before any parsing: a declared Content-Length over it
 * is refused without reading a byte, and a body without one (chunked) is read no further than
 * the limit. Either way: 413 REQUEST_ENTITY_TOO_LARGE with the request id, nothing executed.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitCostReport, startTestApp, type TestApp } from '../helpers/app.ts';
import { newClientMutationId } from '../helpers/keys.ts';

const LIMIT = 1024;
const CHUNK = 256;

const TOO_LARGE = {
  message: 'Request body too large',
  extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' },
};

const CREATE_PRODUCT = /* GraphQL */ `
  mutation ($input: CreateProductInput!) { createProduct(input: $input) { product { id } } }
`;

const PRODUCT_NAMES = /* GraphQL */ `
  query ($search: String!) { products(first: 5, filter: { search: $search }) { nodes { name } } }
`;

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { MAX_BODY_SIZE: '1kb' } });
});

afterAll(async () => {
  await t.close();
});

/** `{ __typename }` as a JSON body of exactly `bytes` bytes. */
function bodyOfSize(bytes: number): string {
  const empty = JSON.stringify({ query: '{ __typename }', variables: { pad: '' } });
  return JSON.stringify({
    query: '{ __typename }',
    variables: { pad: 'x'.repeat(bytes - empty.length) },
  });
}

/**
 * A request body that never ends, read only on demand, counting what the server read of it: a
 * server that read to the end would never answer.
 */
function endlessBody() {
  let bytesRead = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        bytesRead += CHUNK;
        controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, bytesRead: () => bytesRead };
}

function post(body: BodyInit, headers: Record<string, string> = {}) {
  return t.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    duplex: 'half',
  } as RequestInit);
}

describe('a body within MAX_BODY_SIZE', () => {
  it('is executed when it is exactly the limit', async () => {
    const body = bodyOfSize(LIMIT);
    expect(Buffer.byteLength(body)).toBe(LIMIT);
    const response = await post(body);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { __typename: 'Query' } });
  });

  it('is executed when its declared Content-Length is exactly the limit', async () => {
    const response = await post(bodyOfSize(LIMIT), { 'content-length': String(LIMIT) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { __typename: 'Query' } });
  });
});

describe('a body over MAX_BODY_SIZE', () => {
  it('is refused with 413 REQUEST_ENTITY_TOO_LARGE and the request id when one byte over', async () => {
    const response = await post(bodyOfSize(LIMIT + 1));
    expect(response.status).toBe(413);
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(splitCostReport(await response.json()).body).toEqual({
      errors: [{ ...TOO_LARGE, extensions: { ...TOO_LARGE.extensions, requestId } }],
    });
  });

  it('keeps a well-formed incoming X-Request-Id in the refusal', async () => {
    const response = await post(bodyOfSize(LIMIT + 1), { 'x-request-id': 'edge-test-0001' });
    expect(response.headers.get('x-request-id')).toBe('edge-test-0001');
    expect(splitCostReport(await response.json()).body).toEqual({
      errors: [
        { ...TOO_LARGE, extensions: { ...TOO_LARGE.extensions, requestId: 'edge-test-0001' } },
      ],
    });
  });

  it('is refused on its declared Content-Length alone, without reading a byte of it', async () => {
    const body = endlessBody();
    const response = await post(body.stream, { 'content-length': String(LIMIT + 1) });
    expect(response.status).toBe(413);
    expect((await response.json()).errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    expect(body.bytesRead()).toBe(0);
  });

  it('is read no further than the limit when it has no Content-Length (chunked)', async () => {
    const body = endlessBody();
    const response = await post(body.stream);
    expect(response.status).toBe(413);
    expect((await response.json()).errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    // Up to the chunk that crossed the limit, and not one more.
    expect(body.bytesRead()).toBeGreaterThan(LIMIT);
    expect(body.bytesRead()).toBeLessThanOrEqual(LIMIT + CHUNK);
  });

  it('executes nothing: the mutation that creates a product within the limit does not over it', async () => {
    const createProduct = (name: string, padding: number) =>
      post(
        JSON.stringify({
          query: CREATE_PRODUCT,
          variables: {
            input: {
              clientMutationId: newClientMutationId('product'),
              name,
              price: { amount: 100, currency: 'EUR' },
            },
            // Not a variable of the operation: ignored, only there to make the body larger.
            padding: 'x'.repeat(padding),
          },
        }),
        { authorization: `Bearer ${token}` },
      );
    const token = await t.token('acme/alice');
    expect((await createProduct('Within the body limit', 0)).status).toBe(200);
    expect((await createProduct('Over the body limit', LIMIT)).status).toBe(413);
    const found = await t.graphql(PRODUCT_NAMES, { search: 'body limit' }, { as: 'acme/alice' });
    expect(found.body).toEqual({
      data: { products: { nodes: [{ name: 'Within the body limit' }] } },
    });
  });
});

describe('a malformed Content-Length', () => {
  it('is refused with 400 when it is not one number, without reading the body', async () => {
    const body = endlessBody();
    const response = await post(body.stream, { 'content-length': '10, 5000' });
    expect(response.status).toBe(400);
    expect(splitCostReport(await response.json()).body).toEqual({
      errors: [
        {
          message: 'Content-Length header is invalid.',
          extensions: { code: 'BAD_REQUEST', requestId: response.headers.get('x-request-id') },
        },
      ],
    });
    expect(body.bytesRead()).toBe(0);
  });
});

describe('over a real connection', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer(t.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers 413 to a declared Content-Length over the limit before the body is sent', async () => {
    const socket = connect(port, '127.0.0.1');
    socket.write(
      'POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${100 * LIMIT}\r\n\r\n`,
    );
    // Only the headers went out: a server waiting for the body would never answer.
    const statusLine = await new Promise<string>((resolve, reject) => {
      socket.setEncoding('utf8');
      socket.once('data', (chunk: string) => resolve(chunk.split('\r\n')[0]!));
      socket.once('error', reject);
    });
    socket.destroy();
    expect(statusLine).toBe('HTTP/1.1 413 Payload Too Large');
  });
});
