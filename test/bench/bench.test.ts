import { describe, expect, it } from 'vitest';
import {
  type BenchReport,
  BenchUsageError,
  formatReport,
  parseBenchArgs,
  SCENARIO_GROUPS,
} from '../../bench/bench.ts';
import { emptySamples, summarise } from '../../bench/summary.ts';

describe('parseBenchArgs', () => {
  it('runs every scenario for 30 s, (a) in 3 rounds of 10 s, 100 connections for 60 s, by default', () => {
    expect(parseBenchArgs([])).toEqual({
      quick: false,
      out: null,
      groups: new Set(SCENARIO_GROUPS),
      reset: false,
      connections: 10,
      seconds: 30,
      warmupSeconds: 5,
      rounds: 3,
      roundSeconds: 10,
      highConcurrency: { connections: 100, seconds: 60 },
    });
  });

  it('--quick shortens every run: 5 s scenarios, 2 rounds of 5 s, 100 connections for 10 s', () => {
    expect(parseBenchArgs(['--quick', '--out', '/tmp/bench.json'])).toEqual({
      quick: true,
      out: '/tmp/bench.json',
      groups: new Set(SCENARIO_GROUPS),
      reset: false,
      connections: 10,
      seconds: 5,
      warmupSeconds: 2,
      rounds: 2,
      roundSeconds: 5,
      highConcurrency: { connections: 100, seconds: 10 },
    });
  });

  it('--only runs the groups named, and (a) for those compared with it', () => {
    expect(parseBenchArgs(['--only', 'search, create'])?.groups).toEqual(
      new Set(['search', 'create']),
    );
    expect(parseBenchArgs(['--only', 'protections-off'])?.groups).toEqual(
      new Set(['protections-off', 'orders']),
    );
    expect(parseBenchArgs(['--only', 'scale-out'])?.groups).toEqual(new Set(['scale-out']));
    expect(parseBenchArgs(['--only', 'compression'])?.groups).toEqual(new Set(['compression']));
  });

  it('runs the references and high-concurrency by default, --quick too', () => {
    for (const argv of [[], ['--quick']]) {
      const groups = parseBenchArgs(argv)?.groups;
      expect(groups?.has('references')).toBe(true);
      expect(groups?.has('high-concurrency')).toBe(true);
    }
  });

  it('--only references runs (a) beside them; high-concurrency runs alone', () => {
    expect(parseBenchArgs(['--only', 'references'])?.groups).toEqual(
      new Set(['references', 'orders']),
    );
    expect(parseBenchArgs(['--only', 'high-concurrency'])?.groups).toEqual(
      new Set(['high-concurrency']),
    );
    expect(parseBenchArgs(['--quick', '--only', 'naive,references'])?.groups).toEqual(
      new Set(['naive', 'references', 'orders']),
    );
  });

  it('takes --seconds, --connections and --reset', () => {
    expect(parseBenchArgs(['--seconds', '12', '--connections', '4', '--reset'])).toMatchObject({
      seconds: 12,
      connections: 4,
      reset: true,
      roundSeconds: 5,
    });
  });

  it('returns null for --help', () => {
    expect(parseBenchArgs(['--help'])).toBeNull();
  });

  it.each([
    [['--only', 'nope'], '--only: unknown group "nope"'],
    [['--only', ','], '--only needs at least one group.'],
    [['--seconds', '0'], '--seconds must be an integer from 1 to 3600, got "0".'],
    [['--connections', '2.5'], '--connections must be an integer from 1 to 3600, got "2.5".'],
    [['--out', ' '], '--out needs a file name.'],
    [['--fast'], "Unknown option '--fast'"],
    [['extra'], "Unexpected argument 'extra'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(BenchUsageError);
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });
});

describe('formatReport', () => {
  const summary = {
    ...summarise(
      {
        ...emptySamples(),
        latenciesMs: [10, 20],
        statuses: { '200': 2 },
        sqlStatements: [5, 5],
        seconds: 1,
        responseBytes: 25_000,
      },
      300 * 1024,
      0.001,
    ),
  };
  const report: BenchReport = {
    generatedAt: '2026-01-01T00:00:00.000Z',
    mode: 'quick',
    settings: {
      connections: 10,
      secondsPerScenario: 5,
      warmupSeconds: 2,
      roundsOfOrders: 2,
      secondsPerRound: 5,
      highConcurrency: { connections: 100, seconds: 10 },
      serverEnvironment: {},
    },
    machine: {
      cpus: 2,
      cpuModel: 'Test CPU',
      memoryGb: 4,
      os: 'Linux',
      node: 'v20.0.0',
      postgres: '15.0',
      redis: null,
      nginx: null,
      loadAverageAtStart: 0.1,
    },
    protectionsOnVsOff: 0.97,
    oursVsCeiling: 0.5,
    oursVsMercuriusJit: null,
    scenarios: {
      orderList: { title: '(a) OrderList', server: 'ours', load: '', summary },
      orderListCeiling: {
        title: '(a) reference',
        server: 'ceiling',
        load: '',
        summary: {
          ...summary,
          requestsPerSecond: 4,
          peakRssMb: null,
          cpuMsPerRequest: 0.25,
          bytesPerRequest: null,
        },
      },
    },
    ratios: { protectionsOnVsOff: 0.97, throughputVsNaive: null, oursVsCeiling: 0.5 },
    scaleOut: null,
    targets: [
      { name: 'protectionsOnVsOff', target: '≥ 0.95', value: 0.97, met: true },
      { name: 'adversarialP99VsQuiet', target: '≤ 2', value: 2.5, met: false },
      { name: 'sqlStatementsIndependentOfPageSize', target: 'spread 0', value: null, met: null },
    ],
    notes: ['the machine was busy'],
  };

  it('prints the machine, one row per scenario, the ratios and the targets', () => {
    expect(formatReport(report)).toBe(
      [
        'Orders API benchmark (quick), 2026-01-01T00:00:00.000Z',
        '2 × Test CPU, 4 GB, Linux, Node v20.0.0, PostgreSQL 15.0, load average 0.1 at start',
        '',
        'scenario       server   req/s  p50 ms  p99 ms  CPU ms/req  bytes/req  SQL/req  non-2xx  RSS MB  statuses',
        '-------------  -------  -----  ------  ------  ----------  ---------  -------  -------  ------  --------',
        '(a) OrderList  ours         2      10      20         0.5      12500        5        0     300  200×2',
        '(a) reference  ceiling      4      10      20        0.25          –        5        0       –  200×2',
        '',
        'Ratios (ours ÷ reference):',
        '  protectionsOnVsOff: 0.97',
        '  throughputVsNaive: –',
        '  oursVsCeiling: 0.5',
        '',
        'Targets:',
        '  met     protectionsOnVsOff ≥ 0.95: 0.97',
        '  MISSED  adversarialP99VsQuiet ≤ 2: 2.5',
        '  not measured  sqlStatementsIndependentOfPageSize spread 0: –',
        'Note: the machine was busy',
        '',
      ].join('\n'),
    );
  });
});
