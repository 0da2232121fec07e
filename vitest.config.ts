import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default leaves one core free: on the 2-core machines that is
    // one test file at a time, while most files wait on child processes.
    // Two workers there: the suite takes 226 s instead of 361 s.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
