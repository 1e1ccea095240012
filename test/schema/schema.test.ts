/**
 * The schema as clients receive it: the committed schema.graphql is what the code builds, and
 * every public element carries a description (STYLE.md rules 5 and 6).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedDirective,
  isSpecifiedScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE } from '../../src/cli/schema-print.ts';
import { printSchemaSdl, schema } from '../../src/schema/index.ts';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function isBlank(description: string | null | undefined): boolean {
  return !description?.trim();
}

/**
 * Every type, field, argument, input field, enum value and directive of the schema that has
 * no description, as schema coordinates (`Query.node(id:)`). graphql-js's own scalars,
 * directives and introspection types are not ours to describe.
 */
function undescribed(target: GraphQLSchema): string[] {
  const missing: string[] = [];
  for (const type of Object.values(target.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    if (isBlank(type.description)) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (isBlank(field.description)) missing.push(`${type.name}.${field.name}`);
        for (const arg of field.args) {
          if (isBlank(arg.description)) missing.push(`${type.name}.${field.name}(${arg.name}:)`);
        }
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (isBlank(field.description)) missing.push(`${type.name}.${field.name}`);
      }
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) {
        if (isBlank(value.description)) missing.push(`${type.name}.${value.name}`);
      }
    }
  }
  for (const directive of target.getDirectives()) {
    if (isSpecifiedDirective(directive)) continue;
    if (isBlank(directive.description)) missing.push(`@${directive.name}`);
    for (const arg of directive.args) {
      if (isBlank(arg.description)) missing.push(`@${directive.name}(${arg.name}:)`);
    }
  }
  return missing.sort();
}

describe('schema.graphql', () => {
  it('is the committed file at the repository root', () => {
    expect(SCHEMA_FILE).toBe(path.join(repoRoot, 'schema.graphql'));
  });

  it('equals the SDL printed from the code (run `npm run schema:print` when it drifts)', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(committed).toBe(printSchemaSdl());
  });

  it('passes `schema:check`, the same comparison CI runs', async () => {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/schema-print.ts', '--check'],
      { cwd: repoRoot },
    );
    expect({ stdout, stderr }).toEqual({ stdout: '', stderr: '' });
  });
});

describe('descriptions', () => {
  it('are on every type, field, argument, input field, enum value and directive', () => {
    const missing = undescribed(schema);
    expect(missing, `No description on:\n  ${missing.join('\n  ')}`).toEqual([]);
  });
});
