/** `npm run token` and the development tokens it prints (src/cli/token.ts, src/auth/dev-token.ts). */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration, mintDevToken, parseTtl } from '../../src/auth/dev-token.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { loadConfig } from '../../src/config.ts';
import { DEMO_TENANTS } from '../../src/db/seed.ts';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('token CLI', () => {
  const acme = DEMO_TENANTS.find((tenant) => tenant.slug === 'acme')!;
  const alice = acme.users.find((user) => user.username === 'alice')!;
  let dataDir: string;
  let cliEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'orders-token-cli-'));
    cliEnv = { ...process.env, DATA_DIR: dataDir, NODE_ENV: 'development', DATABASE_URL: '' };
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  function runCli(args: string[]) {
    return execFileAsync('npx', ['tsx', 'src/cli/token.ts', ...args], {
      cwd: repoRoot,
      env: cliEnv,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        stdout: error.stdout,
        stderr: error.stderr,
      }),
    );
  }

  it('prints exactly one JWT line that the server verifies as the demo user', async () => {
    const { code, stdout } = await runCli(['--tenant', 'acme', '--user', 'alice', '--ttl', '15m']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const config = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'development' });
    const viewer = await (await createTokenVerifier(config.auth)).verify(stdout.trim());
    expect(viewer).toMatchObject({ userId: alice.id, tenantId: acme.id, role: 'admin' });
    const claims = decodeJwt(stdout.trim());
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(15 * 60);
  });

  it('exits 1 with a message on stderr for a bad ttl', async () => {
    for (const ttl of ['soon', '25h']) {
      const { code, stdout, stderr } = await runCli([
        '--tenant',
        'acme',
        '--user',
        'alice',
        '--ttl',
        ttl,
      ]);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/--ttl/);
    }
  });

  it('refuses a --ttl longer than the maximum token lifetime the server accepts', async () => {
    const { code, stdout, stderr } = await runCli([
      '--tenant',
      'acme',
      '--user',
      'alice',
      '--ttl',
      '2h',
    ]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    // npx may add its own warnings to stderr; the command's message is one whole line.
    expect(stderr).toContain(
      'token: --ttl 2h is longer than the server accepts: tokens may live at most 15m (JWT_MAX_TOKEN_LIFETIME). Use a shorter --ttl, or raise JWT_MAX_TOKEN_LIFETIME for the server and this command alike.\n',
    );
  });

  it('mints a longer token when JWT_MAX_TOKEN_LIFETIME allows it, and the server accepts it', async () => {
    const env = { DATA_DIR: dataDir, NODE_ENV: 'development', JWT_MAX_TOKEN_LIFETIME: '2h' };
    const { code, stdout } = await execFileAsync(
      'npx',
      ['tsx', 'src/cli/token.ts', '--tenant', 'acme', '--user', 'alice', '--ttl', '2h'],
      { cwd: repoRoot, env: { ...cliEnv, ...env } },
    ).then(({ stdout }) => ({ code: 0, stdout }));
    expect(code).toBe(0);
    const claims = decodeJwt(stdout.trim());
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(7200);
    const verify = await createTokenVerifier(loadConfig(env).auth);
    await expect(verify.verify(stdout.trim())).resolves.toMatchObject({ userId: alice.id });
  });

  it('defaults to 15 minutes, or to the maximum lifetime when that is shorter', async () => {
    const standard = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'development' });
    const short = loadConfig({
      DATA_DIR: dataDir,
      NODE_ENV: 'development',
      JWT_MAX_TOKEN_LIFETIME: '5m',
    });
    const lifetime = (token: string) => {
      const claims = decodeJwt(token);
      return (claims.exp ?? 0) - (claims.iat ?? 0);
    };
    expect(lifetime(await mintDevToken(standard, { tenant: 'acme', user: 'alice' }))).toBe(900);
    expect(lifetime(await mintDevToken(short, { tenant: 'acme', user: 'alice' }))).toBe(300);
    await expect(
      mintDevToken(short, { tenant: 'acme', user: 'alice', ttlSeconds: 301 }),
    ).rejects.toThrow('--ttl 5m1s is longer than the server accepts: tokens may live at most 5m');
  });

  it('formats durations as the shortest exact units', () => {
    expect(formatDuration(900)).toBe('15m');
    expect(formatDuration(90)).toBe('1m30s');
    expect(formatDuration(7200)).toBe('2h');
    expect(formatDuration(86_400)).toBe('1d');
    expect(formatDuration(5400)).toBe('1h30m');
  });

  it('exits 1 naming the demo users for an unknown user', async () => {
    const { code, stdout, stderr } = await runCli(['--tenant', 'acme', '--user', 'mallory']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/mallory/);
    expect(stderr).toMatch(/alice/);
  });

  it('parses ttl units and refuses more than a day', () => {
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl('2h')).toBe(7200);
    expect(parseTtl('1d')).toBe(86_400);
    expect(() => parseTtl('2d')).toThrow(/24h/);
    for (const bad of ['15', '1.5h', '0s', '-5m', '5 m', 'm', '']) {
      expect(() => parseTtl(bad)).toThrow(/duration/);
    }
  });

  it('mints tokens for the start-up banner without a database', async () => {
    const config = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'development' });
    const verify = await createTokenVerifier(config.auth);
    for (const tenant of DEMO_TENANTS) {
      for (const user of tenant.users) {
        const token = await mintDevToken(config, { tenant: tenant.slug, user: user.username });
        await expect(verify.verify(token)).resolves.toMatchObject({
          userId: user.id,
          tenantId: tenant.id,
          role: user.role,
        });
      }
    }
  });

  it('refuses to mint when keys come from a JWKS', async () => {
    const config = loadConfig({
      DATA_DIR: dataDir,
      NODE_ENV: 'development',
      JWT_JWKS_URL: 'https://idp.example/jwks.json',
    });
    await expect(mintDevToken(config, { tenant: 'acme', user: 'alice' })).rejects.toThrow(
      /identity provider/,
    );
  });
});
