import type { Viewer as ViewerShape } from '../auth/viewer.ts';
import { batched } from '../loaders/index.ts';
import { builder } from './builder.ts';
import { connectionListSize } from './cost-directives.ts';
import { OrderConnection } from './order.ts';
import { loadOrderConnectionsOfUsers, orderListArgs } from './order-lists.ts';
import { Tenant } from './tenant.ts';
import { User } from './user.ts';

const Viewer = builder.objectRef<ViewerShape>('Viewer').implement({
  description: 'The caller: the user and tenant its token names, and what it may do.',
  fields: (t) => ({
    user: t.field({
      type: User,
      nullable: true,
      description: 'The calling user; null if the user no longer exists.',
      resolve: (viewer) => viewer.userId,
    }),
    tenant: t.field({
      type: Tenant,
      nullable: true,
      description: "The caller's tenant; null if it no longer exists.",
      resolve: (viewer) => viewer.tenantId,
    }),
    scopes: t.stringList({
      description: "The caller's effective scopes: its role's, narrowed by the token.",
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
      resolve: (viewer) => viewer.userId,
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
