import type { Viewer as ViewerShape } from '../auth/viewer.ts';
import { batched, loadApiKey } from '../loaders/index.ts';
import { ApiKey } from './api-key.ts';
import { builder } from './builder.ts';
import { connectionListSize } from './cost-directives.ts';
import { OrderConnection } from './order.ts';
import { loadOrderConnectionsOfUsers, orderListArgs } from './order-lists.ts';
import { Tenant } from './tenant.ts';
import { User } from './user.ts';

const Viewer = builder.objectRef<ViewerShape>('Viewer').implement({
  description:
    'The caller: the user (or API key) and tenant its credential names, and what it may do.',
  fields: (t) => ({
    user: t.field({
      type: User,
      nullable: true,
      description: 'The calling user; null for an API key, or if the user no longer exists.',
      resolve: (viewer) => viewer.userId,
    }),
    apiKey: t.field({
      type: ApiKey,
      nullable: true,
      description: 'The calling API key; null when the caller is a user.',
      resolve: (viewer, _args, ctx) =>
        viewer.apiKeyId === null ? null : loadApiKey(ctx.tx, viewer.tenantId, viewer.apiKeyId),
    }),
    tenant: t.field({
      type: Tenant,
      nullable: true,
      description: "The caller's tenant; null if it no longer exists.",
      resolve: (viewer) => viewer.tenantId,
    }),
    scopes: t.stringList({
      description:
        "The caller's effective scopes: its role's, narrowed by the token; an API key's own.",
      resolve: (viewer) => [...viewer.scopes].sort(),
    }),
    orders: t.loadable({
      type: OrderConnection,
      description: "The caller's own orders, newest first by default.",
      byPath: true,
      directives: connectionListSize,
      args: orderListArgs(t.arg),
      load: batched((userIds: string[], ctx, args) =>
        loadOrderConnectionsOfUsers(ctx, userIds, args),
      ),
      // An API key is no customer: its page is empty.
      resolve: (viewer) => viewer.userId ?? '',
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    nullable: true,
    description: 'Who is calling; null for anonymous callers (no token).',
    resolve: (_root, _args, ctx) => ctx.viewer,
  }),
);
