/** The demo tenants and their users (DESIGN.md "Demo data"), with fixed ids. */
import { IdPrefix, idFromParts } from '../../ids.ts';
import type { Plan, Role } from '../schema.ts';
import { counterFor, demoUserCreatedAt, tenantCreatedAt } from './timeline.ts';

export interface DemoUser {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly email: string;
  readonly displayName: string;
}

export interface DemoTenant {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly plan: Plan;
  readonly users: readonly DemoUser[];
}

interface DemoTenantDefinition {
  slug: string;
  name: string;
  plan: Plan;
  users: { username: string; role: Role; displayName: string }[];
}

const DEMO_DEFINITIONS: DemoTenantDefinition[] = [
  {
    slug: 'acme',
    name: 'Acme Corporation',
    plan: 'pro',
    users: [
      { username: 'alice', role: 'admin', displayName: 'Alice Anderson' },
      { username: 'bob', role: 'member', displayName: 'Bob Brown' },
      { username: 'carol', role: 'viewer', displayName: 'Carol Clark' },
    ],
  },
  {
    slug: 'globex',
    name: 'Globex Inc.',
    plan: 'free',
    users: [
      { username: 'dave', role: 'admin', displayName: 'Dave Davis' },
      { username: 'erin', role: 'member', displayName: 'Erin Evans' },
      { username: 'frank', role: 'viewer', displayName: 'Frank Foster' },
    ],
  },
];

/**
 * The demo tenants and users with their fixed ids: enough to mint a development token for
 * `alice` (or print one per demo user) without opening the database.
 */
export const DEMO_TENANTS: readonly DemoTenant[] = Object.freeze(
  DEMO_DEFINITIONS.map((definition, tenantIndex) =>
    Object.freeze({
      id: idFromParts(IdPrefix.Tenant, tenantCreatedAt(tenantIndex), tenantIndex + 1),
      slug: definition.slug,
      name: definition.name,
      plan: definition.plan,
      users: Object.freeze(
        definition.users.map((user, userIndex) =>
          Object.freeze({
            id: idFromParts(
              IdPrefix.User,
              demoUserCreatedAt(tenantIndex, userIndex),
              counterFor(tenantIndex, false, userIndex + 1),
            ),
            username: user.username,
            role: user.role,
            email: `${user.username}@${definition.slug}.example`,
            displayName: user.displayName,
          }),
        ),
      ),
    }),
  ),
);
