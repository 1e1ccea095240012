import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (`main`) and ESM (`module`). Vite would give our sources the
    // ESM copy while Yoga and Pothos, loaded by Node, get the CommonJS one: two GraphQLError
    // classes, and `instanceof` checks fail. Pin everyone to the copy Node itself loads.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
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
