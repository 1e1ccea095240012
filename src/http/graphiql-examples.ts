/**
 * The tabs GraphiQL opens with in development: one example per thing a newcomer wants to
 * try first. The Authorization header is pre-filled with a demo token when there is one.
 */
const WHO_AM_I = `# Who am I? Change the Authorization header (below) to act as another demo user.
query WhoAmI {
  viewer {
    scopes
    user { id username displayName role }
    tenant { slug name plan }
  }
}
`;

const PRODUCTS = `# Products: keyset pagination, a text filter and an ordering.
query Products($after: String) {
  products(first: 5, after: $after, filter: { search: "a" }, orderBy: { field: PRICE, direction: DESC }) {
    nodes { id name price { amount currency } stock }
    pageInfo { hasNextPage endCursor }
  }
}
`;

const ORDERS = `# Orders with customers, items and products: batched, a handful of SQL statements.
query Orders {
  orders(first: 10, filter: { status: [pending, confirmed] }) {
    nodes {
      id status total { amount currency } createdAt
      customer { username }
      items { quantity unitPrice { amount } product { name } }
    }
  }
}
`;

const CREATE_ORDER = `# Place an order (members and admins). Copy a product id from the Products tab.
# clientMutationId is the idempotency key: running this again with the same key replays the
# first answer; change it (e.g. a new UUID) for each new order.
mutation CreateOrder($key: ID!, $productId: ID!) {
  createOrder(input: { clientMutationId: $key, items: [{ productId: $productId, quantity: 1 }] }) {
    order { id status total { amount currency } }
    userErrors { field code message }
  }
}
`;

/** The headers editor's text: the Authorization header when there is a demo token. */
export function graphiqlHeaders(authorizationHeader: string | undefined): string | undefined {
  return authorizationHeader
    ? JSON.stringify({ Authorization: authorizationHeader }, null, 2)
    : undefined;
}

export function graphiqlTabs(authorizationHeader: string | undefined) {
  const headers = graphiqlHeaders(authorizationHeader);
  return [
    { query: WHO_AM_I, headers },
    { query: PRODUCTS, headers },
    { query: ORDERS, headers },
    {
      query: CREATE_ORDER,
      headers,
      variables: JSON.stringify({ key: 'order-1', productId: 'prod_…' }, null, 2),
    },
  ];
}
