/**
 * API keys for server-to-server clients (docs/api-keys.md): `createApiKey`, `revokeApiKey`,
 * `apiKeys`, and `viewer.apiKey`. Admins with `admin:api-keys` manage their tenant's keys; a
 * key acts as a service principal of its tenant with its own scopes, budget and rate limits.
 */
import type { ApiKeyRow } from '../db/schema.ts';
import { apiKeys } from '../db/schema.ts';
import { API_KEY_SORT_KEY, loadApiKeysPage } from '../loaders/index.ts';
import { keysetConnection } from '../loaders/pagination.ts';
import { createApiKey, revokeApiKey } from '../services/api-keys.ts';
import { auth } from './auth.ts';
import { builder } from './builder.ts';
import { userErrorsField } from './common.ts';
import { connectionListSize, MUTATION_COST } from './cost-directives.ts';
import { runMutation } from './run-mutation.ts';
import { requireUser, requireViewer } from './viewer-access.ts';

const API_KEY_ADMINS = { requires: ['admin:api-keys'], roles: ['admin'] } as const;

export const ApiKey = builder.objectRef<ApiKeyRow>('ApiKey').implement({
  description:
    'A credential of a server-to-server client: sent as `Authorization: Bearer oak_…`, it acts for its tenant with its own scopes, cost budget and rate limits. The secret itself is shown once, by createApiKey.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The key id, `key_…`.' }),
    name: t.exposeString('name', { description: 'What the key is for, as its creator named it.' }),
    prefix: t.exposeString('prefix', {
      description: 'The first characters of the secret (`oak_` and 8 more), to recognise it by.',
    }),
    scopes: t.exposeStringList('scopes', { description: 'What the key may do.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it stops working; null if it does not expire.',
    }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'When it was last used, to the minute (it is recorded at most once a minute); null if never.',
    }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was revoked; null while it is not.',
    }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.connection(
    {
      type: ApiKey,
      nullable: true,
      description:
        "Your tenant's API keys, newest first, revoked ones included. Needs the admin role and `admin:api-keys`.",
      ...auth(API_KEY_ADMINS, connectionListSize),
      resolve: (_root, args, ctx) => {
        const viewer = requireViewer(ctx);
        return keysetConnection({
          args,
          limits: ctx.config.pagination,
          sort: API_KEY_SORT_KEY,
          direction: 'desc',
          idColumn: apiKeys.id,
          fetch: (page) => loadApiKeysPage(ctx.tx, viewer.tenantId, page),
        });
      },
    },
    { name: 'ApiKeyConnection', description: 'A page of API keys.' },
    { name: 'ApiKeyEdge', description: 'An API key and its cursor.' },
  ),
}));

builder.relayMutationField(
  'createApiKey',
  {
    name: 'CreateApiKeyInput',
    description: 'A new API key of your tenant.',
    inputFields: (t) => ({
      name: t.string({ required: true, description: 'What the key is for; 1–100 characters.' }),
      scopes: t.stringList({
        description:
          'What the key may do: scope names, none of them beyond your own. Omitted: your own scopes.',
      }),
      expiresAt: t.field({
        type: 'DateTime',
        description: 'When the key stops working (in the future); omitted: never.',
      }),
    }),
  },
  {
    description:
      'Creates an API key for a server-to-server client. The secret is in the payload, and only there: it is stored as a hash. Needs the admin role and `admin:api-keys`, as a user (a key cannot create keys).',
    nullable: true,
    ...auth(API_KEY_ADMINS, MUTATION_COST),
    resolve: async (_root, { input }, ctx, info) => {
      const userId = requireUser(requireViewer(ctx), 'An API key cannot create API keys.');
      return runMutation(ctx, { input, info, secretFields: ['secret'] }, (tx, actor) =>
        createApiKey(tx, { ...actor, userId }, input),
      );
    },
  },
  {
    name: 'CreateApiKeyPayload',
    description: 'The result of createApiKey.',
    outputFields: (t) => ({
      apiKey: t.field({
        type: ApiKey,
        nullable: true,
        description: 'The new key; null when there are userErrors.',
        resolve: (payload) => payload.apiKey,
      }),
      secret: t.string({
        nullable: true,
        description:
          'The secret to send as `Authorization: Bearer <secret>`, shown this once: the server keeps only its hash. Null when there are userErrors, and on a replay (a retry with the same clientMutationId), which cannot show it again: if the first answer was lost, revoke that key and create another.',
        resolve: (payload) => payload.secret,
      }),
      userErrors: userErrorsField(t),
    }),
  },
);

builder.relayMutationField(
  'revokeApiKey',
  {
    name: 'RevokeApiKeyInput',
    description: 'The API key to revoke.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The key id, `key_…`.' }),
    }),
  },
  {
    description:
      'Revokes an API key of your tenant: from then on it gets 401 UNAUTHENTICATED. Revoking a revoked key returns it unchanged. Needs the admin role and `admin:api-keys`.',
    nullable: true,
    ...auth(API_KEY_ADMINS, MUTATION_COST),
    resolve: async (_root, { input }, ctx, info) => {
      return runMutation(ctx, { input, info }, (tx, actor) =>
        revokeApiKey(tx, actor, String(input.id)),
      );
    },
  },
  {
    name: 'RevokeApiKeyPayload',
    description: 'The result of revokeApiKey.',
    outputFields: (t) => ({
      apiKey: t.field({
        type: ApiKey,
        nullable: true,
        description: 'The revoked key; null when there are userErrors.',
        resolve: (payload) => payload.apiKey,
      }),
      userErrors: userErrorsField(t),
    }),
  },
);
