/**
 * `registerPersistedOperation`: a tenant's admin (with `admin:persisted-operations`) adds an
 * operation to that tenant's allow-list at run time, so its frontend can ship new operations
 * without a server deployment. The document is checked exactly as `npm run pq -- build` checks
 * the committed ones (persisted-operations/analyze.ts) and stored in `persisted_operations`,
 * which every instance reads. Registering the same document again returns the stored
 * operation (`created: false`): idempotent by hash, whatever the clientMutationId.
 *
 * Registrations are per tenant: the allow-list is the control production relies on, so one
 * tenant's admin must not widen it for the others. Only the committed manifest, which goes
 * through code review and a deployment, widens it for every tenant.
 */

import { principalIdOf } from '../auth/viewer.ts';
import type { PersistedOperationRow } from '../db/schema.ts';
import { type UserErrorShape, userError } from '../errors.ts';
import { withIdempotency } from '../idempotency/with-idempotency.ts';
import { analyzeOperation, type OperationType } from '../persisted-operations/analyze.ts';
import { insertOperation } from '../persisted-operations/store.ts';
import { recordAuditEvent } from '../services/audit.ts';
import { auth } from './auth.ts';
import { builder } from './builder.ts';
import { userErrorsField } from './common.ts';
import { MUTATION_COST } from './cost-directives.ts';
import { requireViewer } from './viewer-access.ts';

const OperationTypeEnum = builder.enumType('OperationType', {
  description: 'The kind of a GraphQL operation.',
  values: {
    QUERY: { value: 'query', description: 'A read.' },
    MUTATION: { value: 'mutation', description: 'A write.' },
    SUBSCRIPTION: { value: 'subscription', description: 'A stream of results.' },
  } as const,
});

const PersistedOperation = builder
  .objectRef<PersistedOperationRow>('PersistedOperation')
  .implement({
    description:
      "An operation on the allow-list of the caller's tenant: clients run it by sending its `id` as `documentId` instead of its text.",
    fields: (t) => ({
      id: t.id({
        description:
          'The GraphQL-over-HTTP document id, `sha256:<hex>`: the sha256 of `document`. Apollo clients send the hex part as `extensions.persistedQuery.sha256Hash`.',
        resolve: (operation) => `sha256:${operation.id}`,
      }),
      operationName: t.exposeString('operationName', {
        nullable: true,
        description: "The operation's name; null for an anonymous operation.",
      }),
      operationType: t.field({
        type: OperationTypeEnum,
        description: 'Query or mutation.',
        // The column's CHECK constraint holds it to these three values.
        resolve: (operation) => operation.operationType as OperationType,
      }),
      document: t.exposeString('document', {
        description: 'The document text, exactly as registered (its digests are its ids).',
      }),
      cost: t.exposeInt('cost', {
        description:
          'Static cost with worst-case variables (every page at its largest); a request is still charged for its real variables.',
      }),
      depth: t.exposeInt('depth', { description: 'Deepest nesting of fields.' }),
      createdAt: t.expose('createdAt', {
        type: 'DateTime',
        description: 'When it was registered.',
      }),
    }),
  });

interface RegisterPayload {
  persistedOperation: PersistedOperationRow | null;
  created: boolean;
  userErrors: UserErrorShape[];
}

builder.relayMutationField(
  'registerPersistedOperation',
  {
    name: 'RegisterPersistedOperationInput',
    description: "An operation to add to the allow-list of the caller's tenant.",
    inputFields: (t) => ({
      document: t.string({
        required: true,
        description:
          'The document text, exactly as clients will hash it: one operation and its fragments.',
      }),
    }),
  },
  {
    description:
      "Adds an operation to the allow-list of the caller's tenant (it runs for that tenant's callers only) after validating it against the schema and checking it against the depth, alias and cost limits (with worst-case variables); the operation must be named. Registering a document again returns the stored operation. Needs the admin role and `admin:persisted-operations`.",
    nullable: true,
    ...auth({ requires: ['admin:persisted-operations'], roles: ['admin'] }, MUTATION_COST),
    resolve: async (_root, { input }, ctx, info) => {
      const viewer = requireViewer(ctx);
      return withIdempotency(ctx, { input, info }, async (tx): Promise<RegisterPayload> => {
        const analysis = analyzeOperation(info.schema, input.document, ctx.config);
        if (!analysis.ok) {
          return {
            persistedOperation: null,
            created: false,
            userErrors: analysis.problems.map((problem) =>
              userError(problem.code, problem.message, ['input', 'document']),
            ),
          };
        }
        const outcome = await insertOperation(
          tx,
          viewer.tenantId,
          analysis.operation,
          principalIdOf(viewer),
        );
        if (outcome.status === 'collision') {
          return {
            persistedOperation: null,
            created: false,
            userErrors: [
              userError(
                'CONFLICT',
                'Another registered document has the same md5 or sha1 digest; change the document (e.g. its operation name).',
                ['input', 'document'],
              ),
            ],
          };
        }
        if (outcome.status === 'created') {
          await recordAuditEvent(
            tx,
            { viewer, requestId: ctx.requestId },
            'persisted_operation.registered',
            `sha256:${outcome.row.id}`,
          );
        }
        return {
          persistedOperation: outcome.row,
          created: outcome.status === 'created',
          userErrors: [],
        };
      });
    },
  },
  {
    name: 'RegisterPersistedOperationPayload',
    description: 'The result of registerPersistedOperation.',
    outputFields: (t) => ({
      persistedOperation: t.field({
        type: PersistedOperation,
        nullable: true,
        description: 'The operation on the allow-list; null when there are userErrors.',
        resolve: (payload) => payload.persistedOperation,
      }),
      created: t.boolean({
        description: 'True when this call added it; false when it was registered already.',
        resolve: (payload) => payload.created,
      }),
      userErrors: userErrorsField(t),
    }),
  },
);
