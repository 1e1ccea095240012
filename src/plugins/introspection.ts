/**
 * Introspection (`__schema`, `__type`): open to everyone in development, only to admins in
 * production, where the schema is a map for attackers and clients use the published
 * schema.graphql instead. `__typename` is always allowed: clients need it to read unions.
 *
 * @graphql-yoga/plugin-disable-introspection decides in onRequestParse, before the
 * authentication plugin has built the viewer, so it cannot let admins through. The check is
 * graphql-js's own NoSchemaIntrospectionCustomRule, run at execution start, when the viewer
 * is known and before anything is charged or any transaction opens.
 */
import { NoSchemaIntrospectionCustomRule, validate } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../context.ts';
import { apiError, ErrorCode } from '../errors.ts';

export interface IntrospectionOptions {
  /**
   * Whether every caller may introspect. Default `false`: only viewers with the admin role.
   * The app passes `!config.isProduction`.
   */
  openToAll?: boolean;
}

export const INTROSPECTION_REFUSED_MESSAGE =
  'Introspection is disabled for this caller: only admins may introspect in production. The schema is published as schema.graphql.';

export function useIntrospection(options: IntrospectionOptions = {}): Plugin<RequestContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (options.openToAll || args.contextValue.viewer?.role === 'admin') return;
      const introspects =
        validate(args.schema, args.document, [NoSchemaIntrospectionCustomRule]).length > 0;
      if (!introspects) return;
      setResultAndStopExecution({
        errors: [
          apiError(ErrorCode.FORBIDDEN, INTROSPECTION_REFUSED_MESSAGE, { http: { status: 403 } }),
        ],
      });
    },
  };
}
