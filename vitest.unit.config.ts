import { defineConfig } from 'vitest/config';

/** Pure unit tests only: no cluster, no build. */
export default defineConfig({
  test: { include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 },
});
