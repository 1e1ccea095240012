/**
 * Bounded error lists (issue 13, item 5), through HTTP: a small document full of mistakes gets
 * at most MAX_VALIDATION_ERRORS (default 5) of them, in document order, then one final
 * TOO_MANY_VALIDATION_ERRORS; a document with exactly the limit's worth gets them all and no
 * final error. Variable values that fail to coerce are bounded the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

/** `count` unknown directives on one field: one error each. */
function unknownDirectives(count: number): string {
  const directives = Array.from({ length: count }, (_, i) => `@nope${i}`).join(' ');
  return `query UnknownDirectives { __typename ${directives} }`;
}

/** `count` fields that Viewer does not have: one error each (under the root-field limit). */
function unknownFields(count: number): string {
  const fields = Array.from({ length: count }, (_, i) => `missing${i}`).join(' ');
  return `query UnknownFields { viewer { ${fields} } }`;
}

const UNKNOWN_DIRECTIVES_30 = unknownDirectives(30);
const UNKNOWN_FIELDS_20 = unknownFields(20);
const UNKNOWN_FIELDS_5 = unknownFields(5);
/** One directive repeated where it may appear once: one error per repetition past the first. */
const REPEATED_DIRECTIVE = `query Repeated { __typename ${'@include(if: true) '.repeat(12)}}`;
/** Eight Boolean! variables, each used once; sending strings makes eight coercion errors. */
const EIGHT_VARIABLES = `query EightVariables(${Array.from({ length: 8 }, (_, i) => `$b${i}: Boolean!`).join(', ')}) {
  ${Array.from({ length: 8 }, (_, i) => `t${i}: __typename @include(if: $b${i})`).join('\n  ')}
}`;

const FINAL_MESSAGE =
  'More than 5 errors were found in this request; only the first 5 are listed. Fix them and send it again.';

describe('with the default MAX_VALIDATION_ERRORS (5)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('lists 5 of 30 unknown directives, then says more were found', async () => {
    const response = await t.graphql(UNKNOWN_DIRECTIVES_30, undefined, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    const errors = response.body.errors ?? [];
    expect(errors.map((error) => error.message)).toEqual([
      'Unknown directive "@nope0".',
      'Unknown directive "@nope1".',
      'Unknown directive "@nope2".',
      'Unknown directive "@nope3".',
      'Unknown directive "@nope4".',
      FINAL_MESSAGE,
    ]);
    expect(errors[5]?.extensions).toMatchObject({ code: 'TOO_MANY_VALIDATION_ERRORS', limit: 5 });
    expect(typeof errors[5]?.extensions?.requestId).toBe('string');
    expect(response.body.data).toBeUndefined();
  });

  it('lists 5 of 20 unknown fields, then says more were found', async () => {
    const response = await t.graphql(UNKNOWN_FIELDS_20, undefined, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    const errors = response.body.errors ?? [];
    expect(errors).toHaveLength(6);
    expect(errors.slice(0, 5).map((error) => error.message)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `Cannot query field "missing${i}" on type "Viewer".`),
    );
    expect(errors.map((error) => error.extensions?.code)).toEqual([
      ...Array(5).fill('GRAPHQL_VALIDATION_FAILED'),
      'TOO_MANY_VALIDATION_ERRORS',
    ]);
  });

  it('bounds a repeated directive the same way', async () => {
    const response = await t.graphql(REPEATED_DIRECTIVE, undefined, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    const errors = response.body.errors ?? [];
    expect(errors).toHaveLength(6);
    expect(errors[0]?.message).toBe(
      'The directive "@include" can only be used once at this location.',
    );
    expect(errors[5]?.extensions?.code).toBe('TOO_MANY_VALIDATION_ERRORS');
  });

  it('lists exactly 5 errors in full, with no final error', async () => {
    const response = await t.graphql(UNKNOWN_FIELDS_5, undefined, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    const codes = (response.body.errors ?? []).map((error) => error.extensions?.code);
    expect(codes).toEqual(Array(5).fill('GRAPHQL_VALIDATION_FAILED'));
  });

  it('answers the same bounded list again from the validation cache', async () => {
    const first = await t.graphql(UNKNOWN_FIELDS_20, undefined, { as: 'acme/alice' });
    const second = await t.graphql(UNKNOWN_FIELDS_20, undefined, { as: 'acme/alice' });
    const messages = (response: typeof first) =>
      (response.body.errors ?? []).map((error) => error.message);
    expect(messages(second)).toEqual(messages(first));
    expect(messages(second)).toHaveLength(6);
  });

  it('bounds variable values that fail to coerce', async () => {
    const variables = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`b${i}`, 'yes']));
    const response = await t.graphql(EIGHT_VARIABLES, variables, { as: 'acme/alice' });
    const errors = response.body.errors ?? [];
    expect(errors).toHaveLength(6);
    expect(errors.slice(0, 5).every((error) => error.message.includes('$b'))).toBe(true);
    expect(errors[5]?.extensions?.code).toBe('TOO_MANY_VALIDATION_ERRORS');
    expect(response.body.data).toBeUndefined();
  });

  it('still reports a syntax error alone', async () => {
    const response = await t.graphql('query { __typename @a @b', undefined, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.message).toMatch(/^Syntax Error/);
  });
});

describe('with MAX_VALIDATION_ERRORS=2', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { MAX_VALIDATION_ERRORS: '2' } });
  });
  afterAll(() => t.close());

  it('lists 2 errors, then says more were found', async () => {
    const response = await t.graphql(UNKNOWN_DIRECTIVES_30, undefined, { as: 'acme/alice' });
    expect(response.status).toBe(400);
    expect((response.body.errors ?? []).map((error) => error.message)).toEqual([
      'Unknown directive "@nope0".',
      'Unknown directive "@nope1".',
      'More than 2 errors were found in this request; only the first 2 are listed. Fix them and send it again.',
    ]);
  });
});
