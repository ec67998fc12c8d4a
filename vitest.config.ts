import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          // in-process tests (manual clocks, real actors, temp LMDB files): two files at a time
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/supervisor/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          // one module graph per worker: the files share the imports (most of their time), not state
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          // One file at a time, after the unit tests: the integration tests start worker threads,
          // processes and servers, and their ratio and deadline checks must not share the two cores.
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
