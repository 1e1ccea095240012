/**
 * The delivery worker during a database outage: every round goes through the circuit breaker;
 * while it refuses (SERVICE_UNAVAILABLE) the worker waits for its Retry-After instead of
 * polling, logs the outage once and its end once, and then goes on delivering.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseCircuit } from '../../src/db/circuit-breaker.ts';
import { apiError, ErrorCode } from '../../src/errors.ts';
import { startWebhookWorker } from '../../src/webhooks/worker.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually } from '../helpers/webhook-receiver.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.destroy());

describe('the webhook worker in a database outage', () => {
  it('backs off for the Retry-After, logs the outage once, and resumes', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, callback) {
          lines.push(JSON.parse(String(chunk)));
          callback();
        },
      }),
    );
    let calls = 0;
    let down = true;
    const circuit: DatabaseCircuit = {
      state: 'open',
      lastFailureCode: 'ECONNREFUSED',
      retryAfterSeconds: () => 2,
      onStateChange: () => () => {},
      async run(operation) {
        calls++;
        if (down) throw apiError(ErrorCode.SERVICE_UNAVAILABLE, 'The database is unavailable.');
        return operation();
      },
    };
    const worker = startWebhookWorker({
      database: { db: database.db, circuit },
      logger,
      retryScheduleMs: [50],
      urlPolicy: { requireHttps: false, allowPrivate: true },
      pollIntervalMs: 10,
    });
    try {
      await eventually(() => calls >= 1);
      // Polling every 10 ms would have made dozens of calls; the worker waits out Retry-After
      // (2 s), well beyond this look.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(calls).toBe(1);
      await eventually(() => calls >= 2, { timeoutMs: 10_000 });
      down = false;
      await eventually(() =>
        lines.some((line) => String(line.msg).startsWith('database reachable')),
      );
      const messages = lines.map((line) => line.msg);
      expect(messages.filter((msg) => String(msg).startsWith('database unavailable'))).toEqual([
        'database unavailable: webhook deliveries paused until it is back',
      ]);
      expect(messages.filter((msg) => String(msg).startsWith('database reachable'))).toEqual([
        'database reachable again: webhook deliveries resume',
      ]);
    } finally {
      await worker.stop();
    }
  });
});
