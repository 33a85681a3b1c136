/**
 * `berth pipeline …` as a user runs it (in process: the pipeline command group on the
 * real program, real tasks on this machine): --json everywhere, exit 2 with file:line:col
 * or the flag for bad input, and nothing created then.
 */
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/context.js';
import { buildProgram } from '../../src/cli/main.js';
import { register } from '../../src/cli/pipeline.js';

const SPEC = join(import.meta.dirname, '../../examples/rg/pipeline.yaml');
let tmp: string;
let root: string;

async function berth(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    io: { out: (s) => out.push(s), err: (s) => err.push(s) },
    env: { ...process.env, BERTH_PIPELINE_ROOT: root },
    cwd: tmp,
    exitCode: 0,
  };
  const program = buildProgram(ctx);
  await register(program, ctx);
  const quiet = (c: Command) => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
    for (const sub of c.commands) quiet(sub as unknown as Command);
  };
  quiet(program as unknown as Command);
  let code: number;
  try {
    await program.parseAsync(['node', 'berth', ...args]);
    code = ctx.exitCode;
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    code = e.exitCode === 0 ? 0 : 2;
  }
  return { code, out: out.join(''), err: err.join('') };
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'berth-pipe-cli-'));
  root = join(tmp, 'runs');
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('berth pipeline', () => {
  it('rejects a bad spec with file:line:col, exit 2, nothing created', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'name: x\nstages:\n  a:\n    run: echo {{param.nope}}\n');
    const r = await berth('pipeline', 'run', bad);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:4:10: stages.a.run: {{param.nope}}: no param nope`);
    expect(existsSync(root)).toBe(false);
  });

  it('rejects a bad --set naming the flag, exit 2, with --json too', async () => {
    const r = await berth('--json', 'pipeline', 'run', SPEC, '--set', 'samples=many');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({
      error: 'E_USAGE',
      message: '--set samples=many: expected number (the spec gives number 4000)',
    });
    expect(existsSync(join(root, 'rg'))).toBe(false);
  });

  it('--dry-run prints the plan and runs nothing', async () => {
    const r = await berth('--json', 'pipeline', 'run', SPEC, '--dry-run');
    expect(r.code).toBe(0);
    const v = JSON.parse(r.out);
    expect(v).toMatchObject({ run: 'rg', dryRun: true, markerRoundTrips: 1 });
    expect(v.plan.tasksToRun).toBe(36);
    expect(existsSync(join(root, 'rg'))).toBe(false);
  });

  it('run, status, list, resume, restart, plan --explain', async () => {
    const run = await berth('pipeline', 'run', SPEC, '--set', 'samples=500', '--concurrency', '2');
    expect(run.code).toBe(0);
    expect(run.out).toContain('ran 36 task(s); the run is complete');

    const again = await berth('pipeline', 'run', SPEC);
    expect(again.code).toBe(7);
    expect(again.err).toContain('berth pipeline resume rg');

    unlinkSync(join(root, 'rg/gen/step-4/1/READY'));
    const status = await berth('--json', 'pipeline', 'status', 'rg');
    const s = JSON.parse(status.out);
    expect(s.complete).toBe(false);
    expect(s.units.find((u: { unit: string }) => u.unit === 'gen@4')).toMatchObject({
      done: 7,
      missing: 1,
    });
    const text = await berth('pipeline', 'status', 'rg');
    expect(text.out).toMatch(/gen@4\s+\[#{18}\.{2}\]\s+7\/8/);

    const list = JSON.parse((await berth('--json', 'pipeline', 'list')).out);
    expect(list.map((r: { name: string }) => r.name)).toEqual(['rg']);

    const plan = await berth('pipeline', 'plan', SPEC, '--set', 'samples=500', '--explain');
    expect(plan.out).toContain('gen@4 tasks 1: missing READY marker');
    expect(plan.out).toContain('hist@4 tasks 0: inputs changed (gen@4 runs again)');

    const resume = JSON.parse((await berth('--json', 'pipeline', 'resume', 'rg')).out);
    expect(
      resume.outcome.units.map((u: { unit: string; ran: number[] }) => [u.unit, u.ran]),
    ).toEqual([
      ['gen@4', [1]],
      ['hist@4', [0]],
    ]);

    const restart = JSON.parse(
      (await berth('--json', 'pipeline', 'restart', 'rg', '--from-step', '4')).out,
    );
    expect(restart.outcome.tasksRun).toBe(9);

    const badStep = await berth('pipeline', 'restart', 'rg', '--from-step', '9');
    expect(badStep.code).toBe(2);
    expect(badStep.err).toContain('--from-step 9: the run has steps 1 to 4');

    const missing = await berth('pipeline', 'status', 'nope');
    expect(missing.code).toBe(3);
  });
});
