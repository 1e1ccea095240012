/**
 * Where the server finds a persisted operation by its id, for one caller: the committed
 * manifest (loaded at start; every caller may run its operations), the caller's tenant's rows of
 * the `persisted_operations` table (operations its admins registered at run time, so that any
 * instance serves what another registered), and, in `allow` mode only, documents that Apollo
 * clients registered automatically (APQ), kept in this process only, like Apollo Server's
 * default APQ cache.
 *
 * Rules: a registered operation is found only for its own tenant. The cache of table lookups
 * is keyed by tenant and id, so one tenant's registration is never served to another, and an
 * anonymous caller (no tenant) never reaches the table: it gets manifest (and APQ) operations
 * only.
 *
 * Each document is parsed and validated against the schema once, when it is first asked
 * for, and the result is cached: requests reuse the same DocumentNode, so neither parsing nor
 * validation runs per request (cost analysis still does, with each request's variables). The
 * same document registered by several tenants is compiled once and shared (same text, same
 * sha256, same DocumentNode). A stored document that no longer validates (the schema changed
 * under it) is cached as invalid and answered with PERSISTED_QUERY_INVALID, never a 500.
 */
import { type DocumentNode, GraphQLError, type GraphQLSchema, parse, validate } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { DIGEST_ALGORITHMS, digestsOf, formatOperationKey, type OperationKey } from './digests.ts';
import { type Manifest, readManifestFile } from './manifest.ts';
import { findStoredOperation, type StoredDocument } from './store.ts';

export type OperationLookup =
  | { readonly status: 'found'; readonly id: string; readonly document: DocumentNode }
  | { readonly status: 'invalid'; readonly id: string; readonly errors: readonly GraphQLError[] }
  | { readonly status: 'missing' };

export interface PersistedOperationRegistryOptions {
  schema: GraphQLSchema;
  manifest: Manifest;
  /** Looks an operation up among the tenant's rows of the `persisted_operations` table. */
  findStored: (tenantId: string, key: OperationKey) => Promise<StoredDocument | undefined>;
  /**
   * How many (tenant, id) lookups of table and APQ documents are remembered, and how many
   * distinct documents are kept compiled for them; default 1,000.
   */
  cacheSize?: number;
}

type Compiled = Exclude<OperationLookup, { status: 'missing' }>;

export class PersistedOperationRegistry {
  private readonly schema: GraphQLSchema;
  private readonly findStored: PersistedOperationRegistryOptions['findStored'];
  /** Manifest documents by every digest of theirs, e.g. `md5:<hex>` → the document. */
  private readonly manifestDocuments = new Map<string, StoredDocument>();
  /** Compiled manifest documents by sha256: few, so all of them stay. */
  private readonly compiledManifest = new Map<string, Compiled>();
  /**
   * Compiled table and APQ documents by tenant and lookup key (`<tenant> sha1:<hex>` …), least
   * recently used out.
   */
  private readonly compiledStored: LRUCache<string, Compiled | Promise<OperationLookup>>;
  /** Compiled table and APQ documents by sha256: what tenants that share a document share. */
  private readonly compiledById: LRUCache<string, Compiled>;
  /** Documents Apollo clients registered automatically (allow mode), by sha256. */
  private readonly automatic: LRUCache<string, string>;

  constructor(options: PersistedOperationRegistryOptions) {
    this.schema = options.schema;
    this.findStored = options.findStored;
    const max = options.cacheSize ?? 1_000;
    this.compiledStored = new LRUCache({ max });
    this.compiledById = new LRUCache({ max });
    this.automatic = new LRUCache({ max });
    for (const [id, entry] of Object.entries(options.manifest.operations)) {
      const stored = { id, document: entry.document };
      const digests = digestsOf(entry.document);
      for (const algorithm of DIGEST_ALGORITHMS) {
        this.manifestDocuments.set(
          formatOperationKey({ algorithm, digest: digests[algorithm] }),
          stored,
        );
      }
    }
  }

  /** How many operations the manifest holds. */
  get manifestSize(): number {
    return this.manifestDocuments.size / DIGEST_ALGORITHMS.length;
  }

  /**
   * The operation an id names for a caller of `tenantId` (null: anonymous). Synchronous once
   * the document is compiled (the common case: no promise and no tick per request); a promise
   * while it is first looked up.
   */
  find(key: OperationKey, tenantId: string | null): OperationLookup | Promise<OperationLookup> {
    const lookupKey = formatOperationKey(key);
    const inManifest = this.manifestDocuments.get(lookupKey);
    if (inManifest) {
      let compiled = this.compiledManifest.get(inManifest.id);
      if (!compiled) {
        compiled = this.compile(inManifest);
        this.compiledManifest.set(inManifest.id, compiled);
      }
      return compiled;
    }
    // Tenant ids are TypeIDs (no spaces): `<tenant> <algorithm>:<hex>` names one lookup.
    const cacheKey = `${tenantId ?? ''} ${lookupKey}`;
    const cached = this.compiledStored.get(cacheKey);
    if (cached) return cached;
    const lookup = this.findElsewhere(key, tenantId);
    this.compiledStored.set(cacheKey, lookup);
    // A miss is not remembered: the operation may be registered a moment later, on any
    // instance. A failed lookup (database down) is not remembered either.
    // Once compiled, the cache holds the result itself rather than the promise.
    lookup.then(
      (result) =>
        result.status === 'missing'
          ? this.compiledStored.delete(cacheKey)
          : this.compiledStored.set(cacheKey, result),
      () => this.compiledStored.delete(cacheKey),
    );
    return lookup;
  }

  /**
   * Remembers a document an Apollo client registered automatically (hash + query); the
   * caller has checked that `sha256` is the document's digest and that it ran.
   */
  rememberAutomatic(sha256: string, document: string): void {
    this.automatic.set(sha256, document);
  }

  private async findElsewhere(
    key: OperationKey,
    tenantId: string | null,
  ): Promise<OperationLookup> {
    // Anonymous callers have no tenant, hence no registered operations: no query at all.
    const stored = tenantId === null ? undefined : await this.findStored(tenantId, key);
    if (stored) return this.compileShared(stored);
    const automatic = key.algorithm === 'sha256' ? this.automatic.get(key.digest) : undefined;
    if (automatic !== undefined) {
      return this.compileShared({ id: key.digest, document: automatic });
    }
    return { status: 'missing' };
  }

  /** The compiled document of this sha256, compiled now unless another tenant's lookup did. */
  private compileShared(stored: StoredDocument): Compiled {
    let compiled = this.compiledById.get(stored.id);
    if (!compiled) {
      compiled = this.compile(stored);
      this.compiledById.set(stored.id, compiled);
    }
    return compiled;
  }

  private compile(stored: StoredDocument): Compiled {
    let document: DocumentNode;
    try {
      document = parse(stored.document);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      return { status: 'invalid', id: stored.id, errors: [error] };
    }
    const errors = validate(this.schema, document);
    if (errors.length > 0) return { status: 'invalid', id: stored.id, errors };
    return { status: 'found', id: stored.id, document };
  }
}

/**
 * The server's registry: the manifest PERSISTED_OPERATIONS_MANIFEST names, and the table, read
 * through the database's circuit breaker like every other read a request waits for.
 */
export async function openPersistedOperationRegistry(
  schema: GraphQLSchema,
  config: Pick<Config, 'persistedOperations' | 'timeouts'>,
  database: Pick<Database, 'db' | 'circuit'>,
): Promise<PersistedOperationRegistry> {
  const manifest = await readManifestFile(config.persistedOperations.manifestFile);
  return new PersistedOperationRegistry({
    schema,
    manifest,
    findStored: (tenantId, key) =>
      database.circuit.run(() => findStoredOperation(database.db, tenantId, key), {
        timeoutMs: config.timeouts.poolMs,
      }),
  });
}
