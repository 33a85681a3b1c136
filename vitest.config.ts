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
    // vitest's default number of workers (cores - 1) runs one file at a time on a 2-core
    // machine. Three at once halved the suite (504 s against 1095 s) but made the 6-CPU
    // test cluster the bottleneck: a `srun -N3` waited over 90 s for three free nodes and
    // a tenant's lease hop came late. Inside a file, independent jobs are started
    // together (e2e/job submits six at once).
    globalSetup: ['test/global-setup.ts'],
  },
});
