/**
 * `pipeline status` of a run on the local process pool while it runs and after it was
 * killed: RUNNING markers whose wrapper lives count as running; once the berth that ran
 * them and the tasks are killed (SIGKILL, no clean-up) the same markers read as missing
 * ("interrupted"), never running, and `resume` completes the run. Ctrl-C of a run
 * terminates its tasks (they run in their own process groups) and exits 130.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berth, json } from '../helpers/cli.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'berth.js');
let box: Sandbox;
let tmp: string;
let root: string;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];
const taskGroups = new Set<number>();

interface Unit {
  unit: string;
  total: number;
  done: number;
  running: number;
  failed: number;
  missing: number;
  interrupted: number;
}

const status = (run: string) =>
  berth(['--json', 'pipeline', 'status', run, '--root', root], { cwd: tmp, env });

async function until<T>(what: string, probe: () => T | undefined, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function kill(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

beforeAll(() => {
  box = sandbox('berth-pipe-running-');
  tmp = box.cwd;
  root = join(box.dir, 'runs');
  env = box.env;
});

afterAll(() => {
  for (const c of children) if (c.pid) kill(c.pid);
  for (const g of taskGroups) kill(g);
  box.cleanup();
});

/**
 * `berth [FLAGS] pipeline run` in the background (its own process group) of a stage of 3
 * tasks, 2 at once, that sleep while the gate file exists and then write out.txt.
 */
function startSlow(run: string, flags: string[]): { child: ChildProcess; gate: string } {
  const spec = join(tmp, `${run}.yaml`);
  const gate = join(tmp, `${run}.gate`);
  writeFileSync(gate, '');
  writeFileSync(
    spec,
    [
      `name: ${run}`,
      'concurrency: 2',
      'params: { gate: x }',
      'stages:',
      '  work:',
      '    array: 3',
      '    run: if [ -e {{param.gate}} ]; then sleep 600; fi; echo {{task}} > out.txt',
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    [bin, ...flags, 'pipeline', 'run', spec, '--root', root, '--set', `gate=${gate}`],
    { cwd: tmp, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  return { child, gate };
}

describe('pipeline status on the process pool', () => {
  it('shows running tasks, then interrupted ones after a kill, and resume completes', async () => {
    const run = `slow-${process.pid}`;
    const { child, gate } = startSlow(run, []);

    // Two tasks (the pool's concurrency) run; the third has not started.
    const live = await until('two running tasks', () => {
      const r = status(run);
      if (r.status !== 0) return undefined;
      const u = json<{ units: Unit[] }>(r).units[0]!;
      return u.running === 2 ? u : undefined;
    });
    expect(live).toMatchObject({ unit: 'work@0', total: 3, done: 0, running: 2, missing: 1 });
    expect(live.interrupted).toBe(0);
    const text = berth(['pipeline', 'status', run, '--root', root], { cwd: tmp, env });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/work@0\s+\[>+\.+\]\s+0\/3\s+2\s+0\s+0\s+1/);
    expect(text.stdout).toContain(`${run}: running (2 task(s) running or pending)`);

    // resume while tasks run would run them twice: refused.
    const busy = berth(['--json', 'pipeline', 'resume', run, '--root', root], { cwd: tmp, env });
    expect(busy.status).toBe(7);
    expect(json(busy).message).toContain('still has 2 task(s) running');

    // Kill berth and every task (each task's wrapper leads its own process group).
    const workDir = join(root, run, 'work', 'once');
    for (const t of readdirSync(workDir)) {
      const marker = join(workDir, t, 'RUNNING');
      if (!existsSync(marker)) continue;
      const pid = Number(readFileSync(marker, 'utf8').trim().split(' ')[1]);
      expect(pid).toBeGreaterThan(1);
      taskGroups.add(pid);
    }
    expect(taskGroups.size).toBe(2);
    kill(child.pid!);
    for (const g of taskGroups) kill(g);

    const after = await until('no running task', () => {
      const u = json<{ units: Unit[] }>(status(run)).units[0]!;
      return u.running === 0 ? u : undefined;
    });
    expect(after).toMatchObject({ done: 0, running: 0, failed: 0, missing: 3, interrupted: 2 });
    // The stale markers are still there: they read as interrupted, never running.
    expect(
      readdirSync(workDir).filter((t) => existsSync(join(workDir, t, 'RUNNING'))),
    ).toHaveLength(2);
    const text2 = berth(['pipeline', 'status', run, '--root', root], { cwd: tmp, env });
    expect(text2.stdout).toContain('3 (2 interrupted)');
    expect(text2.stdout).toContain(`${run}: incomplete; berth pipeline resume ${run}`);

    rmSync(gate);
    const res = berth(['--json', 'pipeline', 'resume', run, '--root', root], { cwd: tmp, env });
    expect(res.status, res.stderr).toBe(0);
    expect(json<{ outcome: { ok: boolean; tasksRun: number } }>(res).outcome).toMatchObject({
      ok: true,
      tasksRun: 3,
    });
    const done = json<{ complete: boolean; units: Unit[] }>(status(run));
    expect(done.complete).toBe(true);
    expect(done.units[0]).toMatchObject({ done: 3, running: 0, missing: 0, interrupted: 0 });
    for (const t of ['0', '1', '2']) {
      expect(readFileSync(join(workDir, t, 'out.txt'), 'utf8')).toBe(`${t}\n`);
      expect(existsSync(join(workDir, t, 'RUNNING'))).toBe(false);
    }
  }, 600_000);

  it('Ctrl-C (SIGINT) of a run terminates its tasks: exit 130, interrupted, resume completes', async () => {
    const run = `ctrlc-${process.pid}`;
    const { child, gate } = startSlow(run, ['--json']);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => {
      out += String(d);
    });
    child.stderr?.on('data', (d) => {
      err += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    await until('two running tasks', () => {
      const r = status(run);
      if (r.status !== 0) return undefined;
      return json<{ units: Unit[] }>(r).units[0]!.running === 2 ? true : undefined;
    });
    const workDir = join(root, run, 'work', 'once');
    for (const t of readdirSync(workDir)) {
      const marker = join(workDir, t, 'RUNNING');
      if (existsSync(marker)) taskGroups.add(Number(readFileSync(marker, 'utf8').split(' ')[1]));
    }

    child.kill('SIGINT');
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 120_000)),
    ]);
    expect(code, err).toBe(130);
    expect(err).toContain('SIGINT: terminating the running tasks');
    const v = JSON.parse(out) as { outcome: { ok: boolean; interrupted?: boolean } };
    expect(v.outcome).toMatchObject({ ok: false, interrupted: true });

    const after = await until('no running task', () => {
      const u = json<{ units: Unit[] }>(status(run)).units[0]!;
      return u.running === 0 ? u : undefined;
    });
    expect(after).toMatchObject({ done: 0, running: 0, missing: 3, interrupted: 2 });

    rmSync(gate);
    const res = berth(['--json', 'pipeline', 'resume', run, '--root', root], { cwd: tmp, env });
    expect(res.status, res.stderr).toBe(0);
    const done = json<{ complete: boolean; units: Unit[] }>(status(run));
    expect(done.complete).toBe(true);
    expect(done.units[0]).toMatchObject({ done: 3, running: 0, interrupted: 0 });
  }, 600_000);
});
