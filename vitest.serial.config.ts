import { defineConfig } from 'vitest/config';

/** Tests that disturb shared services: one file at a time, after the main suite. */
export default defineConfig({
  test: {
    include: ['test/**/*.serial.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
  },
});
