import { describe, expect, it } from 'vitest';
import {
  atLeast,
  atMost,
  emptySamples,
  formatStatuses,
  mergeSamples,
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
      }),
      2048,
    );
    expect(summary).toEqual({
      requests: 4,
      requestsPerSecond: 2,
      latencyMs: { p50: 20, p99: 40, max: 40 },
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
  });
  const b = samples({
    latenciesMs: [3],
    statuses: { '200': 1, '400': 1 },
    sqlStatements: [5],
    processes: { '2': 1 },
    connectionErrors: 2,
    seconds: 4,
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
    });
  });

  it('keeps the longest seconds of loads that ran side by side', () => {
    expect(mergeSamples([a, b], { concurrent: true }).seconds).toBe(5);
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
