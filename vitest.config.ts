import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file opens its own database (an in-memory PGlite, or a fresh database on the
    // server named by DATABASE_URL), so files run in parallel without sharing state.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { NODE_ENV: 'test' },
  },
});
