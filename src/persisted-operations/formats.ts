/**
 * Readers for the files a frontend's build produces to register its operations: one `.graphql`
 * document, Apollo's persisted query manifest, or an id → document map (GraphQL Code Generator's
 * `persisted-documents.json`, Relay's persisted queries file). Pure: text in, documents out. The
 * registry parses the documents and validates them against the schema.
 *
 * Document text is passed through untouched: the client sends an id that is a digest of that exact
 * text, so reformatting it (even trimming a newline) would make the server serve it under an id no
 * client knows.
 */
import { extname } from 'node:path';
import { type ParseError, parse as parseTolerantly, visit as visitJson } from 'jsonc-parser';
import { DIGEST_HEX_LENGTH, type DigestAlgorithm, digestsOf } from './digests.ts';

export type OperationFileFormat = 'graphql' | 'apollo-manifest' | 'persisted-documents';

export interface IncomingOperation {
  /** The document text exactly as the client tool hashes and sends it (never reformatted). */
  document: string;
  /** For messages: file name, plus `#<id or operation name>` for entries of JSON files. */
  source: string;
  /** The id the client tool gave the document (Apollo manifest id, Relay id, Codegen hash), lowercased, if any. */
  clientId?: string;
  /** Which digest the client id is: the server serves a document by its sha256 and also by md5/sha1 digests. */
  clientIdAlgorithm?: DigestAlgorithm;
}

/** A file that cannot be registered; the message names the file (and entry) and says what to fix. */
export class OperationFileError extends Error {
  override readonly name = 'OperationFileError';
}

const APOLLO_MANIFEST_FORMAT = 'apollo-persisted-query-manifest';
const OPERATION_TYPES: ReadonlySet<unknown> = new Set(['query', 'mutation', 'subscription']);
const ALGORITHM_BY_HEX_DIGITS: ReadonlyMap<number, DigestAlgorithm> = new Map([
  [32, 'md5'],
  [40, 'sha1'],
  [64, 'sha256'],
]);
/** An optional algorithm prefix as in the GraphQL-over-HTTP persisted documents appendix. */
const CLIENT_ID = /^(?:(sha256|sha1|md5):)?([0-9a-f]+)$/i;

const DIGEST_RULE =
  'This server serves a persisted document only under a digest of its exact text ' +
  '(sha256, sha1 or md5, in hex), so every id must be one of those digests of its document.';
const APOLLO_ADVICE =
  'Drop any custom createOperationId from the generate-persisted-query-manifest config so ids ' +
  'are the sha256 of each body, and regenerate the manifest instead of editing it.';
const DOCUMENT_MAP_ADVICE =
  'Relay: set persistConfig.algorithm to "MD5" (the default), "SHA1" or "SHA256". ' +
  'GraphQL Code Generator: set presetConfig.persistedDocuments.hashAlgorithm to "sha1" ' +
  '(the default) or "sha256", not another algorithm or a function. ' +
  'Regenerate the file instead of editing it.';

/**
 * Reads one file of operations. The extension picks GraphQL or JSON; for JSON the content tells an
 * Apollo manifest (it has `format`) from an id → document map. Throws `OperationFileError`.
 */
export function readOperationFile(
  fileName: string,
  text: string,
): { format: OperationFileFormat; operations: IncomingOperation[] } {
  // A byte order mark belongs to the file's encoding, not its text: TextDecoder and fetch's
  // `text()` drop it too, so it is never part of what a client hashes.
  const content = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const extension = extname(fileName).toLowerCase();
  if (extension === '.graphql' || extension === '.gql') {
    if (content.trim() === '') {
      throw new OperationFileError(`${fileName} is empty: it should hold one GraphQL document.`);
    }
    return { format: 'graphql', operations: [{ document: content, source: fileName }] };
  }
  if (extension === '.json') {
    return readJsonFile(fileName, content);
  }
  throw new OperationFileError(
    `${fileName}: unsupported file type ${extension === '' ? '(no extension)' : `"${extension}"`}. ` +
      'Give a GraphQL document (.graphql or .gql), an Apollo persisted query manifest (.json), ' +
      "or a persisted documents map (.json) from GraphQL Code Generator's client preset or Relay.",
  );
}

function readJsonFile(
  fileName: string,
  text: string,
): { format: OperationFileFormat; operations: IncomingOperation[] } {
  if (text.trim() === '') {
    throw new OperationFileError(`${fileName} is empty.`);
  }
  const value = parseJson(fileName, text);
  if (!isObject(value)) {
    throw new OperationFileError(
      `${fileName}: expected a JSON object, found ${describe(value)}. Give an Apollo persisted ` +
        'query manifest or a map of id to document (persisted-documents.json from GraphQL Code ' +
        "Generator's client preset, or Relay's persisted queries file).",
    );
  }
  if (Object.hasOwn(value, 'format') || Object.hasOwn(value, 'operations')) {
    return { format: 'apollo-manifest', operations: readApolloManifest(fileName, value) };
  }
  return { format: 'persisted-documents', operations: readDocumentMap(fileName, text, value) };
}

/** `{ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [{ id, name, type, body }] }` */
function readApolloManifest(fileName: string, manifest: Record<string, unknown>) {
  if (manifest.format !== APOLLO_MANIFEST_FORMAT) {
    throw new OperationFileError(
      `${fileName}: unknown manifest format ${JSON.stringify(manifest.format) ?? '(none)'}; ` +
        `expected "format": "${APOLLO_MANIFEST_FORMAT}".`,
    );
  }
  if (manifest.version !== 1) {
    throw new OperationFileError(
      `${fileName}: Apollo persisted query manifest version ${JSON.stringify(manifest.version) ?? '(none)'} ` +
        'is not supported; this server reads version 1, as written by @apollo/generate-persisted-query-manifest.',
    );
  }
  const entries = manifest.operations;
  if (!Array.isArray(entries)) {
    throw new OperationFileError(
      `${fileName}: "operations" must be an array, found ${describe(entries)}.`,
    );
  }
  if (entries.length === 0) {
    throw new OperationFileError(`${fileName}: the manifest has no operations.`);
  }
  const ids = new DuplicateIds();
  return entries.map((entry: unknown, index) => {
    const position = `${fileName}#operations[${index}]`;
    if (!isObject(entry)) {
      throw new OperationFileError(
        `${position}: expected an object with "id", "name", "type" and "body", found ${describe(entry)}.`,
      );
    }
    if (typeof entry.name !== 'string' || entry.name === '') {
      throw new OperationFileError(
        `${position}: "name" must be the operation's name, found ${describe(entry.name)}.`,
      );
    }
    const source = `${fileName}#${entry.name}`;
    if (typeof entry.body !== 'string') {
      throw new OperationFileError(
        `${source}: "body" must be the document as a string, found ${describe(entry.body)}.`,
      );
    }
    if (typeof entry.id !== 'string') {
      throw new OperationFileError(
        `${source}: "id" must be a string, found ${describe(entry.id)}.`,
      );
    }
    if (!OPERATION_TYPES.has(entry.type)) {
      throw new OperationFileError(
        `${source}: "type" must be "query", "mutation" or "subscription", found ${describe(entry.type)}.`,
      );
    }
    return ids.check(identified(source, entry.id, entry.body, APOLLO_ADVICE));
  });
}

/** `{ "<id>": "<document>", ... }`: Codegen's persisted-documents.json and Relay's persisted queries. */
function readDocumentMap(fileName: string, text: string, map: Record<string, unknown>) {
  const entries = Object.entries(map);
  if (entries.length === 0) {
    throw new OperationFileError(`${fileName}: the map of id to document is empty.`);
  }
  // JSON.parse keeps the last of two equal keys; a repeated id should be refused, not half-read.
  const repeated = firstRepeatedTopLevelKey(text);
  if (repeated !== undefined) {
    throw new OperationFileError(`${fileName}#${repeated}: this id appears more than once.`);
  }
  const ids = new DuplicateIds();
  return entries.map(([id, document]) => {
    const source = `${fileName}#${id}`;
    if (typeof document !== 'string') {
      throw new OperationFileError(
        `${source}: the document must be a string of GraphQL, found ${describe(document)}.`,
      );
    }
    return ids.check(identified(source, id, document, DOCUMENT_MAP_ADVICE));
  });
}

/** Checks that `rawId` is a digest of `document` and returns the entry with its normalised id. */
function identified(
  source: string,
  rawId: string,
  document: string,
  advice: string,
): IncomingOperation {
  if (document.trim() === '') {
    throw new OperationFileError(`${source}: the document is empty.`);
  }
  const match = CLIENT_ID.exec(rawId);
  if (!match) {
    throw new OperationFileError(
      `${source}: the id ${JSON.stringify(rawId)} is not a hex digest. ${DIGEST_RULE} ${advice}`,
    );
  }
  const prefix = match[1]?.toLowerCase() as DigestAlgorithm | undefined;
  const clientId = match[2]!.toLowerCase();
  if (prefix !== undefined && DIGEST_HEX_LENGTH[prefix] !== clientId.length) {
    throw new OperationFileError(
      `${source}: the id ${JSON.stringify(rawId)} says ${prefix} but has ${clientId.length} hex ` +
        `digits; a ${prefix} digest has ${DIGEST_HEX_LENGTH[prefix]}.`,
    );
  }
  const algorithm = ALGORITHM_BY_HEX_DIGITS.get(clientId.length);
  if (algorithm === undefined) {
    throw new OperationFileError(
      `${source}: the id ${JSON.stringify(rawId)} has ${clientId.length} hex digits, which is no ` +
        `md5 (32), sha1 (40) or sha256 (64) digest. ${DIGEST_RULE} ${advice}`,
    );
  }
  const expected = digestsOf(document)[algorithm];
  if (clientId !== expected) {
    throw new OperationFileError(
      `${source}: the id ${JSON.stringify(rawId)} is not the ${algorithm} digest of its document, ` +
        `which is ${expected}. ${DIGEST_RULE} ${advice}`,
    );
  }
  return { document, source, clientId, clientIdAlgorithm: algorithm };
}

/** Refuses a second entry with an id already seen (ids compared without prefix or case). */
class DuplicateIds {
  readonly #sources = new Map<string, string>();

  check(operation: IncomingOperation): IncomingOperation {
    const id = operation.clientId!;
    const first = this.#sources.get(id);
    if (first !== undefined) {
      throw new OperationFileError(
        `${operation.source}: the id ${id} was already given to ${first}; each id may appear once.`,
      );
    }
    this.#sources.set(id, operation.source);
    return operation;
  }
}

function parseJson(fileName: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    let reason = message.replace(/ in JSON at position \d+.*$/s, '');
    let offset = Number(/ in JSON at position (\d+)/.exec(message)?.[1] ?? Number.NaN);
    if (Number.isNaN(offset)) {
      // V8 leaves the position out of some messages ("Unexpected token 'x', "…" is not valid
      // JSON"); a strict pass of a tolerant parser finds the spot and the offending text.
      const found = firstSyntaxError(text);
      offset = found?.offset ?? Number.NaN;
      const token = found ? text.slice(found.offset, found.offset + found.length) : '';
      reason =
        token === ''
          ? reason.replace(/, .* is not valid JSON$/s, '')
          : `Unexpected ${JSON.stringify(token)}`;
    }
    const where = Number.isNaN(offset) ? '' : ` at ${lineAndColumn(text, offset)}`;
    throw new OperationFileError(`${fileName} is not valid JSON: ${reason}${where}.`);
  }
}

function firstSyntaxError(text: string): ParseError | undefined {
  const errors: ParseError[] = [];
  parseTolerantly(text, errors, {
    disallowComments: true,
    allowTrailingComma: false,
    allowEmptyContent: false,
  });
  return errors[0];
}

function firstRepeatedTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let repeated: string | undefined;
  visitJson(text, {
    onObjectProperty(property, _offset, _length, _line, _character, pathSupplier) {
      if (repeated !== undefined || pathSupplier().length > 0) return;
      if (seen.has(property)) repeated = property;
      seen.add(property);
    },
  });
  return repeated;
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  }
  return `the ${typeof value} ${JSON.stringify(value)}`;
}
