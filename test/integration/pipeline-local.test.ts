/**
 * The local executor on this machine with real processes: the example pipeline run whole,
 * interrupted and resumed, with markers deleted, and restarted from a step; outputs are
 * compared byte for byte with an uninterrupted run.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunContext, resumeRun, runStatus, startRun } from '../../src/pipeline/index.js';
import { LocalRunner } from '../../src/transport/local.js';

const SPEC = join(import.meta.dirname, '../../examples/rg/pipeline.yaml');
let tmp: string;
const runner = new LocalRunner();

function ctx(root: string, extra: Partial<RunContext> = {}): RunContext {
  return { root, runner, ...extra };
}

/** sha256 of every output file of a run (samples, histograms, stats), by relative path. */
function outputs(runDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, `${rel}${name}/`);
      else if (/\.txt$/.test(name))
        out[`${rel}${name}`] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(runDir, '');
  return out;
}

const ran = (r: Awaited<ReturnType<typeof startRun>>) =>
  Object.fromEntries((r.outcome?.units ?? []).map((u) => [u.unit, u.ran]));

let reference: Record<string, string>;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'berth-pipe-'));
  const t0 = Date.now();
  const r = await startRun(ctx(join(tmp, 'ref')), SPEC);
  expect(Date.now() - t0).toBeLessThan(60_000);
  expect(r.outcome?.ok).toBe(true);
  expect(r.outcome?.tasksRun).toBe(36);
  reference = outputs(r.runDir);
});

afterAll(async () => {
  await runner.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('pipeline on the local host', () => {
  it('writes samples, histograms, READY and DONE.json', () => {
    expect(Object.keys(reference)).toContain('hist/step-4/0/hist.txt');
    expect(Object.keys(reference).filter((k) => k.endsWith('samples.txt'))).toHaveLength(32);
    const done = JSON.parse(readFileSync(join(tmp, 'ref/rg/hist/step-4/0/DONE.json'), 'utf8'));
    expect(done).toMatchObject({ stage: 'hist', step: 4, tasks: 8, jobIds: ['local:gen@4'] });
    expect(typeof done.hash).toBe('string');
    const ready = readFileSync(join(tmp, 'ref/rg/gen/step-1/3/READY'), 'utf8');
    expect(ready).toMatch(/^[0-9a-f]{16}\n$/);
    expect(readFileSync(join(tmp, 'ref/rg/gen/step-4/0/READY'), 'utf8')).toBe(ready);
  });

  it('is deterministic: a second run gives the same bytes', async () => {
    const r = await startRun(ctx(join(tmp, 'again')), SPEC);
    expect(outputs(r.runDir)).toEqual(reference);
  });

  it('resumes exactly the missing tasks after deleted READY markers', async () => {
    const root = join(tmp, 'deleted');
    const first = await startRun(ctx(root), SPEC);
    unlinkSync(join(first.runDir, 'gen/step-4/2/READY'));
    unlinkSync(join(first.runDir, 'gen/step-4/6/READY'));
    const status = await runStatus(ctx(root), 'rg');
    expect(status.complete).toBe(false);
    expect(status.units.find((u) => u.unit === 'gen@4')).toMatchObject({ done: 6, missing: 2 });
    const r = await resumeRun(ctx(root), 'rg');
    expect(ran(r)).toEqual({ 'gen@4': [2, 6], 'hist@4': [0] });
    expect(r.plan.units.find((u) => u.key === 'gen@4')!.arraySpec).toBe('2,6');
    expect(outputs(r.runDir)).toEqual(reference);
    expect((await resumeRun(ctx(root), 'rg')).outcome?.tasksRun).toBe(0);
  });

  it('resumes after an interrupted run and ends with the same outputs', async () => {
    const root = join(tmp, 'killed');
    const abort = new AbortController();
    let seen = 0;
    const onTask = () => {
      if (++seen === 13) abort.abort();
    };
    // Interrupt through the runner: the running tasks are killed, like a killed master.
    const killing = { ...ctx(root), runner: withSignal(abort.signal), onTask };
    const first = await startRun(killing, SPEC);
    expect(first.outcome?.ok).toBe(false);
    const before = await runStatus(ctx(root), 'rg');
    const missing = Object.fromEntries(
      before.units.filter((u) => u.done < u.total).map((u) => [u.unit, u.total - u.done]),
    );
    expect(Object.keys(missing).length).toBeGreaterThan(0);
    const r = await resumeRun(ctx(root), 'rg');
    expect(r.outcome?.ok).toBe(true);
    // Every unit that was complete stayed untouched; the first incomplete one ran only its missing tasks.
    const firstIncomplete = before.units.find((u) => u.done < u.total)!;
    expect(ran(r)[firstIncomplete.unit]).toHaveLength(firstIncomplete.total - firstIncomplete.done);
    for (const u of before.units.slice(0, before.units.indexOf(firstIncomplete))) {
      expect(ran(r)[u.unit]).toBeUndefined();
    }
    expect(outputs(r.runDir)).toEqual(reference);
  });

  it('resumes after the process running it is killed (SIGKILL to its process group)', async () => {
    const root = join(tmp, 'sigkill');
    const kid = join(tmp, 'kid.mts');
    const lib = (p: string) => pathToFileURL(join(import.meta.dirname, '../../src', p)).href;
    writeFileSync(
      kid,
      `import { startRun } from ${JSON.stringify(lib('pipeline/index.ts'))};
import { LocalRunner } from ${JSON.stringify(lib('transport/local.ts'))};
await startRun({ root: process.argv[2], runner: new LocalRunner() }, process.argv[3]);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', kid, root, SPEC], {
      cwd: join(import.meta.dirname, '../..'),
      detached: true,
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.on('exit', r));
    const marker = join(root, 'rg/gen/step-2/0/READY');
    const deadline = Date.now() + 60_000;
    while (!existsSync(marker) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
    // Tasks already started may still finish after their runner died: let them settle,
    // so "missing" below is what resume will really find.
    let before = await runStatus(ctx(root), 'rg');
    for (let same = 0; same < 3; ) {
      await new Promise((r) => setTimeout(r, 500));
      const now = await runStatus(ctx(root), 'rg');
      same = JSON.stringify(now.units) === JSON.stringify(before.units) ? same + 1 : 0;
      before = now;
    }
    const incomplete = before.units.filter((u) => u.done < u.total);
    expect(incomplete.length).toBeGreaterThan(0);
    expect(before.units.find((u) => u.unit === 'gen@1')).toMatchObject({ done: 8 });
    const r = await resumeRun(ctx(root), 'rg');
    expect(r.outcome?.ok).toBe(true);
    const first = incomplete[0]!;
    expect(ran(r)[first.unit]).toHaveLength(first.total - first.done);
    expect(ran(r)['gen@1']).toBeUndefined();
    expect(outputs(r.runDir)).toEqual(reference);
  });

  it('restart --from-step 3 re-runs steps 3 and 4 only', async () => {
    const root = join(tmp, 'restart');
    const first = await startRun(ctx(root), SPEC);
    const step2 = join(first.runDir, 'gen/step-2/0/samples.txt');
    const mtime = statSync(step2).mtimeMs;
    const r = await resumeRun(ctx(root), 'rg', { fromStep: 3 });
    expect(Object.keys(ran(r))).toEqual(['gen@3', 'hist@3', 'gen@4', 'hist@4']);
    expect(statSync(step2).mtimeMs).toBe(mtime);
    expect(outputs(r.runDir)).toEqual(reference);
  });

  it('a param change on resume invalidates the stages that use it, with a message', async () => {
    const root = join(tmp, 'params');
    await startRun(ctx(root), SPEC);
    const r = await resumeRun(ctx(root), 'rg', { sets: ['hist.bins=20'] });
    expect(r.plan.invalidated[0]).toMatch(/^hist@1: the stage's config changed/);
    expect(Object.keys(ran(r))[0]).toBe('hist@1');
    expect(ran(r)['gen@1']).toBeUndefined();
    expect(
      readFileSync(join(r.runDir, 'hist/step-1/0/hist.txt'), 'utf8').trim().split('\n'),
    ).toHaveLength(20);
  });

  it('runs once stages, list arrays and a once aggregate over every step', async () => {
    const dir = join(tmp, 'mixed');
    const spec = join(tmp, 'mixed.yaml');
    writeFileSync(
      spec,
      `name: mixed
steps: 2
stages:
  setup:
    run: echo base > base.txt
  gen:
    foreach: steps
    array: [1, 3]
    after: [setup]
    run: cat {{in.setup}}/0/base.txt > o.txt; echo {{step}} {{task}} >> o.txt
  agg:
    foreach: steps
    aggregate: true
    after: [gen]
    run: cat {{in.gen}}/*/o.txt > all.txt
  final:
    aggregate: true
    after: [agg]
    run: cat {{in.agg}}/step-*/0/all.txt > f.txt
`,
    );
    const r = await startRun(ctx(dir), spec);
    expect(r.outcome?.ok).toBe(true);
    expect(readFileSync(join(dir, 'mixed/final/once/0/f.txt'), 'utf8')).toBe(
      'base\n1 1\nbase\n1 3\nbase\n2 1\nbase\n2 3\n',
    );
    const done = JSON.parse(readFileSync(join(dir, 'mixed/final/once/0/DONE.json'), 'utf8'));
    expect(done).toMatchObject({ step: 0, tasks: 2, jobIds: ['local:agg@1', 'local:agg@2'] });
    unlinkSync(join(dir, 'mixed/gen/step-2/3/READY'));
    const again = await resumeRun(ctx(dir), 'mixed');
    expect(ran(again)).toEqual({ 'gen@2': [3], 'agg@2': [0], 'final@0': [0] });
  });

  it('overlaps independent units on the pool and keeps dependencies in order', async () => {
    const dir = join(tmp, 'overlap');
    const spec = join(tmp, 'overlap.yaml');
    // Each task of a waits (up to 20 s) for b to have started: with units one after
    // another, a (first in plan order) would give up with exit 9.
    writeFileSync(
      spec,
      `name: ov
concurrency: 4
stages:
  a:
    array: 2
    run: for i in $(seq 200); do [ -e "$BERTH_RUN_DIR/b-started" ] && break; sleep 0.1; done; [ -e "$BERTH_RUN_DIR/b-started" ] || exit 9; echo a > out.txt
  b:
    array: 2
    run: touch "$BERTH_RUN_DIR/b-started"; echo b > out.txt
  c:
    aggregate: true
    after: [a, b]
    run: cat {{in.a}}/*/out.txt {{in.b}}/*/out.txt > all.txt
`,
    );
    const r = await startRun(ctx(dir), spec);
    expect(r.outcome?.units.flatMap((u) => u.failed)).toEqual([]);
    expect(r.outcome).toMatchObject({ ok: true, tasksRun: 5, notStarted: [] });
    // c ran last, after both of its inputs.
    expect(r.outcome?.units.at(-1)?.unit).toBe('c@0');
    expect(readFileSync(join(dir, 'ov/c/once/0/all.txt'), 'utf8')).toBe('a\na\nb\nb\n');
  });

  it('after a failure the started units finish, and no new unit starts', async () => {
    const dir = join(tmp, 'stop');
    const spec = join(tmp, 'stop.yaml');
    writeFileSync(
      spec,
      `name: st
concurrency: 2
stages:
  a:
    array: 4
    run: test {{task}} -ne 0 || exit 5; echo a > out.txt
  b:
    array: 1
    after: [a]
    run: echo b > out.txt
`,
    );
    const r = await startRun(ctx(dir), spec);
    expect(r.outcome).toMatchObject({ ok: false, tasksRun: 4, notStarted: ['b@0'] });
    expect(r.outcome?.units).toHaveLength(1);
    expect(r.outcome?.units[0]?.failed).toEqual([{ task: 0, exitCode: 5 }]);
    for (const t of [1, 2, 3]) expect(existsSync(join(dir, `st/a/once/${t}/READY`))).toBe(true);
  });

  it('a failing task writes FAILED, no READY, and the aggregate does not start', async () => {
    const dir = join(tmp, 'fail');
    const spec = join(tmp, 'fail.yaml');
    writeFileSync(
      spec,
      `name: f
stages:
  a:
    array: 3
    scratch: true
    run: echo hi > out.txt; test {{task}} -ne 1 || exit 3
  b:
    aggregate: true
    after: [a]
    run: cat {{in.a}}/*/out.txt > all.txt
`,
    );
    const r = await startRun(ctx(dir), spec);
    expect(r.outcome).toMatchObject({ ok: false, notStarted: ['b@0'] });
    expect(r.outcome?.units[0]?.failed).toEqual([{ task: 1, exitCode: 3 }]);
    expect(readFileSync(join(dir, 'f/a/once/1/FAILED'), 'utf8')).toMatch(/^[0-9a-f]{16} 3\n$/);
    expect(() => statSync(join(dir, 'f/a/once/1/READY'))).toThrow();
    expect(readFileSync(join(dir, 'f/a/once/0/out.txt'), 'utf8')).toBe('hi\n');
    const again = await resumeRun(ctx(dir), 'f', { dryRun: true });
    expect(again.plan.units[0]!.reasons).toEqual([{ task: 1, reason: 'failed (exit 3)' }]);
  });
});

/** A local runner whose commands are all killed when `signal` aborts. */
function withSignal(signal: AbortSignal): LocalRunner {
  const r = new LocalRunner();
  const sh = r.sh.bind(r);
  r.sh = (script, opts = {}) => sh(script, { ...opts, signal });
  return r;
}
