/**
 * WORKERS=n (src/metrics/cluster.ts): the primary's listener answers the sum of every
 * worker's registry, read over the cluster's IPC channel. A real two-worker cluster.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { family, parseMetrics, series } from '../helpers/metrics.ts';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cluster-fixture.ts');

let child: ChildProcess;
let port: number;

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = /^(\d+)\n/.exec(output);
      if (line) resolve(Number(line[1]));
    });
    child.once('exit', (code) => reject(new Error(`the cluster exited early (${code})`)));
  });
});
afterAll(() => {
  child.kill('SIGKILL');
});

describe('metrics of a cluster', () => {
  it("answers the sum of the workers' registries", async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    const samples = parseMetrics(await response.text());
    expect(samples.get('orders_api_idempotent_replays_total')).toBe(3);
    expect(samples.get('orders_api_db_pool_max')).toBe(6);
    expect(family(samples, 'orders_api_db_circuit_state')).toEqual({
      [series('orders_api_db_circuit_state', { state: 'closed' })]: 1,
      [series('orders_api_db_circuit_state', { state: 'open' })]: 1,
      [series('orders_api_db_circuit_state', { state: 'half-open' })]: 0,
    });
  });
});
