/**
 * Persisted operations (pipeline step 1): a request names a registered document by its id
 * instead of sending its text, in whichever form the client's tooling uses:
 *
 * - GraphQL over HTTP: `documentId: "sha256:<hex>"` (body, or `?documentId=` on GET);
 * - Apollo: `extensions.persistedQuery.sha256Hash` (persisted queries and APQ);
 * - Relay: `doc_id` (body or query string), a bare hex digest (md5 by default).
 *
 * The mode comes from PERSISTED_OPERATIONS: `require` runs only registered operations (a
 * document sent as text is PERSISTED_QUERY_ONLY), `allow` runs both and lets Apollo clients
 * register unknown hashes automatically (APQ), `off` refuses ids altogether. Documents come
 * from the registry (persisted-operations/registry.ts), parsed and validated once, for the
 * caller's tenant: the manifest's operations run for everyone, an operation a tenant's admin
 * registered runs for that tenant only (another tenant's caller gets PERSISTED_QUERY_NOT_FOUND,
 * as for an id nobody registered, which reveals nothing). Yoga's
 * usePersistedOperations puts them in place of parsing, and validation is skipped for them
 * because the registry already did it against the same schema. Everything after this step
 * (limits, cost with the request's variables, budget) runs as for any request.
 */
import { usePersistedOperations as useYogaPersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { PersistedOperationsMode } from '../config.ts';
import type { RequestContext } from '../context.ts';
import { apiError, ErrorCode } from '../errors.ts';
import {
  digestsOf,
  formatOperationKey,
  type OperationKey,
  parseOperationKey,
} from '../persisted-operations/digests.ts';
import type {
  OperationLookup,
  PersistedOperationRegistry,
} from '../persisted-operations/registry.ts';

export interface PersistedOperationsOptions {
  /** `config.persistedOperations.mode` (PERSISTED_OPERATIONS). */
  mode: PersistedOperationsMode;
  registry: PersistedOperationRegistry;
  /**
   * The caller's tenant, known by the time this plugin reads the params (the authentication
   * plugin runs before it); null for an anonymous caller, who gets the manifest's operations.
   */
  tenantOf: (request: Request) => string | null;
  /**
   * The 401 of a request whose token was rejected: answered instead of
   * PERSISTED_QUERY_NOT_FOUND, since the id may well name one of its tenant's operations.
   */
  authenticationErrorOf: (request: Request) => Error | undefined;
}

/** Request parameters besides GraphQL over HTTP's own four that this plugin reads. */
export const PERSISTED_OPERATION_PARAMS = ['documentId', 'doc_id'] as const;

/** How a request named its operation. */
type IdSource = 'documentId' | 'persistedQuery' | 'doc_id';

interface RequestedId {
  readonly key: OperationKey;
  readonly source: IdSource;
}

const BAD_REQUEST = { http: { status: 400 } };

const requestedIds = new WeakMap<Request, string>();

/** The persisted operation id a request named (`sha256:<hex>`, …), for logs and metrics. */
export function persistedOperationIdOf(request: Request): string | undefined {
  return requestedIds.get(request);
}

export function usePersistedOperations(
  options: PersistedOperationsOptions,
): Plugin<RequestContext> {
  const { mode, registry, tenantOf, authenticationErrorOf } = options;
  /** APQ registrations (hash + text, allow mode) to remember once the document has run. */
  const automaticRegistrations = new WeakMap<Request, { sha256: string; document: string }>();

  /** The document to run, or null (not found); a stale document is a clear error, not a 500. */
  function documentOf(lookup: OperationLookup) {
    if (lookup.status === 'missing') return null;
    if (lookup.status === 'invalid') {
      const reasons = lookup.errors.map((error) => error.message).join(' ');
      throw apiError(
        ErrorCode.PERSISTED_QUERY_INVALID,
        `The persisted operation sha256:${lookup.id} no longer validates against the schema: ${reasons} Register an updated operation.`,
        { documentId: `sha256:${lookup.id}`, ...BAD_REQUEST },
      );
    }
    return lookup.document;
  }

  const yogaPlugin = useYogaPersistedOperations<RequestContext>({
    allowArbitraryOperations: mode === 'allow',
    // The registry validated each document against this schema when it compiled it.
    skipDocumentValidation: true,
    extractPersistedOperationId: (params, request) => {
      const requested = requestedIdOf(params, request);
      return requested ? formatOperationKey(requested.key) : null;
    },
    getPersistedOperation: (id, request) => {
      const key = parseOperationKey(id);
      if (!key) return null;
      const lookup = registry.find(key, tenantOf(request));
      return lookup instanceof Promise ? lookup.then(documentOf) : documentOf(lookup);
    },
    customErrors: {
      notFound: ({ request }) =>
        authenticationErrorOf(request) ??
        apiError(
          ErrorCode.PERSISTED_QUERY_NOT_FOUND,
          `No persisted operation has the id ${requestedIds.get(request) ?? '(none)'}. Register it (npm run pq -- register, or the registerPersistedOperation mutation)${mode === 'allow' ? ', or send the document as `query`' : ''}.`,
          { http: { status: 404 } },
        ),
      persistedQueryOnly: () =>
        apiError(
          ErrorCode.PERSISTED_QUERY_ONLY,
          'This server runs only persisted operations: send `documentId: "sha256:<hex>"` (or Apollo\'s persistedQuery extension) instead of the document text.',
          BAD_REQUEST,
        ),
      keyNotFound: () =>
        apiError(
          ErrorCode.BAD_USER_INPUT,
          mode === 'allow'
            ? 'Send the document as `query`, or a persisted operation id as `documentId`.'
            : 'Send a persisted operation id as `documentId: "sha256:<hex>"`.',
          BAD_REQUEST,
        ),
    },
  });

  return {
    onPluginInit({ addPlugin }) {
      // Ours first: it reads and checks the id before Yoga's plugin looks the document up.
      if (mode !== 'off') addPlugin(yogaPlugin as Plugin<RequestContext>);
    },
    onParams({ params, request }) {
      const requested = requestedIdOf(params, request);
      if (!requested) return;
      requestedIds.set(request, formatOperationKey(requested.key));
      if (mode === 'off') {
        throw apiError(
          ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
          'Persisted operations are off on this server: send the document as `query`.',
          BAD_REQUEST,
        );
      }
      if (typeof params.query !== 'string') return;
      // Both an id and the text (an APQ registration, or a client being explicit): they must
      // agree, or the id would be remembered for a document it does not name.
      const digests = digestsOf(params.query);
      if (digests[requested.key.algorithm] !== requested.key.digest) {
        throw apiError(
          ErrorCode.BAD_USER_INPUT,
          `The persisted operation id ${formatOperationKey(requested.key)} is not the ${requested.key.algorithm} of the document sent with it.`,
          BAD_REQUEST,
        );
      }
      if (mode === 'allow' && requested.source === 'persistedQuery') {
        automaticRegistrations.set(request, { sha256: digests.sha256, document: params.query });
      }
    },
    onExecute({ args }) {
      // Only a document that parsed, validated and passed the limits gets this far.
      const registration = automaticRegistrations.get(args.contextValue.request);
      if (registration) registry.rememberAutomatic(registration.sha256, registration.document);
    },
  };
}

/**
 * The id a request names, from whichever parameter its client uses; throws BAD_USER_INPUT for
 * a malformed one, or for two that disagree.
 */
function requestedIdOf(params: GraphQLParams, request: Request): RequestedId | null {
  // Read once per operation: this plugin and Yoga's both ask, with the same params object.
  if (requestedIdsByParams.has(params)) return requestedIdsByParams.get(params) ?? null;
  const found = readRequestedId(params, request);
  requestedIdsByParams.set(params, found);
  return found;
}

const requestedIdsByParams = new WeakMap<GraphQLParams, RequestedId | null>();

function readRequestedId(params: GraphQLParams, request: Request): RequestedId | null {
  const body = params as GraphQLParams &
    Record<(typeof PERSISTED_OPERATION_PARAMS)[number], unknown>;
  // Yoga's GET parser keeps only query, variables, operationName and extensions.
  const search =
    request.method === 'GET' ? new URL(request.url).searchParams : new URLSearchParams();
  const candidates: [IdSource, unknown][] = [
    ['documentId', body.documentId ?? search.get('documentId') ?? undefined],
    ['persistedQuery', apolloHashOf(params.extensions)],
    ['doc_id', body.doc_id ?? search.get('doc_id') ?? undefined],
  ];
  let found: RequestedId | null = null;
  for (const [source, value] of candidates) {
    if (value === undefined || value === null) continue;
    const key = typeof value === 'string' ? parseOperationKey(value) : null;
    if (!key || (source === 'persistedQuery' && key.algorithm !== 'sha256')) {
      throw apiError(
        ErrorCode.BAD_USER_INPUT,
        `${describe(source)} ${JSON.stringify(value).slice(0, 80)} is not a persisted operation id: expected ${source === 'persistedQuery' ? '64 hex digits (sha256)' : '"sha256:<64 hex digits>"'}.`,
        BAD_REQUEST,
      );
    }
    if (found && formatOperationKey(found.key) !== formatOperationKey(key)) {
      throw apiError(
        ErrorCode.BAD_USER_INPUT,
        `${describe(found.source)} and ${describe(source)} name different operations; send one id.`,
        BAD_REQUEST,
      );
    }
    found ??= { key, source };
  }
  return found;
}

/** Apollo's `extensions.persistedQuery.sha256Hash` (version 1), when present. */
function apolloHashOf(extensions: GraphQLParams['extensions']): unknown {
  const persistedQuery = extensions?.persistedQuery as Record<string, unknown> | undefined;
  if (persistedQuery === undefined || persistedQuery === null) return undefined;
  if (
    typeof persistedQuery !== 'object' ||
    persistedQuery.version !== 1 ||
    persistedQuery.sha256Hash === undefined
  ) {
    throw apiError(
      ErrorCode.BAD_USER_INPUT,
      'extensions.persistedQuery must be { version: 1, sha256Hash: "<64 hex digits>" }.',
      BAD_REQUEST,
    );
  }
  return persistedQuery.sha256Hash;
}

function describe(source: IdSource): string {
  return source === 'persistedQuery' ? 'extensions.persistedQuery.sha256Hash' : source;
}
