/**
 * Input normalisation shared by mutations and the seed: what DESIGN.md promises about
 * stored text (trimmed, control characters stripped, emails lowercased).
 */

// Control characters (Cc: C0, C1, DEL) and format characters (Cf: zero-width and bidi
// controls, BOM) make text render differently from how it compares, so they are removed.
const CONTROL_CHARACTERS = /[\p{Cc}\p{Cf}]/gu;
const CONTROL_EXCEPT_NEWLINE_TAB = /(?![\n\t])[\p{Cc}\p{Cf}]/gu;
// The control characters that separate words (tab, line breaks): in one-line text they become
// a space. Every other one is removed outright, so "Te\u0000a\u200bpot" stores as "Teapot",
// not as "Te a pot".
const WHITESPACE_CONTROLS = /[\t\n\v\f\r\u0085]/g;

/** One-line text: control characters removed, runs of whitespace collapsed, trimmed. */
export function cleanLine(value: string): string {
  return stripControlCharacters(value.replace(WHITESPACE_CONTROLS, ' '))
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Removes every control and format character; nothing else changes. */
export function stripControlCharacters(value: string): string {
  return value.replace(CONTROL_CHARACTERS, '');
}

/** Multi-line text: control characters removed except newlines and tabs, trimmed. */
export function cleanMultiline(value: string): string {
  return value
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(CONTROL_EXCEPT_NEWLINE_TAB, '')
    .trim();
}

/** Length in Unicode code points, which is what Postgres's char_length counts. */
export function textLength(value: string): number {
  return [...value].length;
}
