/**
 * Reading Prometheus's text format in tests: every sample as `name{label="value",…}` with the
 * labels sorted, so that a test names a series without caring about label order.
 */

/** The key of one series: `series('x_total', { code: 'A' })` → `x_total{code="A"}`. */
export function series(name: string, labels: Record<string, string | number> = {}): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => `${label}="${value}"`);
  return pairs.length ? `${name}{${pairs.join(',')}}` : name;
}

/** Every sample of a scrape, by series key. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample: ${line}`);
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    samples.set(series(match[1]!, labels), Number(match[3]));
  }
  return samples;
}

/** The series of one metric (its samples whose name is exactly `name`), by key. */
export function family(samples: Map<string, number>, name: string): Record<string, number> {
  return Object.fromEntries(
    [...samples].filter(([key]) => key === name || key.startsWith(`${name}{`)),
  );
}
