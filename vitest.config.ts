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
    // Files run side by side: most of their time is spent waiting on SLURM, walltimes and
    // sleeps, not on the CPU. vitest's default (one worker per core but one) would run
    // them one after another on a 2-core CI machine.
    maxWorkers: 3,
    globalSetup: ['test/global-setup.ts'],
  },
});
