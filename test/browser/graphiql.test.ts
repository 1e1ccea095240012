/**
 * GraphiQL in a real browser: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) opens /graphql from a server on a loopback port, waits for the editor, runs
 * the first demo tab and must show the viewer's data, with no request leaving the server's
 * origin (anything else is aborted and counted), no console error, no uncaught exception and
 * no Content-Security-Policy violation.
 *
 * Chromium is looked for at CHROMIUM_PATH, /usr/bin/chromium and /usr/bin/chromium-browser.
 * Without one the test is skipped with a message, unless REQUIRE_BROWSER=1 (as in CI, which
 * installs it): then a missing browser fails the run.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createTokenVerifier } from '../../src/auth/jwt.ts';
import { loadConfig } from '../../src/config.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const chromiumPath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']
  .filter((candidate): candidate is string => Boolean(candidate))
  .find((candidate) => existsSync(candidate));
const required = process.env.REQUIRE_BROWSER === '1';

if (!chromiumPath && !required) {
  process.stderr.write(
    'test/browser: no Chromium found (CHROMIUM_PATH, /usr/bin/chromium): the GraphiQL browser ' +
      'test is skipped. Install it with `apt-get install chromium`; CI sets REQUIRE_BROWSER=1.\n',
  );
}

describe.skipIf(!chromiumPath && !required)('GraphiQL in Chromium', () => {
  let t: TestApp;
  let server: Server;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    if (!chromiumPath) {
      throw new Error('REQUIRE_BROWSER=1 but no Chromium was found (set CHROMIUM_PATH).');
    }
    t = await startTestApp();
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: t.config.dataDir, GRAPHIQL: 'true' });
    const app = createApp({
      config,
      database: t.database,
      persistedOperations: t.persistedOperations,
      verifier: await createTokenVerifier(config.auth),
      logger: pino({ level: 'silent' }),
      graphiqlAuthorization: `Bearer ${await t.token('acme/alice')}`,
    });
    server = createHttpServer(app, config);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      // Root in CI has no user namespace for the sandbox; no name resolves but loopback.
      args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
    await t?.close();
  });

  it('runs the first demo tab offline and shows the viewer', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const elsewhere: string[] = [];
    const problems: string[] = [];
    // Every request the page or its workers make: our origin, or aborted and recorded.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`) || url.startsWith('data:') || url.startsWith('blob:')) {
        return route.continue();
      }
      elsewhere.push(url);
      return route.abort('blockedbyclient');
    });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`exception: ${error.message}`));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
      });
    });

    const response = await page.goto(`${origin}/graphql`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('Orders API');
    // The editor is up once Monaco has rendered the first tab's query.
    await page.waitForSelector('.graphiql-query-editor .monaco-editor', { timeout: 30_000 });
    await page.waitForFunction(
      () => document.querySelector('.graphiql-query-editor')?.textContent?.includes('WhoAmI'),
      undefined,
      { timeout: 30_000 },
    );
    await page.click('.graphiql-execute-button');
    await page.waitForFunction(
      () => document.querySelector('.graphiql-response')?.textContent?.includes('alice'),
      undefined,
      { timeout: 30_000 },
    );
    // Monaco renders spaces as no-break spaces.
    const result = ((await page.textContent('.graphiql-response')) ?? '').replace(/\s+/g, ' ');
    expect(result).toContain('"username": "alice"');
    expect(result).toContain('"slug": "acme"');

    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
