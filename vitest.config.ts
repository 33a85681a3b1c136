import { defineConfig } from 'vitest/config';

/**
 * The main suite. Files named `*.serial.test.ts` disturb shared services (they stop
 * slurmctld, flood the machine with processes) and run afterwards, one at a time, with
 * vitest.serial.config.ts (scripts/test runs both).
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.serial.test.ts', 'node_modules/**'],
    // Generous: a deadline only bounds a failure. Tests wait for SLURM jobs on a 6-CPU test
    // cluster that every file in parallel shares, on a loaded 2-core machine.
    testTimeout: 300_000,
    hookTimeout: 180_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
