/**
 * What `npm run bench` makes of the responses it saw: the raw samples of a run, merged over
 * rounds, summarised into the numbers the README and the JSON report show (requests per second,
 * p50/p99 latency, CPU time per request, SQL statements per request, response bytes per
 * request, statuses, peak RSS), the
 * ratios against the reference servers, the targets of issues 8 and 12, and the table printed
 * on stdout. Pure functions: the load itself is bench/load.ts.
 */

/** Everything recorded about the responses of one load run (or several, merged). */
export interface Samples {
  /** Time to each response in milliseconds, every status included (autocannon keeps 2xx only). */
  latenciesMs: number[];
  /** Responses by HTTP status. */
  statuses: Record<string, number>;
  /** The X-SQL-Statements header of each response that carried one. */
  sqlStatements: number[];
  /** Responses whose body had a top-level `errors` list. */
  graphqlErrors: number;
  /** Mutation responses with a non-empty `userErrors` list (e.g. INSUFFICIENT_STOCK). */
  userErrors: number;
  /** Connection errors and timeouts: requests that got no response at all. */
  connectionErrors: number;
  /** Responses by X-Process-Id: which server process (instance) answered. */
  processes: Record<string, number>;
  /** Seconds the load ran. */
  seconds: number;
  /** Bytes received for all responses, as on the wire: status line, headers and body. */
  responseBytes: number;
}

export function emptySamples(): Samples {
  return {
    latenciesMs: [],
    statuses: {},
    sqlStatements: [],
    graphqlErrors: 0,
    userErrors: 0,
    connectionErrors: 0,
    processes: {},
    seconds: 0,
    responseBytes: 0,
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}

/** Several runs as one: rounds of the same scenario, or loads that ran side by side. */
export function mergeSamples(runs: readonly Samples[], options: { concurrent?: boolean } = {}) {
  const merged = emptySamples();
  for (const run of runs) {
    // push(...) overflows the stack on long runs; concat does not.
    merged.latenciesMs = merged.latenciesMs.concat(run.latenciesMs);
    merged.sqlStatements = merged.sqlStatements.concat(run.sqlStatements);
    addCounts(merged.statuses, run.statuses);
    addCounts(merged.processes, run.processes);
    merged.graphqlErrors += run.graphqlErrors;
    merged.userErrors += run.userErrors;
    merged.connectionErrors += run.connectionErrors;
    merged.responseBytes += run.responseBytes;
    // Side by side, the runs share their seconds; one after another, the seconds add up.
    merged.seconds = options.concurrent
      ? Math.max(merged.seconds, run.seconds)
      : merged.seconds + run.seconds;
  }
  return merged;
}

/** The nearest-rank percentile (`p` from 0 to 100) of values sorted in ascending order. */
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedAscending.length);
  const index = Math.min(sortedAscending.length - 1, Math.max(0, rank - 1));
  return sortedAscending[index] as number;
}

export interface Summary {
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  /**
   * The server process(es)' CPU time (user + system) over the measured window ÷ the requests
   * answered in it, in milliseconds; null when unknown.
   */
  cpuMsPerRequest: number | null;
  /**
   * Bytes received per response, as on the wire (status line, headers, body: what compression
   * saves); null when nothing was received.
   */
  bytesPerRequest: number | null;
  /** Over the responses that said (X-SQL-Statements); null when none did. */
  sqlStatementsPerRequest: { mean: number; min: number; max: number } | null;
  statuses: Record<string, number>;
  non2xx: number;
  graphqlErrors: number;
  userErrors: number;
  connectionErrors: number;
  /** The most resident memory of the server process(es) while the load ran; null if unknown. */
  peakRssMb: number | null;
  processes: Record<string, number>;
}

const round = (value: number, decimals: number) => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};

/** CPU seconds spent on `requests` requests → milliseconds per request (3 decimals). */
export function cpuMsPerRequest(cpuSeconds: number | null, requests: number): number | null {
  if (cpuSeconds === null || !Number.isFinite(cpuSeconds) || cpuSeconds < 0 || requests <= 0) {
    return null;
  }
  return round((cpuSeconds * 1000) / requests, 3);
}

export function summarise(
  samples: Samples,
  peakRssKb: number | null = null,
  cpuSeconds: number | null = null,
): Summary {
  const latencies = [...samples.latenciesMs].sort((a, b) => a - b);
  const requests = latencies.length;
  const sql = samples.sqlStatements;
  let non2xx = 0;
  for (const [status, count] of Object.entries(samples.statuses)) {
    if (!status.startsWith('2')) non2xx += count;
  }
  return {
    requests,
    requestsPerSecond: samples.seconds > 0 ? round(requests / samples.seconds, 1) : 0,
    latencyMs: {
      p50: round(percentile(latencies, 50), 2),
      p99: round(percentile(latencies, 99), 2),
      max: round(latencies.at(-1) ?? Number.NaN, 2),
    },
    cpuMsPerRequest: cpuMsPerRequest(cpuSeconds, requests),
    bytesPerRequest:
      requests > 0 && samples.responseBytes > 0
        ? Math.round(samples.responseBytes / requests)
        : null,
    sqlStatementsPerRequest:
      sql.length > 0
        ? {
            mean: round(sql.reduce((sum, value) => sum + value, 0) / sql.length, 2),
            min: Math.min(...sql),
            max: Math.max(...sql),
          }
        : null,
    statuses: { ...samples.statuses },
    non2xx,
    graphqlErrors: samples.graphqlErrors,
    userErrors: samples.userErrors,
    connectionErrors: samples.connectionErrors,
    peakRssMb: peakRssKb === null ? null : round(peakRssKb / 1024, 1),
    processes: { ...samples.processes },
  };
}

/** `ours ÷ reference`, to three decimals; null when either side has nothing to divide. */
export function ratio(ours: number | null | undefined, reference: number | null | undefined) {
  if (ours == null || reference == null || !Number.isFinite(ours) || !Number.isFinite(reference)) {
    return null;
  }
  if (reference === 0) return null;
  return round(ours / reference, 3);
}

export interface Target {
  /** What is compared, e.g. `protectionsOnVsOff`. */
  name: string;
  /** The target in words, e.g. `≥ 0.95 on (a)`. */
  target: string;
  value: number | null;
  /** Null when the run did not measure it (a scenario left out with --only). */
  met: boolean | null;
}

export function atLeast(name: string, value: number | null, threshold: number, where = '') {
  return {
    name,
    target: `≥ ${threshold}${where}`,
    value,
    met: value === null ? null : value >= threshold,
  };
}

export function atMost(name: string, value: number | null, threshold: number, where = '') {
  return {
    name,
    target: `≤ ${threshold}${where}`,
    value,
    met: value === null ? null : value <= threshold,
  };
}

/**
 * A load that must not fail at all: the value is its failed requests (non-2xx responses,
 * connections that got no response, and 2xx responses with GraphQL errors); 0 meets it.
 */
export function noErrors(name: string, summary: Summary | undefined, where = ''): Target {
  const failed =
    summary === undefined
      ? null
      : summary.non2xx + summary.connectionErrors + summary.graphqlErrors;
  return {
    name,
    target: `no failed requests${where}`,
    value: failed,
    met: failed === null ? null : failed === 0,
  };
}

/**
 * Whether every response of every page size sent the same number of SQL statements: the
 * DataLoader promise (a page costs one statement per level, not one per row). The value is
 * the spread (largest count − smallest) over all of them; 0 meets the target.
 */
export function pageSizeIndependence(summaries: readonly (Summary | undefined)[]): Target {
  const present = summaries.filter((summary): summary is Summary => summary !== undefined);
  const counts = present.map((summary) => summary.sqlStatementsPerRequest);
  const measured = present.length >= 2 && counts.every((count) => count !== null);
  const spread = measured
    ? Math.max(...counts.map((count) => count?.max ?? 0)) -
      Math.min(...counts.map((count) => count?.min ?? 0))
    : null;
  return {
    name: 'sqlStatementsIndependentOfPageSize',
    target: 'the same SQL statements per request for pages of 5, 20 and 50 (spread 0)',
    value: spread,
    met: spread === null ? null : spread === 0,
  };
}

/** Columns padded to their widest cell; numbers right-aligned, text left-aligned. */
export function renderTable(header: readonly string[], rows: readonly (string | number)[][]) {
  const cells = [header, ...rows].map((row) => row.map((cell) => String(cell)));
  const widths = header.map((_, column) =>
    Math.max(...cells.map((row) => (row[column] ?? '').length)),
  );
  const numeric = header.map((_, column) =>
    rows.every((row) => typeof row[column] === 'number' || row[column] === '–'),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) =>
        numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const [head, ...body] = cells;
  return [
    line(head ?? []),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...body.map(line),
  ].join('\n');
}

/** `{200: 5, 413: 2}` → `200×5 413×2`. */
export function formatStatuses(statuses: Record<string, number>): string {
  return Object.entries(statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');
}
