/**
 * The per-field breakdown of a cost (`X-Cost-Explain: true`): one line per path and schema
 * coordinate, the lines summing to the cost.
 */
import type { FieldCostLine } from './request-cost.ts';

export interface OperationCost {
  cost: number;
  /** Each field's share of `cost` (lines sum to it); only when asked for. */
  breakdown?: FieldCostLine[];
}

/** One line per path and coordinate: a field selected twice (or by two fragments) adds up. */
export function mergeLines(lines: readonly FieldCostLine[]): FieldCostLine[] {
  const merged = new Map<string, FieldCostLine>();
  for (const line of lines) {
    const key = `${line.path} ${line.coordinate}`;
    const known = merged.get(key);
    if (known) known.cost += line.cost;
    else merged.set(key, { ...line });
  }
  return [...merged.values()];
}

export function costFrom(
  lines: readonly FieldCostLine[],
  explain: boolean | undefined,
): OperationCost {
  const cost = lines.reduce((sum, line) => sum + line.cost, 0);
  return explain ? { cost, breakdown: mergeLines(lines) } : { cost };
}
