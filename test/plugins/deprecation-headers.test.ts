/**
 * Deprecated fields (src/plugins/deprecation-headers.ts): an operation that selects one gets
 * `Deprecation` and `Sunset` headers and is counted by field; one that does not gets neither.
 * Every deprecated field of the schema states both dates, the sunset after the deprecation.
 */
import { getNamedType, isInterfaceType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deprecationDatesOf } from '../../src/plugins/deprecation-headers.ts';
import { schema } from '../../src/schema/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { parseMetrics, series } from '../helpers/metrics.ts';

const TOKEN = 'scrape-token-deprecation-0123456789';

const OLD_NAME = /* GraphQL */ `
  query OldName {
    viewer { tenant { displayName } }
  }
`;

const CURRENT_NAME = /* GraphQL */ `
  query CurrentName {
    viewer { tenant { name } }
  }
`;

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { METRICS_TOKEN: TOKEN } });
});
afterAll(() => t.close());

async function post(query: string) {
  const token = await t.token('acme/alice');
  return t.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
}

async function usage(field: string) {
  const response = await t.fetch('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
  const samples = parseMetrics(await response.text());
  return samples.get(series('orders_api_deprecated_field_usage_total', { field })) ?? 0;
}

describe('an operation selecting a deprecated field', () => {
  it('still gets the field, with Deprecation and Sunset headers', async () => {
    const response = await post(OLD_NAME);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: unknown }).data).toEqual({
      viewer: { tenant: { displayName: 'Acme Corporation' } },
    });
    // RFC 9745: a structured-field date, seconds since the epoch; RFC 8594: an HTTP-date.
    expect(response.headers.get('deprecation')).toBe(
      `@${Date.parse('2026-12-05T00:00:00Z') / 1000}`,
    );
    expect(response.headers.get('sunset')).toBe('Wed, 30 Jun 2027 00:00:00 GMT');
  });

  it('is counted by field, once per operation', async () => {
    const before = await usage('Tenant.displayName');
    await post(OLD_NAME);
    await post(`{ viewer { tenant { a: displayName b: displayName } } }`);
    expect(await usage('Tenant.displayName')).toBe(before + 2);
  });

  it('lets pages of allowed origins read the headers (CORS exposes them)', async () => {
    const { EXPOSED_HEADERS } = await import('../../src/http/cors.ts');
    expect(EXPOSED_HEADERS).toEqual(expect.arrayContaining(['Deprecation', 'Sunset']));
  });
});

describe('an operation without deprecated fields', () => {
  it('gets neither header and counts nothing', async () => {
    const before = await usage('Tenant.displayName');
    const response = await post(CURRENT_NAME);
    expect(response.status).toBe(200);
    expect(response.headers.get('deprecation')).toBeNull();
    expect(response.headers.get('sunset')).toBeNull();
    expect(await usage('Tenant.displayName')).toBe(before);
  });
});

describe('the schema', () => {
  it('gives every deprecated field a deprecation date and a later sunset date', () => {
    const deprecated: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      const named = getNamedType(type);
      if (!isObjectType(named) && !isInterfaceType(named)) continue;
      for (const field of Object.values(named.getFields())) {
        if (!field.deprecationReason) continue;
        deprecated.push(`${named.name}.${field.name}`);
        const dates = deprecationDatesOf(field.deprecationReason);
        expect(dates, `${named.name}.${field.name}: ${field.deprecationReason}`).toBeDefined();
        expect(dates?.sunsetAt).toBeGreaterThan(dates?.deprecatedAt ?? Infinity);
      }
    }
    expect(deprecated).toContain('Tenant.displayName');
  });

  it('reads the dates from a reason, and nothing from a reason without them', () => {
    expect(deprecationDatesOf('Use `x`. Deprecated: 2026-01-02. Sunset: 2026-07-01.')).toEqual({
      deprecatedAt: Date.parse('2026-01-02T00:00:00Z'),
      sunsetAt: Date.parse('2026-07-01T00:00:00Z'),
    });
    expect(deprecationDatesOf('Use `x`. Sunset: 2026-07-01.')).toBeUndefined();
    expect(
      deprecationDatesOf('Use `x`. Deprecated: 2026-13-45. Sunset: 2026-07-01.'),
    ).toBeUndefined();
  });
});
