/**
 * One load run: autocannon's programmatic API against a URL for some seconds, every response
 * recorded (its time, status, size on the wire, X-SQL-Statements, X-Process-Id, whether its
 * body had errors)
 * while the resident memory of the server processes is polled from /proc, and their CPU time
 * (utime + stime of /proc/<pid>/stat) read before and after.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import autocannon from 'autocannon';
import type { BenchRequest } from './scenarios.ts';
import { emptySamples, type Samples } from './summary.ts';

export interface LoadOptions {
  /** The server's (or load balancer's) origin, e.g. `http://127.0.0.1:4000`. */
  url: string;
  connections: number;
  seconds: number;
  /** Each connection sends these in turn, over and over. */
  requests: readonly BenchRequest[];
  /** Server processes whose peak resident memory to record while the load runs. */
  pids?: readonly number[];
}

export interface LoadResult {
  samples: Samples;
  /** The highest VmRSS (kB) seen per process id, polled every RSS_POLL_MS. */
  peakRssKb: Record<number, number>;
  /** CPU seconds (user + system) each process used while the load ran. */
  cpuSeconds: Record<number, number>;
}

const RSS_POLL_MS = 100;
/** A request still unanswered after this long counts as a timeout (a hang, not a slow answer). */
const REQUEST_TIMEOUT_SECONDS = 30;

/** The value of a header of a response as autocannon passes them (names as the server wrote). */
function header(headers: IncomingHttpHeaders | undefined, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? String(value[0]) : String(value);
  }
  return undefined;
}

/** Records what each response says about itself, besides the status and time autocannon has. */
function recording(requests: readonly BenchRequest[], samples: Samples): BenchRequest[] {
  const onResponse = (
    _status: number,
    body: string,
    _context: object,
    headers: IncomingHttpHeaders | undefined,
  ) => {
    const sql = header(headers, 'x-sql-statements');
    if (sql !== undefined && /^\d+$/.test(sql)) samples.sqlStatements.push(Number(sql));
    const pid = header(headers, 'x-process-id');
    if (pid !== undefined) samples.processes[pid] = (samples.processes[pid] ?? 0) + 1;
    if (body.startsWith('{"errors"') || body.includes(',"errors":[')) samples.graphqlErrors++;
    if (/"userErrors":\[\{/.test(body)) samples.userErrors++;
  };
  return requests.map((request) => ({ ...request, onResponse }));
}

export async function readRssKb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) : null;
  } catch {
    // Not Linux, or the process is gone: no memory figure rather than a failed run.
    return null;
  }
}

/** Polls the processes' VmRSS until stopped; returns the highest value seen for each. */
export function watchRss(pids: readonly number[]): () => Promise<Record<number, number>> {
  const peaks: Record<number, number> = {};
  const poll = async () => {
    for (const pid of pids) {
      const rss = await readRssKb(pid);
      if (rss !== null) peaks[pid] = Math.max(peaks[pid] ?? 0, rss);
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), RSS_POLL_MS);
  return async () => {
    clearInterval(timer);
    await poll();
    return peaks;
  };
}

/**
 * utime + stime (fields 14 and 15, in clock ticks) of a /proc/<pid>/stat line. The command
 * name (field 2) is in parentheses and may itself hold spaces and parentheses, so the fields
 * are counted from the last `)`.
 */
export function parseCpuTicks(stat: string): number | null {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isSafeInteger(utime) && Number.isSafeInteger(stime) ? utime + stime : null;
}

export async function readCpuTicks(pid: number): Promise<number | null> {
  try {
    return parseCpuTicks(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    // Not Linux, or the process is gone: no CPU figure rather than a failed run.
    return null;
  }
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux everywhere). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const value = Number(result.stdout?.trim());
    clockTicks = result.status === 0 && Number.isInteger(value) && value > 0 ? value : 100;
  }
  return clockTicks;
}

/** CPU seconds each process used between two readings; processes read both times only. */
export function cpuSecondsBetween(
  before: Record<number, number | null>,
  after: Record<number, number | null>,
  ticksPerSecond: number,
): Record<number, number> {
  const seconds: Record<number, number> = {};
  for (const [pid, start] of Object.entries(before)) {
    const end = after[Number(pid)];
    if (start != null && end != null && end >= start) {
      seconds[Number(pid)] = (end - start) / ticksPerSecond;
    }
  }
  return seconds;
}

async function readAllCpuTicks(pids: readonly number[]): Promise<Record<number, number | null>> {
  const ticks: Record<number, number | null> = {};
  for (const pid of pids) ticks[pid] = await readCpuTicks(pid);
  return ticks;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const samples = emptySamples();
  const pids = options.pids ?? [];
  const ticksPerSecond = clockTicksPerSecond();
  const cpuBefore = await readAllCpuTicks(pids);
  const stopWatching = watchRss(pids);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.seconds,
        timeout: REQUEST_TIMEOUT_SECONDS,
        requests: recording(options.requests, samples),
      },
      (error: unknown, result) => (error ? reject(error) : resolve(result)),
    );
    // autocannon 9 emits (client, status, bytes, time); @types/autocannon lacks the client.
    (instance as NodeJS.EventEmitter).on(
      'response',
      (_client: unknown, statusCode: number, bytes: number, responseTime: number) => {
        samples.latenciesMs.push(responseTime);
        samples.responseBytes += bytes;
        samples.statuses[statusCode] = (samples.statuses[statusCode] ?? 0) + 1;
      },
    );
  });
  const cpuAfter = await readAllCpuTicks(pids);
  samples.connectionErrors = result.errors;
  samples.seconds = result.duration;
  return {
    samples,
    peakRssKb: await stopWatching(),
    cpuSeconds: cpuSecondsBetween(cpuBefore, cpuAfter, ticksPerSecond),
  };
}
