import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';

const WHO_AM_I = /* GraphQL */ `
  query WhoAmI {
    viewer {
      scopes
      user { username role }
      tenant { slug plan }
    }
  }
`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('viewer', () => {
  it('describes the caller from the token', async () => {
    const response = await t.graphql(WHO_AM_I, {}, { as: 'acme/bob' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: {
        viewer: {
          scopes: ['read:orders', 'read:products', 'write:orders'],
          user: { username: 'bob', role: 'member' },
          tenant: { slug: 'acme', plan: 'pro' },
        },
      },
    });
  });

  it('is null for anonymous callers', async () => {
    const response = await t.graphql(WHO_AM_I);
    expect(response.body).toEqual({ data: { viewer: null } });
  });
});
