import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One file at a time: the integration tests start worker threads and processes, and the
    // ratio tests must not share the two cores with them.
    fileParallelism: false,
  },
});
