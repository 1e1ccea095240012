/**
 * The HTTP requests of each `npm run bench` scenario, as autocannon request lists: what a
 * frontend sends (persisted operations by `documentId`, bearer tokens of the demo users) and
 * what an attacker sends (documents too deep, alias floods, oversize documents and bodies).
 * Building them is pure; bench/bench.ts decides who sends them, how many at once and for how
 * long.
 */
import type autocannon from 'autocannon';
import type { Manifest } from '../src/persisted-operations/manifest.ts';

export type BenchRequest = autocannon.Request;

/** A persisted operation as a client knows it: its id and, for text variants, its document. */
export interface PersistedOperation {
  readonly documentId: string;
  readonly document: string;
}

export function persistedOperation(manifest: Manifest, name: string): PersistedOperation {
  const found = Object.entries(manifest.operations).find(([, entry]) => entry.name === name);
  if (!found) throw new Error(`The persisted-operation manifest has no operation named ${name}.`);
  const [sha256, entry] = found;
  return { documentId: `sha256:${sha256}`, document: entry.document };
}

export const GRAPHQL_PATH = '/graphql';

function headersFor(token: string | null) {
  return {
    'content-type': 'application/json',
    // GraphQL over HTTP's own media type: a rejected operation is a 4xx, not a 200 with errors.
    accept: 'application/graphql-response+json',
    ...(token === null ? {} : { authorization: `Bearer ${token}` }),
  };
}

function post(token: string | null, body: string): BenchRequest {
  return { method: 'POST', path: GRAPHQL_PATH, headers: headersFor(token), body };
}

/**
 * (a) The orders page (OrderList: `orders(first: 20)` with customer and items → product).
 * With `acceptEncoding`, the client asks for a compressed answer (the compression rows).
 */
export function orderListRequests(
  token: string,
  orderList: PersistedOperation,
  acceptEncoding?: string,
): BenchRequest[] {
  const request = post(token, JSON.stringify({ documentId: orderList.documentId }));
  if (acceptEncoding === undefined) return [request];
  return [{ ...request, headers: { ...request.headers, 'accept-encoding': acceptEncoding } }];
}

/**
 * OrderList with another page size, sent as text: the committed operation has the size as a
 * literal (a variable one is costed at its worst case), so no other size is registered.
 */
export function orderListText(orderList: PersistedOperation, pageSize: number): string {
  const pattern = /orders\(first: 20,/;
  if (!pattern.test(orderList.document)) {
    throw new Error('OrderList no longer asks for `orders(first: 20, …)`; update the bench.');
  }
  return orderList.document.replace(pattern, `orders(first: ${pageSize},`);
}

export function orderListPageRequests(
  token: string,
  orderList: PersistedOperation,
  pageSize: number,
): BenchRequest[] {
  return [post(token, JSON.stringify({ query: orderListText(orderList, pageSize) }))];
}

/** Words of the seeded product names (src/db/seed.ts): each matches a few hundred products. */
export const SEARCH_TERMS = [
  'lamp',
  'bamboo',
  'desk',
  'ceramic',
  'linen',
  'bottle',
  'marble',
  'chair',
  'leather',
  'clock',
] as const;

/** (b) The catalogue page with a search, a different word on each request. */
export function productSearchRequests(
  token: string,
  productList: PersistedOperation,
): BenchRequest[] {
  let sent = 0;
  const request = post(token, '');
  return [
    {
      ...request,
      setupRequest: (next) => {
        const search = SEARCH_TERMS[sent++ % SEARCH_TERMS.length];
        return {
          ...next,
          body: JSON.stringify({
            documentId: productList.documentId,
            variables: { first: 20, filter: { search } },
          }),
        };
      },
    },
  ];
}

/** The variables of a one-line createOrder, keyed by `clientMutationId`. */
export function createOrderVariables(clientMutationId: string, productId: string) {
  return {
    input: {
      clientMutationId,
      items: [{ productId, quantity: 1 }],
      note: 'npm run bench',
    },
  };
}

/**
 * (c) Checkouts: a fresh idempotency key on every request (`<keyPrefix>-<n>`), one unit of a
 * product taken in turn from `productIds` (products with enough stock for the whole run).
 */
export function createOrderRequests(
  token: string,
  createOrder: PersistedOperation,
  productIds: readonly string[],
  keyPrefix: string,
): BenchRequest[] {
  if (productIds.length === 0) throw new Error('createOrder needs at least one product id.');
  let sent = 0;
  return [
    {
      ...post(token, ''),
      setupRequest: (next) => {
        const n = sent++;
        const productId = productIds[n % productIds.length] as string;
        return {
          ...next,
          body: JSON.stringify({
            documentId: createOrder.documentId,
            variables: createOrderVariables(`${keyPrefix}-${n}`, productId),
          }),
        };
      },
    },
  ];
}

/** (d) Retries: the same checkout, the same key, again and again (the first one created it). */
export function replayRequests(
  token: string,
  createOrder: PersistedOperation,
  productId: string,
  key: string,
): BenchRequest[] {
  return [
    post(
      token,
      JSON.stringify({
        documentId: createOrder.documentId,
        variables: createOrderVariables(key, productId),
      }),
    ),
  ];
}

/**
 * A valid query `levels` times deeper than its first level: an order's customer's orders'
 * customer's … A client never needs it; an attacker uses it to multiply the work.
 */
export function tooDeepDocument(levels: number): string {
  let selection = 'id';
  for (let level = 0; level < levels; level++) {
    selection = `customer { orders(first: 1) { nodes { ${selection} } } }`;
  }
  return `query TooDeep { orders(first: 1) { nodes { ${selection} } } }`;
}

/** One field asked `aliases` times under different names. */
export function aliasFloodDocument(aliases: number): string {
  const fields = Array.from({ length: aliases }, (_, i) => `a${i}: scopes`).join(' ');
  return `query AliasFlood { viewer { ${fields} } }`;
}

/** A small query padded with a comment to `bytes` characters. */
export function paddedDocument(bytes: number): string {
  const query = 'query Padded { viewer { scopes } }\n';
  return `${query}#${'x'.repeat(Math.max(0, bytes - query.length - 1))}`;
}

/** What each attack request is meant to trip over, with the server's limits at their defaults. */
export const ATTACKS = {
  /** 8 levels of customer → orders → nodes: depth 27, the limit is MAX_DEPTH=10. */
  tooDeep: { document: tooDeepDocument(8) },
  /** 100 aliases, the limit is MAX_ALIASES=15. */
  aliasFlood: { document: aliasFloodDocument(100) },
  /** A 50 KB document, the limit is MAX_DOCUMENT_SIZE=15000 characters (the body is allowed). */
  oversizeDocument: { document: paddedDocument(50_000) },
  /** A 120 KB body, the limit is MAX_BODY_SIZE=100kb: refused (413) before it is read. */
  oversizeBody: { document: paddedDocument(120 * 1024) },
} as const;

/** (e) The attacker's connections: each cycles through the four attacks. */
export function attackRequests(token: string): BenchRequest[] {
  return Object.values(ATTACKS).map(({ document }) =>
    post(token, JSON.stringify({ query: document })),
  );
}
