/**
 * The launcher run by bash (no tmux needed when the run id is given and the log pipe is
 * "attached" up front): the exit record, and a lease tenant leaving its lease when its
 * restart policy wants no new run for that exit.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderCommand, renderLauncher } from '../../src/sessions/launcher.js';
import { layoutFor } from '../../src/sessions/layout.js';
import { parseSpecText } from '../../src/sessions/spec-file.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function runTenant(restart: string, exitCode: number) {
  const root = mkdtempSync(join(tmpdir(), 'berth-launcher-'));
  dirs.push(root);
  const spec = parseSpecText(
    [
      'apiVersion: berth/v1',
      'kind: Session',
      'metadata: { name: t.v1 }',
      'spec:',
      '  runtime: slurm-tenant',
      `  command: 'echo ran; exit ${exitCode}'`,
      `  restart: ${restart}`,
      '  slurm: { lease: l }',
    ].join('\n'),
    'spec.yaml',
  );
  const layout = layoutFor(spec, root, 'ns');
  const leaseLauncher = join(root, 'leases', 'l', 'tenants', 't.v1.sh');
  mkdirSync(join(root, 'leases', 'l', 'tenants'), { recursive: true });
  writeFileSync(leaseLauncher, 'true\n');
  const run = '20260123T040506.789Z';
  mkdirSync(join(layout.dir, 'runs', run), { recursive: true });
  writeFileSync(join(layout.dir, 'runs', run, 'go'), '');
  writeFileSync(join(layout.dir, 'command.sh'), renderCommand(spec));
  const plan = { spec, layout, host: 'h', runtime: spec.runtime, leaseLauncher };
  writeFileSync(join(layout.dir, 'launch.sh'), renderLauncher(plan));
  const r = spawnSync('bash', [join(layout.dir, 'launch.sh'), run], {
    env: { PATH: process.env.PATH, HOME: root },
    encoding: 'utf8',
  });
  const exit = readFileSync(join(layout.dir, 'runs', run, 'exit'), 'utf8').split(' ')[0];
  return { status: r.status, stdout: r.stdout, exit, kept: existsSync(leaseLauncher) };
}

describe('the launcher of a lease tenant', () => {
  it('records the exit code', () => {
    expect(runTenant('always', 5)).toMatchObject({ status: 5, exit: '5', stdout: 'ran\n' });
  });

  it('leaves the lease when its restart policy wants no new run for that exit', () => {
    expect(runTenant('never', 0).kept).toBe(false);
    expect(runTenant('never', 3).kept).toBe(false);
    expect(runTenant('on-failure', 0).kept).toBe(false);
    expect(runTenant('on-failure', 3).kept).toBe(true);
    expect(runTenant('always', 0).kept).toBe(true);
  });

  it('leaves nothing else alone: other runtimes have no lease to leave', () => {
    const spec = parseSpecText(
      'apiVersion: berth/v1\nkind: Session\nmetadata: { name: d }\nspec:\n  command: x\n',
      'd.yaml',
    );
    const text = renderLauncher({
      spec,
      layout: layoutFor(spec, '/r', 'ns'),
      host: 'h',
      runtime: 'direct',
    });
    expect(text).not.toMatch(/rm -f/);
    expect(spawnSync('bash', ['-n'], { input: text }).status).toBe(0);
  });
});
