import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  markerKey,
  parseMarkerListing,
  renderMarkerListing,
  type TaskMarker,
} from '../../src/pipeline/markers.js';
import { explainLines, planPipeline, stageHashes } from '../../src/pipeline/plan.js';
import { type PipelineSpec, parsePipelineSpec } from '../../src/pipeline/spec.js';

const SPEC = `name: rg
seed: 1
steps: 3
params: { n: 10, bins: 5 }
stages:
  gen:
    foreach: steps
    array: 6
    run: gen {{seed}} {{param.n}} {{prev}}
  hist:
    foreach: steps
    aggregate: true
    after: [gen]
    run: hist {{in.gen}} {{param.bins}}
`;

function spec(sets: string[] = [], text = SPEC): PipelineSpec {
  return parsePipelineSpec(text, 'p.yaml', sets);
}

/** Markers of a complete run of `s`, then edited by `edit`. */
function complete(s: PipelineSpec, edit?: (m: Map<string, TaskMarker>) => void) {
  const hashes = stageHashes(s);
  const m = new Map<string, TaskMarker>();
  for (let step = 1; step <= s.steps; step++) {
    for (const st of s.stages) {
      for (const t of st.tasks) {
        const h = hashes.get(st.name)!;
        m.set(markerKey(st.name, step, t), st.aggregate ? { done: h } : { ready: h });
      }
    }
  }
  edit?.(m);
  return m;
}

const toRun = (p: ReturnType<typeof planPipeline>) =>
  Object.fromEntries(p.units.filter((u) => u.run.length > 0).map((u) => [u.key, u.arraySpec]));

describe('pipeline planner', () => {
  it('runs everything for a new run, in dependency order', () => {
    const p = planPipeline(spec(), new Map());
    expect(p.units.map((u) => u.key)).toEqual([
      'gen@1',
      'hist@1',
      'gen@2',
      'hist@2',
      'gen@3',
      'hist@3',
    ]);
    expect(p.tasksToRun).toBe(21);
    expect(p.units[0]!.reasons[0]).toEqual({ task: 0, reason: 'missing READY marker' });
    expect(p.units[1]!.deps).toEqual(['gen@1']);
    expect(p.units[2]!.deps).toEqual(['gen@1', 'hist@1']);
  });

  it('skips a complete run', () => {
    const p = planPipeline(spec(), complete(spec()));
    expect(p.tasksToRun).toBe(0);
    expect(p.invalidated).toEqual([]);
  });

  it('re-runs missing and failed tasks as a sparse list, and the aggregations after them', () => {
    const s = spec();
    const m = complete(s, (m) => {
      m.delete(markerKey('gen', 3, 1));
      m.delete(markerKey('gen', 3, 4));
      m.set(markerKey('gen', 3, 5), { failed: { hash: 'x', exitCode: 3 } });
    });
    const p = planPipeline(s, m);
    expect(toRun(p)).toEqual({ 'gen@3': '1,4-5', 'hist@3': '0' });
    const gen3 = p.units.find((u) => u.key === 'gen@3')!;
    expect(explainLines(gen3)).toEqual([
      '  gen@3 tasks 1,4: missing READY marker',
      '  gen@3 tasks 5: failed (exit 3)',
    ]);
    expect(p.units.find((u) => u.key === 'hist@3')!.reasons[0]!.reason).toBe(
      'inputs changed (gen@3 runs again)',
    );
  });

  it('re-runs later steps when an earlier step runs again', () => {
    const s = spec();
    const p = planPipeline(
      s,
      complete(s, (m) => m.delete(markerKey('hist', 2, 0))),
    );
    expect(toRun(p)).toEqual({ 'hist@2': '0', 'gen@3': '0-5', 'hist@3': '0' });
  });

  it('restarts from step K: K and later only', () => {
    const s = spec();
    const p = planPipeline(s, complete(s), { fromStep: 2 });
    expect(toRun(p)).toEqual({ 'gen@2': '0-5', 'hist@2': '0', 'gen@3': '0-5', 'hist@3': '0' });
    expect(p.units.find((u) => u.key === 'gen@2')!.reasons[0]!.reason).toBe('restart from step 2');
  });

  it('invalidates the markers of the stages a param change affects, with a message', () => {
    const before = spec();
    const markers = complete(before);
    // bins is used by hist only: gen's markers still count.
    const p = planPipeline(spec(['bins=7']), markers);
    expect(toRun(p)).toEqual({
      'hist@1': '0',
      'gen@2': '0-5',
      'hist@2': '0',
      'gen@3': '0-5',
      'hist@3': '0',
    });
    expect(p.invalidated[0]).toMatch(
      /^hist@1: the stage's config changed .*1 marker\(s\) no longer count/,
    );
    expect(p.units.find((u) => u.key === 'hist@1')!.reasons[0]!.reason).toBe(
      'config changed (params or run template)',
    );
    // n is used by gen: everything runs again.
    expect(planPipeline(spec(['n=11']), markers).tasksToRun).toBe(21);
  });

  it('cuts a big sparse stage under MaxArraySize', () => {
    const text = SPEC.replace('array: 6', 'array: 5000').replace('steps: 3', 'steps: 1');
    const s = spec([], text);
    const missing = new Set([3, 7, 12, 13, 14, 15, 999, 1000, 1001, 4999]);
    const m = complete(s, (m) => {
      for (const t of missing) m.delete(markerKey('gen', 1, t));
    });
    const gen = planPipeline(s, m, { maxArraySize: 1001 }).units[0]!;
    expect(gen.arraySpec).toBe('3,7,12-15,999-1001,4999');
    expect(gen.chunks.map((c) => [c.offset, c.arrayArg])).toEqual([
      [3, '0,4,9-12,996-998'],
      [4999, '0'],
    ]);
    const covered = gen.chunks.flatMap((c) => c.indices.map((i) => i + c.offset));
    expect(covered).toEqual([...missing].sort((a, b) => a - b));
  });

  it('plans a 100,000-task stage with 1,000 missing quickly', () => {
    const text = SPEC.replace('array: 6', 'array: 100000').replace('steps: 3', 'steps: 1');
    const s = spec([], text);
    const m = complete(s, (m) => {
      for (let t = 0; t < 100_000; t += 100) m.delete(markerKey('gen', 1, t));
    });
    const t0 = performance.now();
    const gen = planPipeline(s, m).units[0]!;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(gen.run.length).toBe(1000);
    expect(gen.chunks.every((c) => c.indices.every((i) => i < 1001))).toBe(true);
  });
});

describe('marker listing', () => {
  it('is one script that quotes the run directory', () => {
    const script = renderMarkerListing("/runs/it's");
    expect(script).toContain(`cd '/runs/it'\\''s'`);
    // No walk into task directories: one `ls -f` per unit directory, READY read by path.
    expect(script).not.toMatch(/\bfind /);
    expect(script).toContain('ls -f "$u"');
  });

  it('parses compact READY lines: a header per unit and hash, then task numbers', () => {
    const out = [
      '12',
      '@@berth-markers',
      '@@berth-ready ./gen/step-1 abc123',
      '0',
      '2',
      '@@berth-ready ./gen/step-1 old999',
      '3',
      '@@berth-ready ./setup/once 777',
      '0',
      './gen/step-1/1/FAILED:abc123 137',
      '4',
      '@@berth-ready ./bad 1',
      '5',
    ].join('\n');
    const { markers } = parseMarkerListing(out);
    expect(markers.get('gen/1/0')).toEqual({ ready: 'abc123' });
    expect(markers.get('gen/1/2')).toEqual({ ready: 'abc123' });
    expect(markers.get('gen/1/3')).toEqual({ ready: 'old999' });
    expect(markers.get('setup/0/0')).toEqual({ ready: '777' });
    expect(markers.get('gen/1/1')).toEqual({ failed: { hash: 'abc123', exitCode: 137 } });
    // A number after another kind of line, or after a bad header, belongs to nothing.
    expect(markers.size).toBe(5);
  });

  it('lists every kind of marker from a real run directory', () => {
    const runDir = mkdtempSync(join(tmpdir(), 'berth-listing-'));
    try {
      const put = (unit: string, task: number, file: string, text: string) => {
        mkdirSync(join(runDir, unit, String(task)), { recursive: true });
        writeFileSync(join(runDir, unit, String(task), file), text);
      };
      for (let t = 0; t < 50; t++) if (t !== 7) put('gen/step-1', t, 'READY', 'h1\n');
      put('gen/step-1', 20, 'READY', 'h0\n'); // an older hash in the middle
      put('gen/step-1', 7, 'FAILED', 'h1 3\n');
      put('gen/step-1', 8, 'RUNNING', 'node07 12\n'); // READY and RUNNING: the moment between
      put('hist/step-1', 0, 'DONE.json', '{"hash":"h2"}\n');
      put('gen/step-2', 0, 'RUNNING', 'node07 13\n');
      mkdirSync(join(runDir, 'gen/step-2/1'), { recursive: true }); // started, nothing yet
      mkdirSync(join(runDir, 'spec/data'), { recursive: true });
      writeFileSync(join(runDir, 'spec/data/READY'), 'not a marker\n');
      writeFileSync(join(runDir, 'run.json'), '{}\n');
      const tmp = join(runDir, 'tmp');
      mkdirSync(tmp);
      const r = spawnSync('bash', ['-c', renderMarkerListing(runDir)], {
        encoding: 'utf8',
        env: { ...process.env, TMPDIR: tmp },
      });
      expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
      expect(r.stderr).toBe('');
      const { markers } = parseMarkerListing(r.stdout);
      expect(markers.size).toBe(52);
      expect(markers.get('gen/1/0')).toEqual({ ready: 'h1' });
      expect(markers.get('gen/1/20')).toEqual({ ready: 'h0' });
      expect(markers.get('gen/1/7')).toEqual({ failed: { hash: 'h1', exitCode: 3 } });
      expect(markers.get('gen/1/8')).toEqual({ ready: 'h1' });
      expect(markers.get('hist/1/0')).toEqual({ done: 'h2' });
      expect(markers.get('gen/2/0')).toEqual({ running: { host: 'node07', pid: 13 } });
      expect(markers.has('gen/2/1')).toBe(false);
      // The temporary list of tasks without READY is gone.
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('parses READY, FAILED and DONE.json lines, ignoring banner noise', () => {
    const out = [
      'Welcome to the cluster',
      '@@berth-markers',
      './gen/step-1/0/READY:abc123',
      './gen/step-1/1/FAILED:abc123 137',
      './hist/step-1/0/DONE.json:{"stage":"hist","step":1,"hash":"def456"}',
      './setup/once/0/READY:999',
      './junk/here/READY:x',
    ].join('\n');
    const { exists, markers } = parseMarkerListing(out);
    expect(exists).toBe(true);
    expect(markers.get('gen/1/0')).toEqual({ ready: 'abc123' });
    expect(markers.get('gen/1/1')).toEqual({ failed: { hash: 'abc123', exitCode: 137 } });
    expect(markers.get('hist/1/0')).toEqual({ done: 'def456' });
    expect(markers.get('setup/0/0')).toEqual({ ready: '999' });
    expect(markers.size).toBe(4);
  });

  it('reads RUNNING with the liveness of its pid on the listing host only', () => {
    const out = [
      '@@berth-markers',
      '@@berth-host login1',
      './gen/step-1/2/RUNNING:login1 4242',
      '@@berth-live ./gen/step-1/2/RUNNING',
      './gen/step-1/3/RUNNING:login1 4243',
      './gen/step-1/4/RUNNING:node07 99',
      './gen/step-1/5/READY:abc',
      './gen/step-1/5/RUNNING:login1 17',
      './gen/step-1/6/RUNNING:login1 notapid',
    ].join('\n');
    const { markers, host } = parseMarkerListing(out);
    expect(host).toBe('login1');
    expect(markers.get('gen/1/2')).toEqual({ running: { host: 'login1', pid: 4242, alive: true } });
    expect(markers.get('gen/1/3')).toEqual({
      running: { host: 'login1', pid: 4243, alive: false },
    });
    expect(markers.get('gen/1/4')).toEqual({ running: { host: 'node07', pid: 99 } });
    expect(markers.get('gen/1/5')?.ready).toBe('abc');
    expect(markers.has('gen/1/6')).toBe(false);
  });

  it('checks the pids of RUNNING markers in the same script (kill -0, this host only)', () => {
    const runDir = mkdtempSync(join(tmpdir(), 'berth-listing-'));
    try {
      const put = (task: number, text: string) => {
        mkdirSync(join(runDir, 'gen/step-1', String(task)), { recursive: true });
        writeFileSync(join(runDir, 'gen/step-1', String(task), 'RUNNING'), text);
      };
      const dead = spawnSync('bash', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
      put(0, `${hostname()} ${process.pid}\n`);
      put(1, `${hostname()} ${dead}\n`);
      put(2, `elsewhere.example ${process.pid}\n`);
      put(3, `${hostname()} 1;touch${runDir}/pwned\n`);
      const r = spawnSync('bash', ['-c', renderMarkerListing(runDir)], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const { markers } = parseMarkerListing(r.stdout);
      expect(markers.get('gen/1/0')?.running?.alive).toBe(true);
      expect(markers.get('gen/1/1')?.running?.alive).toBe(false);
      expect(markers.get('gen/1/2')?.running).toEqual({
        host: 'elsewhere.example',
        pid: process.pid,
      });
      expect(markers.has('gen/1/3')).toBe(false);
      expect(existsSync(join(runDir, 'pwned'))).toBe(false);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('says when the run directory does not exist', () => {
    expect(parseMarkerListing('@@berth-norun\n').exists).toBe(false);
  });
});
