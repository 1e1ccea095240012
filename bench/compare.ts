/**
 * Where two GraphQL `data` objects first differ: the bench requires the reference servers to
 * answer OrderList with the very `data` ours answers (or they would be measured doing other
 * work), and says where they do not. Objects are compared by their keys, whatever the order;
 * lists item by item.
 */

export interface Difference {
  /** Where, as a JavaScript-like path from `data`: `data.orders.nodes[3].createdAt`. */
  path: string;
  /** Each side's value there, as JSON (shortened), or `(missing)`. */
  expected: string;
  actual: string;
}

const MISSING = '(missing)';
const SHOWN_CHARACTERS = 80;

function show(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > SHOWN_CHARACTERS ? `${json.slice(0, SHOWN_CHARACTERS - 1)}…` : json;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** The first place where `actual` is not deep-equal to `expected`; null when they are equal. */
export function firstDifference(
  expected: unknown,
  actual: unknown,
  path = 'data',
): Difference | null {
  if (Object.is(expected, actual)) return null;
  const kind = kindOf(expected);
  if (kind !== kindOf(actual)) return { path, expected: show(expected), actual: show(actual) };
  if (kind === 'array') {
    const left = expected as unknown[];
    const right = actual as unknown[];
    for (let index = 0; index < Math.min(left.length, right.length); index++) {
      const difference = firstDifference(left[index], right[index], `${path}[${index}]`);
      if (difference) return difference;
    }
    if (left.length === right.length) return null;
    const index = Math.min(left.length, right.length);
    return {
      path: `${path}[${index}]`,
      expected: index < left.length ? show(left[index]) : MISSING,
      actual: index < right.length ? show(right[index]) : MISSING,
    };
  }
  if (kind === 'object') {
    const left = expected as Record<string, unknown>;
    const right = actual as Record<string, unknown>;
    for (const key of Object.keys(left)) {
      if (!Object.hasOwn(right, key)) {
        return { path: `${path}.${key}`, expected: show(left[key]), actual: MISSING };
      }
      const difference = firstDifference(left[key], right[key], `${path}.${key}`);
      if (difference) return difference;
    }
    for (const key of Object.keys(right)) {
      if (!Object.hasOwn(left, key)) {
        return { path: `${path}.${key}`, expected: MISSING, actual: show(right[key]) };
      }
    }
    return null;
  }
  return { path, expected: show(expected), actual: show(actual) };
}

/** A difference in words: `data.orders.nodes[3].createdAt: ours "…", ceiling "…"`. */
export function describeDifference(
  difference: Difference,
  expectedName: string,
  actualName: string,
): string {
  return `${difference.path}: ${expectedName} ${difference.expected}, ${actualName} ${difference.actual}`;
}
