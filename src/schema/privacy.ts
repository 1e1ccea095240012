/**
 * Privacy (docs/privacy.md): `dataExport`, `eraseUser` and the audit log (`auditEvents`).
 * Exports of another user, erasures and the log need the admin role and `admin:privacy`.
 */
import { allows } from '../auth/rules.ts';
import { type AuditEventRow, auditEvents, type UserRow } from '../db/schema.ts';
import { apiError, ErrorCode } from '../errors.ts';
import { AUDIT_EVENT_SORT_KEY, loadAuditEventsPage } from '../loaders/index.ts';
import { keysetConnection } from '../loaders/pagination.ts';
import { AUDIT_ACTIONS } from '../services/audit.ts';
import {
  type DataExportShape,
  EXPORT_MAX_ORDERS,
  eraseUser,
  exportUserData,
  findUser,
} from '../services/privacy.ts';
import { auth } from './auth.ts';
import { builder } from './builder.ts';
import { userErrorsField } from './common.ts';
import { connectionListSize, MUTATION_COST } from './cost-directives.ts';
import { runMutation } from './run-mutation.ts';
import { User } from './user.ts';
import { requireViewer } from './viewer-access.ts';

const PRIVACY_ADMINS = { requires: ['admin:privacy'], roles: ['admin'] } as const;

/** What an export is priced at: a page of its largest number of orders. */
const DATA_EXPORT_COST = { cost: { weight: String(EXPORT_MAX_ORDERS) } };

const DataExport = builder.objectRef<DataExportShape>('DataExport').implement({
  description:
    'Every row about one user in the tenant (profile, orders with their items, stored idempotency records, the API keys they created), as one JSON document. At most 500 orders, the oldest first; `ordersTruncated` in the document says when there were more.',
  fields: (t) => ({
    generatedAt: t.expose('generatedAt', {
      type: 'DateTime',
      description: 'When the export was made.',
    }),
    json: t.exposeString('json', { description: 'The export, a JSON object (docs/privacy.md).' }),
  }),
});

builder.queryField('dataExport', (t) =>
  t.field({
    type: DataExport,
    description: `Everything stored about a user, as JSON: your own without \`userId\`; another user's needs the admin role and \`admin:privacy\` (otherwise FORBIDDEN; a user of another tenant is NOT_FOUND). Costs ${EXPORT_MAX_ORDERS} points (the orders it may read) and is recorded in the audit log.`,
    args: {
      userId: t.arg.id({ description: 'The user to export; omitted: the caller.' }),
    },
    ...auth({}, DATA_EXPORT_COST),
    resolve: async (_root, args, ctx) => {
      const viewer = requireViewer(ctx);
      const userId = args.userId == null ? viewer.userId : String(args.userId);
      if (userId === null) {
        throw apiError(
          ErrorCode.BAD_USER_INPUT,
          'An API key has no data of its own: pass userId.',
          {
            field: ['userId'],
          },
        );
      }
      if (userId !== viewer.userId && !allows(viewer, PRIVACY_ADMINS)) {
        throw apiError(
          ErrorCode.FORBIDDEN,
          "Exporting another user's data needs the admin role and admin:privacy.",
        );
      }
      const user = await findUser(ctx.tx, viewer.tenantId, userId);
      if (!user) throw apiError(ErrorCode.NOT_FOUND, 'No user with this id in your tenant.');
      return exportUserData(ctx.tx, { viewer, requestId: ctx.requestId }, user);
    },
  }),
);

interface ErasePayload {
  user: UserRow | null;
  userErrors: { code: string }[];
}

builder.relayMutationField(
  'eraseUser',
  {
    name: 'EraseUserInput',
    description: 'The user whose personal data to erase.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The user id, `usr_…`.' }),
    }),
  },
  {
    description:
      "Erases a user's personal data: username, email and display name become a tombstone (`erased-…`), their orders stay (showing the tombstone as customer), their stored idempotency payloads are deleted, the API keys they created are revoked, and their tokens get 401 from then on. Final and idempotent: erasing an erased user returns it unchanged. Not yourself. Needs the admin role and `admin:privacy`.",
    nullable: true,
    ...auth(PRIVACY_ADMINS, MUTATION_COST),
    resolve: async (_root, { input }, ctx, info) => {
      return runMutation(ctx, { input, info }, (tx, actor) =>
        eraseUser(tx, actor, String(input.id)),
      );
    },
  },
  {
    name: 'EraseUserPayload',
    description: 'The result of eraseUser.',
    outputFields: (t) => ({
      user: t.field({
        type: User,
        nullable: true,
        description: 'The erased user (its tombstone); null when there are userErrors.',
        resolve: (payload: ErasePayload) => payload.user,
      }),
      userErrors: userErrorsField(t),
    }),
  },
);

const AuditActionEnum = builder.enumType('AuditAction', {
  description: 'What an audit event records.',
  values: Object.fromEntries(
    Object.entries(AUDIT_ACTIONS).map(([action, description]) => [
      action.replace('.', '_').toUpperCase(),
      { value: action, description },
    ]),
  ),
});

const AuditEvent = builder.objectRef<AuditEventRow>('AuditEvent').implement({
  description:
    'A security-relevant change or access in the tenant: who did what to which object, when, in which request. Ids only, no personal data.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The event id, `aud_…`.' }),
    action: t.field({
      type: AuditActionEnum,
      description: 'What was done.',
      resolve: (event) => event.action,
    }),
    actorId: t.exposeID('actorId', {
      description: 'Who did it: a user (`usr_…`) or an API key (`key_…`).',
    }),
    targetId: t.exposeID('targetId', {
      nullable: true,
      description: 'The object it was done to (a user, an API key, an operation); null if none.',
    }),
    requestId: t.exposeString('requestId', {
      description: 'The `X-Request-Id` of the request, to find it in the logs.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it happened.' }),
  }),
});

builder.queryFields((t) => ({
  auditEvents: t.connection(
    {
      type: AuditEvent,
      nullable: true,
      description:
        "Your tenant's audit log, newest first. Needs the admin role and `admin:privacy`.",
      ...auth(PRIVACY_ADMINS, connectionListSize),
      resolve: (_root, args, ctx) => {
        const viewer = requireViewer(ctx);
        return keysetConnection({
          args,
          limits: ctx.config.pagination,
          sort: AUDIT_EVENT_SORT_KEY,
          direction: 'desc',
          idColumn: auditEvents.id,
          fetch: (page) => loadAuditEventsPage(ctx.tx, viewer.tenantId, page),
        });
      },
    },
    { name: 'AuditEventConnection', description: 'A page of audit events.' },
    { name: 'AuditEventEdge', description: 'An audit event and its cursor.' },
  ),
}));
