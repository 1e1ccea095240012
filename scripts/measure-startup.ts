/**
 * Measures the time from `npm start` to the first answered GraphQL request, on a fresh
 * DATA_DIR (create + migrate + seed) and again on the same, existing one. Numbers for the
 * README; run with `npx tsx scripts/measure-startup.ts`. Not a test: timings are noisy.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function timeToFirstAnswer(dataDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  const child = spawn('npm', ['start', '--silent'], { env, stdio: 'ignore', detached: true });
  try {
    for (let attempt = 0; attempt < 1200; attempt++) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ viewer { scopes } }' }),
        });
        if (response.ok) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the server did not answer within 60 s');
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'orders-startup-'));
try {
  const fresh = await timeToFirstAnswer(dataDir);
  const existing = await timeToFirstAnswer(dataDir);
  console.log(
    JSON.stringify({ freshDataDirMs: Math.round(fresh), existingDataDirMs: Math.round(existing) }),
  );
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
