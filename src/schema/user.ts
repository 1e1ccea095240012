import { type UserRow, users } from '../db/schema.ts';
import {
  batched,
  loadUsers,
  loadUsersPage,
  USER_SORT_KEYS,
  userListConditions,
} from '../loaders/index.ts';
import { keysetConnection } from '../loaders/pagination.ts';
import { auth } from './auth.ts';
import { builder } from './builder.ts';
import { OrderDirectionEnum, RoleEnum } from './common.ts';
import { connectionListSize } from './cost-directives.ts';
import { Tenant } from './tenant.ts';
import { requireViewer, tenantIdOf } from './viewer-access.ts';

export const User = builder.loadableNodeRef<UserRow>('User', {
  id: { resolve: (user) => user.id },
  load: batched((ids: string[], ctx) => loadUsers(ctx.tx, tenantIdOf(ctx), ids)),
  toKey: (user) => user.id,
  sort: true,
});

User.implement({
  description: 'A person in a tenant: a customer, a member of staff, or an admin.',
  ...auth({}),
  fields: (t) => ({
    username: t.exposeString('username', {
      description: 'Unique in the tenant; 3–32 of a-z 0-9 _ -.',
    }),
    displayName: t.exposeString('displayName', { description: 'Name to show; may be empty.' }),
    email: t.exposeString('email', {
      nullable: true,
      description: 'Email address. Personal data: needs `read:pii`, or being this user.',
      ...auth({ requires: ['read:pii'], self: (user: UserRow) => user.id }),
    }),
    role: t.expose('role', { type: RoleEnum, description: 'What the user may do.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user joined.' }),
    erasedAt: t.expose('erasedAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'When the personal data was erased (eraseUser): username, display name and email are then a tombstone. Null if never.',
    }),
    tenant: t.field({
      type: Tenant,
      description: 'The tenant the user belongs to.',
      resolve: (user) => user.tenantId,
    }),
  }),
});

builder.queryFields((t) => ({
  users: t.connection(
    {
      type: User,
      nullable: true,
      description: "Your tenant's users, oldest first. Admins only (`read:users`).",
      ...auth({ requires: ['read:users'], roles: ['admin'] }, connectionListSize),
      args: {
        role: t.arg({ type: RoleEnum, description: 'Only users with this role.' }),
        direction: t.arg({
          type: OrderDirectionEnum,
          description: 'Sort by join time in this direction (default ASC).',
        }),
      },
      resolve: (_root, args, ctx) => {
        const viewer = requireViewer(ctx);
        const conditions = userListConditions(viewer.tenantId, { role: args.role });
        return keysetConnection({
          args,
          limits: ctx.config.pagination,
          sort: USER_SORT_KEYS.CREATED_AT,
          direction: args.direction ?? 'asc',
          idColumn: users.id,
          fetch: (page) => loadUsersPage(ctx.tx, conditions, page),
        });
      },
    },
    { name: 'UserConnection', description: 'A page of users.' },
    { name: 'UserEdge', description: 'A user and its cursor.' },
  ),
}));
