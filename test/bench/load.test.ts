import { describe, expect, it } from 'vitest';
import {
  clockTicksPerSecond,
  cpuSecondsBetween,
  parseCpuTicks,
  readCpuTicks,
} from '../../bench/load.ts';

/** A /proc/<pid>/stat line with utime 1234 and stime 567 (fields 14 and 15). */
function statLine(command: string, utime = 1234, stime = 567): string {
  return `4242 (${command}) S 1 4242 4242 0 -1 4194560 9876 0 12 0 ${utime} ${stime} 0 0 20 0 11 0 5321 1073741824 45000 18446744073709551615 1 1 0 0 0 0 0 16781312 134234626 0 0 0 17 1 0 0 0 0 0\n`;
}

describe('parseCpuTicks', () => {
  it('adds utime and stime', () => {
    expect(parseCpuTicks(statLine('node'))).toBe(1801);
  });

  it('counts fields after the command name, which may hold spaces and parentheses', () => {
    expect(parseCpuTicks(statLine('node (bench) 1 2 3', 10, 5))).toBe(15);
  });

  it('is null for a line it cannot read', () => {
    expect(parseCpuTicks('')).toBeNull();
    expect(parseCpuTicks('4242 (node) S 1')).toBeNull();
  });
});

describe('cpuSecondsBetween', () => {
  it('turns the ticks each process used into seconds', () => {
    expect(cpuSecondsBetween({ 10: 1000, 11: 50 }, { 10: 1250, 11: 50 }, 100)).toEqual({
      10: 2.5,
      11: 0,
    });
  });

  it('leaves out a process read only once, or whose count went backwards (a new pid)', () => {
    expect(
      cpuSecondsBetween({ 10: 1000, 11: null, 12: 5 }, { 10: null, 11: 7, 12: 3 }, 100),
    ).toEqual({});
  });
});

describe('reading /proc', () => {
  it.runIf(process.platform === 'linux')(
    "reads this process's CPU ticks, and they grow with work",
    async () => {
      const before = await readCpuTicks(process.pid);
      const until = performance.now() + 300;
      while (performance.now() < until) Math.sqrt(Math.random());
      const after = await readCpuTicks(process.pid);
      expect(before).toBeTypeOf('number');
      expect(after).toBeGreaterThan(before as number);
      expect(clockTicksPerSecond()).toBeGreaterThan(0);
    },
  );

  it('gives no CPU figure for a process that does not exist', async () => {
    expect(await readCpuTicks(2 ** 30)).toBeNull();
  });
});
