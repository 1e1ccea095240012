/**
 * Reading the files a frontend build produces (a .graphql document, Apollo's persisted query
 * manifest, Codegen's and Relay's id → document maps): what is accepted, the ids it yields, and
 * every refusal with its message. The fixtures were made the way each tool makes them, with real
 * digests; each expected id below was checked independently of node:crypto.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { digestsOf } from '../../src/persisted-operations/digests.ts';
import { OperationFileError, readOperationFile } from '../../src/persisted-operations/formats.ts';

function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

/** The error readOperationFile throws for this file (fails the test when it throws none). */
function refusal(fileName: string, text: string): OperationFileError {
  try {
    readOperationFile(fileName, text);
  } catch (error) {
    expect(error).toBeInstanceOf(OperationFileError);
    return error as OperationFileError;
  }
  throw new Error(`${fileName} was accepted`);
}

const DIGEST_RULE =
  'This server serves a persisted document only under a digest of its exact text ' +
  '(sha256, sha1 or md5, in hex), so every id must be one of those digests of its document.';
const DOCUMENT_MAP_ADVICE =
  'Relay: set persistConfig.algorithm to "MD5" (the default), "SHA1" or "SHA256". ' +
  'GraphQL Code Generator: set presetConfig.persistedDocuments.hashAlgorithm to "sha1" ' +
  '(the default) or "sha256", not another algorithm or a function. ' +
  'Regenerate the file instead of editing it.';
const APOLLO_ADVICE =
  'Drop any custom createOperationId from the generate-persisted-query-manifest config so ids ' +
  'are the sha256 of each body, and regenerate the manifest instead of editing it.';

const PRODUCT_LIST = 'query ProductList { products(first: 10) { nodes { id name } } }';
const PRODUCT_LIST_SHA256 = '0bcdd09afed2a95f778b2980d26fa68fc6586ba9b3e44cfa691cfd5ca3f3d207';
const PRODUCT_LIST_SHA1 = '3b778e4c049bab21ecc376e8178dc7a4a9ba6b98';
const PRODUCT_LIST_MD5 = '9e2d88f122ead40ee91f401074b3c369';

describe('digestsOf', () => {
  it('gives the standard lowercase hex digests', () => {
    expect(digestsOf('abc')).toEqual({
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
      md5: '900150983cd24fb0d6963f7d28e17f72',
    });
  });

  it('hashes the UTF-8 bytes of the text, as client tools do', () => {
    expect(
      digestsOf('query Search { products(filter: { search: "café" }) { nodes { id } } }'),
    ).toEqual({
      sha256: '43f6093345433bcd0b59a085c826f2928fcf3e020bf05d46519298aba5da8226',
      sha1: 'c9d01f02ae781b7ab631bd7d8b0da01059fc70a7',
      md5: 'e353b7079f8da067574b35340a851d5a',
    });
  });

  it('agrees with the ids used below', () => {
    expect(digestsOf(PRODUCT_LIST)).toEqual({
      sha256: PRODUCT_LIST_SHA256,
      sha1: PRODUCT_LIST_SHA1,
      md5: PRODUCT_LIST_MD5,
    });
  });
});

describe('.graphql files', () => {
  it('reads the whole file, comments and final newline included, as one document', () => {
    const text = fixture('ProductList.graphql');
    expect(text.startsWith('# The storefront')).toBe(true);
    expect(readOperationFile('operations/ProductList.graphql', text)).toEqual({
      format: 'graphql',
      operations: [{ document: text, source: 'operations/ProductList.graphql' }],
    });
  });

  it('accepts .gql and any letter case of the extension, keeping CRLF line ends', () => {
    const text = 'query ProductList {\r\n  products(first: 10) { nodes { id name } }\r\n}\r\n';
    expect(readOperationFile('ProductList.gql', text).operations).toEqual([
      { document: text, source: 'ProductList.gql' },
    ]);
    expect(readOperationFile('ProductList.GraphQL', text).format).toBe('graphql');
  });

  it('drops a byte order mark, which is encoding and not text', () => {
    expect(readOperationFile('a.graphql', `\uFEFF${PRODUCT_LIST}\n`).operations).toEqual([
      { document: `${PRODUCT_LIST}\n`, source: 'a.graphql' },
    ]);
  });

  it('refuses an empty or whitespace-only file', () => {
    for (const text of ['', ' \n\t\n', '\uFEFF']) {
      expect(refusal('empty.graphql', text).message).toBe(
        'empty.graphql is empty: it should hold one GraphQL document.',
      );
    }
  });
});

describe('Apollo persisted query manifests', () => {
  const MANIFEST = 'persisted-query-manifest.json';

  it('reads every operation with its sha256 id, body untouched', () => {
    const text = fixture(MANIFEST);
    const { operations } = JSON.parse(text) as { operations: { body: string }[] };
    const result = readOperationFile(MANIFEST, text);
    expect(result.format).toBe('apollo-manifest');
    expect(result.operations).toEqual([
      {
        document: operations[0]!.body,
        source: `${MANIFEST}#CreateOrder`,
        clientId: 'c9efd04337c2ee77717576aa6c6341824f88ab01be5486bf83d44ffad9711cfe',
        clientIdAlgorithm: 'sha256',
      },
      {
        document: operations[1]!.body,
        source: `${MANIFEST}#OrderDetails`,
        clientId: 'cbd3f92952141e81f732c6d4706b3a54799a7d1ff152f2aba76cc90f61de786d',
        clientIdAlgorithm: 'sha256',
      },
      {
        document: operations[2]!.body,
        source: `${MANIFEST}#ProductList`,
        clientId: 'e668211262b78a8e3a2d33e8809f01e94baafd2aa2d2887f7f7559d15faeb4de',
        clientIdAlgorithm: 'sha256',
      },
    ]);
    expect(result.operations[1]!.document).toContain('fragment OrderSummary on Order {\n');
  });

  function manifest(operations: unknown, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations,
      ...extra,
    });
  }
  const productList = {
    id: PRODUCT_LIST_SHA256,
    name: 'ProductList',
    type: 'query',
    body: PRODUCT_LIST,
  };

  it('accepts an id made by a custom createOperationId when it is another supported digest', () => {
    const result = readOperationFile(
      MANIFEST,
      manifest([{ ...productList, id: PRODUCT_LIST_SHA1 }]),
    );
    expect(result.operations).toEqual([
      {
        document: PRODUCT_LIST,
        source: `${MANIFEST}#ProductList`,
        clientId: PRODUCT_LIST_SHA1,
        clientIdAlgorithm: 'sha1',
      },
    ]);
  });

  it('refuses other manifest versions', () => {
    expect(refusal(MANIFEST, manifest([productList], { version: 2 })).message).toBe(
      `${MANIFEST}: Apollo persisted query manifest version 2 is not supported; this server reads ` +
        'version 1, as written by @apollo/generate-persisted-query-manifest.',
    );
    expect(refusal(MANIFEST, manifest([productList], { version: '1' })).message).toBe(
      `${MANIFEST}: Apollo persisted query manifest version "1" is not supported; this server ` +
        'reads version 1, as written by @apollo/generate-persisted-query-manifest.',
    );
  });

  it('refuses a manifest of another format, or one with operations but no format', () => {
    expect(refusal(MANIFEST, manifest([productList], { format: 'relay' })).message).toBe(
      `${MANIFEST}: unknown manifest format "relay"; expected "format": "apollo-persisted-query-manifest".`,
    );
    expect(refusal(MANIFEST, JSON.stringify({ operations: [productList] })).message).toBe(
      `${MANIFEST}: unknown manifest format (none); expected "format": "apollo-persisted-query-manifest".`,
    );
  });

  it('refuses operations that are not a non-empty array', () => {
    expect(refusal(MANIFEST, manifest({ ProductList: productList })).message).toBe(
      `${MANIFEST}: "operations" must be an array, found an object.`,
    );
    expect(refusal(MANIFEST, manifest([])).message).toBe(
      `${MANIFEST}: the manifest has no operations.`,
    );
  });

  it('refuses entries of the wrong shape, naming the entry', () => {
    expect(
      refusal(MANIFEST, manifest([productList, 'query A { viewer { scopes } }'])).message,
    ).toBe(
      `${MANIFEST}#operations[1]: expected an object with "id", "name", "type" and "body", ` +
        'found the string "query A { viewer { scopes } }".',
    );
    expect(refusal(MANIFEST, manifest([{ ...productList, name: undefined }])).message).toBe(
      `${MANIFEST}#operations[0]: "name" must be the operation's name, found nothing.`,
    );
    expect(refusal(MANIFEST, manifest([{ ...productList, type: 'fragment' }])).message).toBe(
      `${MANIFEST}#ProductList: "type" must be "query", "mutation" or "subscription", ` +
        'found the string "fragment".',
    );
    expect(refusal(MANIFEST, manifest([{ ...productList, id: 42 }])).message).toBe(
      `${MANIFEST}#ProductList: "id" must be a string, found the number 42.`,
    );
  });

  it('refuses a body that is not a string', () => {
    const body = { kind: 'Document', definitions: [] };
    expect(refusal(MANIFEST, manifest([{ ...productList, body }])).message).toBe(
      `${MANIFEST}#ProductList: "body" must be the document as a string, found an object.`,
    );
  });

  it('refuses an id that is not a digest of the body, saying how to fix it', () => {
    const edited = { ...productList, body: `${PRODUCT_LIST}\n` };
    expect(refusal(MANIFEST, manifest([edited])).message).toBe(
      `${MANIFEST}#ProductList: the id "${PRODUCT_LIST_SHA256}" is not the sha256 digest of its ` +
        `document, which is ${digestsOf(`${PRODUCT_LIST}\n`).sha256}. ${DIGEST_RULE} ${APOLLO_ADVICE}`,
    );
  });

  it('refuses the same id twice', () => {
    const again = { ...productList, name: 'ProductListAgain' };
    expect(refusal(MANIFEST, manifest([productList, again])).message).toBe(
      `${MANIFEST}#ProductListAgain: the id ${PRODUCT_LIST_SHA256} was already given to ` +
        `${MANIFEST}#ProductList; each id may appear once.`,
    );
  });
});

describe('persisted documents maps (GraphQL Code Generator, Relay)', () => {
  const FILE = 'persisted-documents.json';

  it("reads Codegen's client-preset output with its default sha1 hashes", () => {
    const text = fixture('codegen-sha1.persisted-documents.json');
    const map = JSON.parse(text) as Record<string, string>;
    const result = readOperationFile('src/gql/persisted-documents.json', text);
    expect(result.format).toBe('persisted-documents');
    expect(result.operations).toEqual(
      [
        '838a6e47e322b1e3101486713580500dee49aba3',
        '4655ca439f1886d15beb45dc1d434de84c99bebe',
        '9804e886eb5f31a0c405db67be2144fd59e9c2db',
      ].map((id) => ({
        document: map[id],
        source: `src/gql/persisted-documents.json#${id}`,
        clientId: id,
        clientIdAlgorithm: 'sha1',
      })),
    );
    expect(result.operations[0]!.document).toBe(
      'query ProductList($first: Int) { products(first: $first) { nodes { id name price { amount currency } } } }',
    );
  });

  it('reads Codegen output made with hashAlgorithm "sha256"', () => {
    const text = fixture('codegen-sha256.persisted-documents.json');
    const result = readOperationFile(FILE, text);
    expect(result.format).toBe('persisted-documents');
    expect(
      result.operations.map((operation) => [operation.clientId, operation.clientIdAlgorithm]),
    ).toEqual([
      ['db925d933f137b78fdc88e75f7a81bd96e4a7fd670c36d63e8c4205e471fc487', 'sha256'],
      ['3ddd295dd5f7ca45af48f8f2d19a63f962a8067b71a6fe69e67b95386dee59d2', 'sha256'],
      ['cb32420ac1a60fa54fd1e4066ded5f39a022d91da74b44edb83149ec1eef9a25', 'sha256'],
    ]);
    // Same documents as the sha1 file: only the id differs.
    const sha1 = readOperationFile(FILE, fixture('codegen-sha1.persisted-documents.json'));
    expect(result.operations.map((operation) => operation.document)).toEqual(
      sha1.operations.map((operation) => operation.document),
    );
  });

  it("reads Relay's persisted queries with md5 ids, keeping the text's final newline", () => {
    const text = fixture('relay-persisted-queries.json');
    const map = JSON.parse(text) as Record<string, string>;
    const result = readOperationFile('relay-persisted-queries.json', text);
    expect(result.format).toBe('persisted-documents');
    expect(result.operations).toEqual(
      [
        '4156349c876df6f37b7f2e9ac3af6605',
        'aee0195a33cdcb82fd3e913568cfed55',
        'd84c34857fae6464bdfbb299dff41059',
      ].map((id) => ({
        document: map[id],
        source: `relay-persisted-queries.json#${id}`,
        clientId: id,
        clientIdAlgorithm: 'md5',
      })),
    );
    expect(result.operations[1]!.document).toBe(
      'mutation UpdateProductMutation(\n  $input: UpdateProductInput!\n) {\n  updateProduct(input: $input) {\n' +
        '    product {\n      id\n      name\n      version\n    }\n    userErrors {\n      field\n' +
        '      code\n      message\n    }\n  }\n}\n',
    );
  });

  it('accepts ids with an algorithm prefix and upper-case hex, normalising them', () => {
    const text = JSON.stringify({
      [`SHA256:${PRODUCT_LIST_SHA256.toUpperCase()}`]: PRODUCT_LIST,
      [`md5:${digestsOf('query Me { viewer { scopes } }').md5}`]: 'query Me { viewer { scopes } }',
    });
    expect(readOperationFile(FILE, text).operations).toEqual([
      {
        document: PRODUCT_LIST,
        source: `${FILE}#SHA256:${PRODUCT_LIST_SHA256.toUpperCase()}`,
        clientId: PRODUCT_LIST_SHA256,
        clientIdAlgorithm: 'sha256',
      },
      {
        document: 'query Me { viewer { scopes } }',
        source: `${FILE}#md5:1fa328df017b2d8116ae4ba322e1e8e1`,
        clientId: '1fa328df017b2d8116ae4ba322e1e8e1',
        clientIdAlgorithm: 'md5',
      },
    ]);
  });

  it('reads a file saved with a byte order mark', () => {
    const text = `\uFEFF${JSON.stringify({ [PRODUCT_LIST_SHA1]: PRODUCT_LIST })}`;
    expect(readOperationFile(FILE, text).operations).toEqual([
      {
        document: PRODUCT_LIST,
        source: `${FILE}#${PRODUCT_LIST_SHA1}`,
        clientId: PRODUCT_LIST_SHA1,
        clientIdAlgorithm: 'sha1',
      },
    ]);
  });

  it('refuses an id that is not the digest of its document, saying how to configure the tools', () => {
    const text = JSON.stringify({ [PRODUCT_LIST_MD5]: `${PRODUCT_LIST} ` });
    expect(refusal(FILE, text).message).toBe(
      `${FILE}#${PRODUCT_LIST_MD5}: the id "${PRODUCT_LIST_MD5}" is not the md5 digest of its ` +
        `document, which is ${digestsOf(`${PRODUCT_LIST} `).md5}. ${DIGEST_RULE} ${DOCUMENT_MAP_ADVICE}`,
    );
  });

  it('refuses an id of another hash length, such as sha512 from a custom hashAlgorithm', () => {
    const sha512 = 'ab'.repeat(64);
    expect(refusal(FILE, JSON.stringify({ [sha512]: PRODUCT_LIST })).message).toBe(
      `${FILE}#${sha512}: the id "${sha512}" has 128 hex digits, which is no md5 (32), sha1 (40) ` +
        `or sha256 (64) digest. ${DIGEST_RULE} ${DOCUMENT_MAP_ADVICE}`,
    );
  });

  it('refuses an id that is not hex at all', () => {
    expect(refusal(FILE, JSON.stringify({ ProductList: PRODUCT_LIST })).message).toBe(
      `${FILE}#ProductList: the id "ProductList" is not a hex digest. ${DIGEST_RULE} ${DOCUMENT_MAP_ADVICE}`,
    );
  });

  it('refuses a prefix that does not match the length of the digest', () => {
    const id = `sha1:${PRODUCT_LIST_SHA256}`;
    expect(refusal(FILE, JSON.stringify({ [id]: PRODUCT_LIST })).message).toBe(
      `${FILE}#${id}: the id "${id}" says sha1 but has 64 hex digits; a sha1 digest has 40.`,
    );
  });

  it('refuses a document that is not a string', () => {
    for (const [value, found] of [
      [null, 'null'],
      [7, 'the number 7'],
      [{ query: PRODUCT_LIST }, 'an object'],
      [[PRODUCT_LIST], 'an array'],
    ] as const) {
      expect(refusal(FILE, JSON.stringify({ [PRODUCT_LIST_SHA1]: value })).message).toBe(
        `${FILE}#${PRODUCT_LIST_SHA1}: the document must be a string of GraphQL, found ${found}.`,
      );
    }
  });

  it('refuses an empty document', () => {
    const empty = digestsOf('').sha1;
    expect(refusal(FILE, JSON.stringify({ [empty]: '' })).message).toBe(
      `${FILE}#${empty}: the document is empty.`,
    );
  });

  it('refuses an id written twice in the file', () => {
    const text = `{\n  "${PRODUCT_LIST_SHA1}": "${PRODUCT_LIST}",\n  "${PRODUCT_LIST_SHA1}": "${PRODUCT_LIST}"\n}\n`;
    expect(refusal(FILE, text).message).toBe(
      `${FILE}#${PRODUCT_LIST_SHA1}: this id appears more than once.`,
    );
  });

  it('refuses the same id written twice with different case or prefix', () => {
    const text = JSON.stringify({
      [PRODUCT_LIST_SHA1]: PRODUCT_LIST,
      [`sha1:${PRODUCT_LIST_SHA1.toUpperCase()}`]: PRODUCT_LIST,
    });
    expect(refusal(FILE, text).message).toBe(
      `${FILE}#sha1:${PRODUCT_LIST_SHA1.toUpperCase()}: the id ${PRODUCT_LIST_SHA1} was already ` +
        `given to ${FILE}#${PRODUCT_LIST_SHA1}; each id may appear once.`,
    );
  });

  it('refuses an empty map', () => {
    expect(refusal(FILE, '{}\n').message).toBe(`${FILE}: the map of id to document is empty.`);
  });
});

describe('files that are no operations at all', () => {
  it('refuses invalid JSON, giving the line and column', () => {
    const trailingComma = `{\n  "${PRODUCT_LIST_SHA1}": "${PRODUCT_LIST}",\n}\n`;
    expect(refusal('ops.json', trailingComma).message).toBe(
      'ops.json is not valid JSON: Expected double-quoted property name at line 3, column 1.',
    );
  });

  it('points at a file cut short', () => {
    const cutInString = `{\n  "${PRODUCT_LIST_SHA1}": "query ProductList {`;
    expect(refusal('ops.json', cutInString).message).toBe(
      'ops.json is not valid JSON: Unterminated string at line 2, column 67.',
    );
    const cutBeforeValue = `{\n  "${PRODUCT_LIST_SHA1}": `;
    expect(refusal('ops.json', cutBeforeValue).message).toBe(
      'ops.json is not valid JSON: Unexpected end of JSON input at line 2, column 47.',
    );
  });

  it('locates and quotes the offending text where the engine gives no position', () => {
    const missingValue = `{\n  "${PRODUCT_LIST_SHA1}": \n}\n`;
    expect(refusal('ops.json', missingValue).message).toBe(
      'ops.json is not valid JSON: Unexpected "}" at line 3, column 1.',
    );
    const misspelt = `{\n  "format": "apollo-persisted-query-manifest",\n  "version": 1,\n  "x": tru\n}`;
    expect(refusal('ops.json', misspelt).message).toBe(
      'ops.json is not valid JSON: Unexpected "tru" at line 4, column 8.',
    );
    expect(refusal('ops.json', `// generated\n{}`).message).toBe(
      'ops.json is not valid JSON: Unexpected "// generated" at line 1, column 1.',
    );
  });

  it('refuses an empty JSON file', () => {
    for (const text of ['', '\n  \n', '\uFEFF']) {
      expect(refusal('ops.json', text).message).toBe('ops.json is empty.');
    }
  });

  it('refuses JSON that is not an object', () => {
    expect(refusal('ops.json', `["${PRODUCT_LIST}"]`).message).toBe(
      'ops.json: expected a JSON object, found an array. Give an Apollo persisted query manifest ' +
        "or a map of id to document (persisted-documents.json from GraphQL Code Generator's client " +
        "preset, or Relay's persisted queries file).",
    );
    expect(refusal('ops.json', 'null').message).toMatch(
      /^ops\.json: expected a JSON object, found null\. /,
    );
  });

  it('refuses file types it does not know', () => {
    const accepted =
      'Give a GraphQL document (.graphql or .gql), an Apollo persisted query manifest (.json), ' +
      "or a persisted documents map (.json) from GraphQL Code Generator's client preset or Relay.";
    expect(refusal('operations.yaml', PRODUCT_LIST).message).toBe(
      `operations.yaml: unsupported file type ".yaml". ${accepted}`,
    );
    expect(refusal('ProductList', PRODUCT_LIST).message).toBe(
      `ProductList: unsupported file type (no extension). ${accepted}`,
    );
  });
});
