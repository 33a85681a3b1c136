import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sandbox } from '../helpers/sandbox.js';

const root = join(import.meta.dirname, '..', '..');
const sb = sandbox('berth-demo-');
afterAll(() => sb.cleanup());

describe("README's main-job command (scripts/demo)", () => {
  it('checks the host, runs the example pipeline under the monitor and prints the result', () => {
    const r = spawnSync('bash', [join(root, 'scripts/demo')], {
      env: sb.env,
      encoding: 'utf8',
      timeout: 240_000, // within the suite's test timeout; slow only on a loaded machine
    });
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    expect(r.stdout).toMatch(/^scheduler\s+(slurm|none)/m);
    expect(r.stdout).toMatch(/ran 36 task\(s\); the run is complete/);
    expect(r.stdout).toMatch(/RUNNING[\s\S]*COMPLETED\s+exit 0/);
    expect(r.stdout).toMatch(/^samples 32000$/m);
  });
});
