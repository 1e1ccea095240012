import { describe, expect, it } from 'vitest';
import {
  atLeast,
  atMost,
  cpuMsPerRequest,
  emptySamples,
  formatStatuses,
  mergeSamples,
  noErrors,
  pageSizeIndependence,
  percentile,
  ratio,
  renderTable,
  type Samples,
  summarise,
} from '../../bench/summary.ts';

function samples(overrides: Partial<Samples>): Samples {
  return { ...emptySamples(), ...overrides };
}

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
  });

  it('is NaN without values', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('summarise', () => {
  it('turns samples into requests per second, latency percentiles and SQL statements', () => {
    const summary = summarise(
      samples({
        latenciesMs: [30, 10, 20, 40],
        statuses: { '200': 3, '413': 1 },
        sqlStatements: [5, 5, 6],
        graphqlErrors: 1,
        userErrors: 2,
        connectionErrors: 3,
        processes: { '41': 4 },
        seconds: 2,
        responseBytes: 10_002,
      }),
      2048,
      0.01,
    );
    expect(summary).toEqual({
      requests: 4,
      requestsPerSecond: 2,
      latencyMs: { p50: 20, p99: 40, max: 40 },
      cpuMsPerRequest: 2.5,
      bytesPerRequest: 2501,
      sqlStatementsPerRequest: { mean: 5.33, min: 5, max: 6 },
      statuses: { '200': 3, '413': 1 },
      non2xx: 1,
      graphqlErrors: 1,
      userErrors: 2,
      connectionErrors: 3,
      peakRssMb: 2,
      processes: { '41': 4 },
    });
  });

  it('reports no SQL statements and no memory when nothing said', () => {
    const summary = summarise(samples({ latenciesMs: [1], statuses: { '400': 1 }, seconds: 1 }));
    expect(summary.sqlStatementsPerRequest).toBeNull();
    expect(summary.peakRssMb).toBeNull();
    expect(summary.cpuMsPerRequest).toBeNull();
    expect(summary.bytesPerRequest).toBeNull();
    expect(summary.non2xx).toBe(1);
  });

  it('says 0 requests per second for a run of no length instead of dividing by zero', () => {
    expect(summarise(samples({})).requestsPerSecond).toBe(0);
  });
});

describe('mergeSamples', () => {
  const a = samples({
    latenciesMs: [1, 2],
    statuses: { '200': 2 },
    sqlStatements: [5, 5],
    processes: { '1': 2 },
    graphqlErrors: 1,
    seconds: 5,
    responseBytes: 300,
  });
  const b = samples({
    latenciesMs: [3],
    statuses: { '200': 1, '400': 1 },
    sqlStatements: [5],
    processes: { '2': 1 },
    connectionErrors: 2,
    seconds: 4,
    responseBytes: 150,
  });

  it('adds the seconds of rounds that ran one after another', () => {
    expect(mergeSamples([a, b])).toEqual({
      latenciesMs: [1, 2, 3],
      statuses: { '200': 3, '400': 1 },
      sqlStatements: [5, 5, 5],
      graphqlErrors: 1,
      userErrors: 0,
      connectionErrors: 2,
      processes: { '1': 2, '2': 1 },
      seconds: 9,
      responseBytes: 450,
    });
  });

  it('keeps the longest seconds of loads that ran side by side', () => {
    expect(mergeSamples([a, b], { concurrent: true }).seconds).toBe(5);
  });
});

describe('cpuMsPerRequest', () => {
  it('divides the CPU time by the requests answered, in milliseconds', () => {
    // 12.34 s of CPU for 4936 requests: 2.5 ms each.
    expect(cpuMsPerRequest(12.34, 4936)).toBe(2.5);
    expect(cpuMsPerRequest(1, 3)).toBe(333.333);
    expect(cpuMsPerRequest(0, 10)).toBe(0);
  });

  it('is null without requests or without a CPU figure, instead of dividing by zero', () => {
    expect(cpuMsPerRequest(1.5, 0)).toBeNull();
    expect(cpuMsPerRequest(null, 100)).toBeNull();
    expect(cpuMsPerRequest(-1, 100)).toBeNull();
    expect(cpuMsPerRequest(Number.NaN, 100)).toBeNull();
  });
});

describe('ratio', () => {
  it('divides ours by the reference, to three decimals', () => {
    expect(ratio(95, 100)).toBe(0.95);
    expect(ratio(2, 3)).toBe(0.667);
  });

  it('is null when a side is missing or the reference is zero', () => {
    expect(ratio(null, 100)).toBeNull();
    expect(ratio(1, undefined)).toBeNull();
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(Number.NaN, 1)).toBeNull();
  });
});

describe('targets', () => {
  it('compares with the thresholds, inclusive', () => {
    expect(atLeast('protectionsOnVsOff', 0.95, 0.95)).toEqual({
      name: 'protectionsOnVsOff',
      target: '≥ 0.95',
      value: 0.95,
      met: true,
    });
    expect(atLeast('x', 0.949, 0.95).met).toBe(false);
    expect(atMost('y', 2, 2, ' (p99)')).toEqual({
      name: 'y',
      target: '≤ 2 (p99)',
      value: 2,
      met: true,
    });
    expect(atMost('y', 2.01, 2).met).toBe(false);
  });

  it('says "not measured" (null) when the value is missing', () => {
    expect(atLeast('x', null, 1).met).toBeNull();
  });

  it('computes the reference targets of issue 12 from the summaries (ours ÷ reference)', () => {
    const at = (requestsPerSecond: number, p99: number, peakRssMb: number) => ({
      ...summarise(samples({ latenciesMs: [1], seconds: 1 })),
      requestsPerSecond,
      latencyMs: { p50: 1, p99, max: p99 },
      peakRssMb,
    });
    const ours = at(300, 30, 240);
    const mercurius = at(400, 25, 200);
    const ceiling = at(500, 20, 120);
    const oursVsCeiling = ratio(ours.requestsPerSecond, ceiling.requestsPerSecond);
    const oursVsMercuriusJit = ratio(ours.requestsPerSecond, mercurius.requestsPerSecond);
    expect([oursVsCeiling, oursVsMercuriusJit]).toEqual([0.6, 0.75]);
    expect(atLeast('oursVsCeiling', oursVsCeiling, 0.6).met).toBe(true);
    expect(atLeast('oursVsMercuriusJit', oursVsMercuriusJit, 1).met).toBe(false);
    const p99 = ratio(ours.latencyMs.p99, mercurius.latencyMs.p99);
    expect(atMost('p99VsMercuriusJit', p99, 1.5)).toMatchObject({ value: 1.2, met: true });
    const rss = ratio(ours.peakRssMb, mercurius.peakRssMb);
    expect(atMost('peakRssVsMercuriusJit', rss, 1.25)).toMatchObject({ value: 1.2, met: true });
    expect(atMost('peakRssVsMercuriusJit', ratio(260, 200), 1.25).met).toBe(false);
  });

  it('meets "no failed requests" only without non-2xx, connection errors or GraphQL errors', () => {
    const clean = summarise(samples({ latenciesMs: [1, 2], statuses: { '200': 2 }, seconds: 1 }));
    expect(noErrors('highConcurrencyFailures', clean, ' (100 connections)')).toEqual({
      name: 'highConcurrencyFailures',
      target: 'no failed requests (100 connections)',
      value: 0,
      met: true,
    });
    const failing = [
      samples({ latenciesMs: [1, 2], statuses: { '200': 1, '503': 1 }, seconds: 1 }),
      samples({ latenciesMs: [1], statuses: { '200': 1 }, connectionErrors: 3, seconds: 1 }),
      samples({ latenciesMs: [1], statuses: { '200': 1 }, graphqlErrors: 1, seconds: 1 }),
    ];
    expect(failing.map((run) => noErrors('x', summarise(run)).value)).toEqual([1, 3, 1]);
    expect(failing.map((run) => noErrors('x', summarise(run)).met)).toEqual([false, false, false]);
    expect(noErrors('x', undefined)).toMatchObject({ value: null, met: null });
  });

  it('meets page-size independence only when every response of every size sent as many statements', () => {
    const withSql = (min: number, max: number) => ({
      ...summarise(samples({ latenciesMs: [1], seconds: 1 })),
      sqlStatementsPerRequest: { mean: min, min, max },
    });
    expect(pageSizeIndependence([withSql(5, 5), withSql(5, 5), withSql(5, 5)])).toMatchObject({
      value: 0,
      met: true,
    });
    expect(pageSizeIndependence([withSql(5, 5), withSql(5, 6)])).toMatchObject({
      value: 1,
      met: false,
    });
    expect(pageSizeIndependence([withSql(5, 5), undefined])).toMatchObject({
      value: null,
      met: null,
    });
  });
});

describe('renderTable', () => {
  it('pads text left and numbers right under a rule', () => {
    expect(
      renderTable(
        ['name', 'req/s'],
        [
          ['a', 1.5],
          ['longer', 100],
        ],
      ),
    ).toBe(['name    req/s', '------  -----', 'a         1.5', 'longer    100'].join('\n'));
  });
});

describe('formatStatuses', () => {
  it('lists statuses in order with their counts', () => {
    expect(formatStatuses({ '413': 2, '200': 5 })).toBe('200×5 413×2');
    expect(formatStatuses({})).toBe('');
  });
});
