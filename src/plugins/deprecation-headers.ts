/**
 * Tells clients, in HTTP, that they use fields on their way out. When an operation selects a
 * deprecated field the response carries
 *
 *     Deprecation: @1796428800                       (RFC 9745: when it was deprecated)
 *     Sunset: Wed, 30 Jun 2027 00:00:00 GMT          (RFC 8594: when it stops working)
 *
 * and `orders_api_deprecated_field_usage_total{field="Tenant.displayName"}` counts the
 * operations that selected it, so operators see who still depends on a field before its sunset.
 *
 * The dates come from the field's deprecation reason, which clients also see in the schema:
 * `@deprecated(reason: "Use `name`. Deprecated: 2026-12-05. Sunset: 2027-06-30.")`. Every
 * deprecated field must carry both (a test holds the schema to it). With several deprecated
 * fields in one response, the earliest of each date is sent.
 *
 * The walk over the document happens once per parsed document (Yoga caches documents, so a
 * repeated operation is the same object) and is kept in a WeakMap.
 */
import { type DocumentNode, type GraphQLSchema, TypeInfo, visit, visitWithTypeInfo } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** A deprecated field's coordinate and dates (milliseconds since the epoch). */
export interface DeprecatedField {
  readonly coordinate: string;
  readonly deprecatedAt: number;
  readonly sunsetAt: number;
}

const DATE_PATTERN = (label: string) => new RegExp(`${label}:\\s*(\\d{4}-\\d{2}-\\d{2})`);
const DEPRECATED = DATE_PATTERN('Deprecated');
const SUNSET = DATE_PATTERN('Sunset');

/** The two dates a deprecation reason states, or undefined when it lacks either. */
export function deprecationDatesOf(
  reason: string,
): { deprecatedAt: number; sunsetAt: number } | undefined {
  const deprecated = DEPRECATED.exec(reason)?.[1];
  const sunset = SUNSET.exec(reason)?.[1];
  if (!deprecated || !sunset) return undefined;
  const deprecatedAt = Date.parse(`${deprecated}T00:00:00Z`);
  const sunsetAt = Date.parse(`${sunset}T00:00:00Z`);
  if (Number.isNaN(deprecatedAt) || Number.isNaN(sunsetAt)) return undefined;
  return { deprecatedAt, sunsetAt };
}

const byDocument = new WeakMap<DocumentNode, readonly DeprecatedField[]>();

/** The deprecated fields `document` selects (each once), against `schema`. */
export function deprecatedFieldsOf(
  schema: GraphQLSchema,
  document: DocumentNode,
): readonly DeprecatedField[] {
  const cached = byDocument.get(document);
  if (cached) return cached;
  const found = new Map<string, DeprecatedField>();
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const field = typeInfo.getFieldDef();
        const parent = typeInfo.getParentType();
        const reason = field?.deprecationReason;
        if (!field || !parent || !reason) return;
        const coordinate = `${parent.name}.${field.name}`;
        const dates = deprecationDatesOf(reason);
        if (dates && !found.has(coordinate)) found.set(coordinate, { coordinate, ...dates });
      },
    }),
  );
  const fields = [...found.values()];
  byDocument.set(document, fields);
  return fields;
}

export interface DeprecationHeadersOptions {
  /** Where usage is counted; unset when metrics are off. */
  metrics?: Metrics;
}

export function useDeprecationHeaders(
  options: DeprecationHeadersOptions = {},
): Plugin<RequestContext> {
  const used = new WeakMap<Request, DeprecatedField[]>();
  return {
    onExecute({ args }) {
      const fields = deprecatedFieldsOf(args.schema, args.document);
      if (fields.length === 0) return;
      const request = (args.contextValue as RequestContext).request;
      const list = used.get(request) ?? [];
      list.push(...fields);
      used.set(request, list);
      for (const field of fields)
        options.metrics?.deprecatedFieldUsage.inc({ field: field.coordinate });
    },
    onResponse({ request, response }) {
      const fields = used.get(request);
      if (!fields) return;
      const deprecatedAt = Math.min(...fields.map((field) => field.deprecatedAt));
      const sunsetAt = Math.min(...fields.map((field) => field.sunsetAt));
      response.headers.set('Deprecation', `@${Math.floor(deprecatedAt / 1000)}`);
      response.headers.set('Sunset', new Date(sunsetAt).toUTCString());
    },
  };
}
