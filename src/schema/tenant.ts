import type { TenantRow } from '../db/schema.ts';
import { batched, loadTenants } from '../loaders/index.ts';
import { auth } from './auth.ts';
import { builder } from './builder.ts';
import { PlanEnum } from './common.ts';
import { tenantIdOf } from './viewer-access.ts';

export const Tenant = builder.loadableNodeRef<TenantRow>('Tenant', {
  id: { resolve: (tenant) => tenant.id },
  load: batched((ids: string[], ctx) => loadTenants(ctx.tx, tenantIdOf(ctx), ids)),
  toKey: (tenant) => tenant.id,
  sort: true,
});

Tenant.implement({
  description: 'An organisation using the API. Every other object belongs to exactly one tenant.',
  ...auth({}),
  fields: (t) => ({
    slug: t.exposeString('slug', { description: 'URL-safe unique name, e.g. `acme`.' }),
    name: t.exposeString('name', { description: 'Display name.' }),
    displayName: t.exposeString('name', {
      description: 'Display name: the old name of `name`.',
      deprecationReason: 'Use `name`. Deprecated: 2026-12-05. Sunset: 2027-06-30.',
    }),
    plan: t.expose('plan', { type: PlanEnum, description: 'Subscription plan.' }),
    createdAt: t.expose('createdAt', {
      type: 'DateTime',
      description: 'When the tenant was created.',
    }),
  }),
});
