/**
 * `npx tsx bench/profile.ts [--seconds N] [--connections N] [--cpu-prof] [-- server flags]`:
 * one server under the OrderList load of `npm run bench` (a), measured the way each step of
 * docs/performance.md was: requests per second and the server's CPU time per request (utime +
 * stime from /proc ÷ requests answered) of its built bundle (bench/build.ts), optionally with a V8 CPU profile written to the work
 * directory (read it with `npx tsx scripts/cpuprofile-top.ts FILE`). Needs DATABASE_URL holding
 * the bench's scale-100 data (run `npm run bench -- --quick --only orders` once to seed it).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mintDevToken } from '../src/auth/dev-token.ts';
import { loadConfig } from '../src/config.ts';
import { readManifestFile } from '../src/persisted-operations/manifest.ts';
import { buildBenchServers } from './build.ts';
import { runLoad } from './load.ts';
import { startBenchServer, startScriptNodeFlags, Teardown } from './processes.ts';
import { type BenchRequest, orderListRequests, persistedOperation } from './scenarios.ts';

const { values, positionals } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    'cpu-prof': { type: 'boolean', default: false },
    'node-flag': { type: 'string', multiple: true, default: [] },
    query: { type: 'string' },
    script: { type: 'string' },
  },
  allowPositionals: true,
});

/** The process's user and system CPU time so far, in clock ticks (100 a second). */
async function readCpuTicks(pid: number): Promise<{ user: number; system: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}
function serverEnvironment(databaseUrl: string, dataDir: string): Record<string, string> {
  const unlimited = '1000000000/1000000000';
  return {
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    JWT_MAX_TOKEN_LIFETIME: '24h',
    PERSISTED_OPERATIONS: 'allow',
    GRAPHIQL: 'false',
    FIELD_RATE_LIMITS: 'false',
    MAX_COST: '5000',
    BUDGET_FREE: unlimited,
    BUDGET_PRO: unlimited,
    BUDGET_ENTERPRISE: unlimited,
    BUDGET_ANONYMOUS: unlimited,
  };
}
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  process.stderr.write('profile: DATABASE_URL must name the bench database\n');
  process.exit(2);
}
const workDir = await mkdtemp(path.join(os.tmpdir(), 'orders-profile-'));
const env = serverEnvironment(databaseUrl, workDir);
const config = loadConfig(env);
const token = await mintDevToken(config, { tenant: 'acme', user: 'alice', ttlSeconds: 3600 });
const manifest = await readManifestFile(config.persistedOperations.manifestFile);
const requests: BenchRequest[] = values.query
  ? [
      {
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: values.query }),
      },
    ]
  : orderListRequests(token, persistedOperation(manifest, 'OrderList'));
const teardown = new Teardown();
try {
  // Built like npm start's bundle (and every server of the bench), so the profile shows the
  // server, not a TypeScript loader.
  const script = values.script ?? 'bench/server.ts';
  // With --cpu-prof the build and its source maps stay, for scripts/cpuprofile-top.ts to read.
  const build = await buildBenchServers([script], { sourceMaps: values['cpu-prof'] });
  if (!values['cpu-prof']) {
    teardown.add('the built server', () => rm(build.outdir, { recursive: true, force: true }));
  }
  const server = await startBenchServer({
    name: 'profiled',
    env,
    flags: positionals,
    script: build.files[script] as string,
    // Our server with npm start's Node flags, as the bench runs it; a reference with Node's.
    nodeFlags: [
      ...(script === 'bench/server.ts' ? startScriptNodeFlags() : []),
      ...(values['node-flag'] ?? []),
      ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${workDir}`] : []),
    ],
    logDir: workDir,
    teardown,
  });
  const connections = Number(values.connections);
  await runLoad({ url: server.url, connections, seconds: 3, requests });
  const before = await readCpuTicks(server.pid);
  const result = await runLoad({
    url: server.url,
    connections,
    seconds: Number(values.seconds),
    requests,
    pids: [server.pid],
  });
  const after = await readCpuTicks(server.pid);
  const answered = result.samples.latenciesMs.length;
  const userMs = ((after.user - before.user) * 1000) / 100;
  const systemMs = ((after.system - before.system) * 1000) / 100;
  const cpuMs = userMs + systemMs;
  process.stdout.write(
    `${answered} requests in ${values.seconds} s: ${(answered / Number(values.seconds)).toFixed(1)} req/s, ` +
      `${(cpuMs / answered).toFixed(2)} ms CPU/request (user ${(userMs / answered).toFixed(2)}, ` +
      `system ${(systemMs / answered).toFixed(2)}), peak RSS ${Math.round(
        (Object.values(result.peakRssKb)[0] ?? 0) / 1024,
      )} MB\n`,
  );
} finally {
  await teardown.run();
}
if (values['cpu-prof']) {
  const profiles = (await readdir(workDir)).filter((name) => name.endsWith('.cpuprofile'));
  for (const name of profiles) process.stdout.write(`profile: ${path.join(workDir, name)}\n`);
  process.stdout.write('(the profiled build and its source maps stay under dist/bench/)\n');
}
