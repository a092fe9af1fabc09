import { defineConfig } from 'vitest/config';

// Two projects: fast unit/integration tests of every layer under Node, and end-to-end tests that start
// browser mode and drive Debian's Chromium (run one file at a time: they share the two CPU cores).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/shared/**/*.test.ts', 'test/main/**/*.test.ts', 'test/renderer/**/*.test.ts'],
          // One random tiny pack per run, copied by the tests that need one (cachedTinyPack).
          globalSetup: ['test/support/random-pack-setup.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          pool: 'forks',
        },
      },
    ],
    allowOnly: false,
  },
});
