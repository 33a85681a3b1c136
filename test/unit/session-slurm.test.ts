import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layoutFor } from '../../src/sessions/layout.js';
import { parseObserve } from '../../src/sessions/observe.js';
import { leadFor, sessionJobSpec } from '../../src/sessions/slurm.js';
import { renderSessionJob } from '../../src/sessions/slurm-job.js';
import {
  jobSocket,
  renderSlurmFollow,
  renderSlurmObserve,
  renderSlurmStop,
  renderSlurmSubmit,
} from '../../src/sessions/slurm-scripts.js';
import { parseSpecText } from '../../src/sessions/spec-file.js';
import { deriveState, shouldRestart } from '../../src/sessions/state.js';

const spec = (slurm: string, extra = '') =>
  parseSpecText(
    [
      'apiVersion: berth/v1',
      'kind: Session',
      'metadata: { name: train }',
      'spec:',
      '  runtime: slurm',
      `  command: "python train.py --note '$(x)'"`,
      `  env: { EVIL: "'; touch /tmp/x; '" }`,
      `  slurm: ${slurm}`,
      extra,
    ].join('\n'),
    'train.yaml',
  );

const bashSyntax = (text: string) => spawnSync('bash', ['-n'], { input: text, encoding: 'utf8' });

describe('the job spec of a SLURM session', () => {
  it('puts spec.slurm over the host defaults, keeping SLURM units', () => {
    const s = spec('{ time: 2h, resources: { cpus: 4, mem: 8G, partition: gpu } }');
    const job = sessionJobSpec(s, { slurm: { partition: 'debug', account: 'proj', time: '30' } });
    expect(job.resources).toMatchObject({
      partition: 'gpu',
      account: 'proj',
      cpus: 4,
      mem: 8192,
      time: 7200,
    });
    expect(
      sessionJobSpec(spec('{ resources: { cpus: 1 } }'), { slurm: { time: '30' } }).resources.time,
    ).toBe(1800);
  });

  it('wants a walltime signal for autoResubmit or a walltimeSignal hook, with a lead shorter than the walltime', () => {
    const plain = spec('{ time: 1h }');
    expect(leadFor(plain, sessionJobSpec(plain, { slurm: {} }))).toBeNull();
    const auto = spec('{ time: 1h, autoResubmit: true }');
    expect(leadFor(auto, sessionJobSpec(auto, { slurm: {} }))).toBe(300);
    const short = spec('{ time: 4m, autoResubmit: true }');
    expect(leadFor(short, sessionJobSpec(short, { slurm: {} }))).toBe(120);
    const hook = spec('{ time: 1h, lead: 2m }', '  hooks: { walltimeSignal: echo hi }');
    expect(leadFor(hook, sessionJobSpec(hook, { slurm: {} }))).toBe(120);
    const tooLong = spec('{ time: 2m, autoResubmit: true, lead: 5m }');
    expect(() => leadFor(tooLong, sessionJobSpec(tooLong, { slurm: {} }))).toThrow(
      /shorter than the walltime/,
    );
    const noTime = spec('{ autoResubmit: true }');
    expect(() => leadFor(noTime, sessionJobSpec(noTime, { slurm: {} }))).toThrow(
      /needs a walltime/,
    );
  });
});

describe('the batch script of a SLURM session', () => {
  const s = spec('{ time: 2h, autoResubmit: true, lead: 5m, resources: { cpus: 2 } }');
  const layout = layoutFor(s, '/home/me/berth', '/state');
  const script = renderSessionJob({
    spec: s,
    layout,
    absDir: '/home/me/berth/sessions/train',
    job: sessionJobSpec(s, { slurm: {} }),
    leadS: 300,
    bins: { sbatch: '/usr/bin/sbatch', tmux: '/usr/bin/tmux' },
    host: 'cluster',
  });

  it('has the directives, the USR1 signal and the output in the session directory', () => {
    expect(script).toMatch(/^#!\/bin\/bash\n/);
    expect(script).toContain('#SBATCH --job-name=berth-session-train');
    expect(script).toContain('#SBATCH --cpus-per-task=2');
    expect(script).toContain('#SBATCH --time=02:00:00');
    expect(script).toContain('#SBATCH --output=/home/me/berth/sessions/train/jobs/job-%j.out');
    expect(script).toContain('#SBATCH --signal=B:USR1@300');
  });

  it('sets its traps first, starts tmux in the batch script, holds with sleep & wait, resubmits', () => {
    const at = (text: string) => script.indexOf(text);
    expect(at("trap '__usr1=1")).toBeGreaterThan(0);
    expect(at("trap '__usr1=1")).toBeLessThan(at('note start'));
    expect(at('__t new-session -d -s train')).toBeGreaterThan(at('note start'));
    expect(script).toContain(`__socket=${layout.socket}-j$SLURM_JOB_ID`);
    expect(script).toMatch(/sleep 2 &\n\s+__sleep=\$!/);
    expect(script).toContain('--dependency="afterany:$SLURM_JOB_ID"');
    expect(script).toContain('__finish USR1 285');
    expect(bashSyntax(script).status).toBe(0);
  });

  it("names the run's job only once its pane exists (before, berth reads it as pending)", () => {
    const at = (text: string) => script.indexOf(text);
    expect(at('> "$__r/job"')).toBeGreaterThan(at('__t new-session -d -s train'));
    expect(at('> "$__r/job"')).toBeGreaterThan(at('note tmux-failed'));
    expect(at('> "$__r/job"')).toBeLessThan(at(': > "$__r/go"'));
    // a look between the new run and its pane: the job runs, the run names no job yet
    const text = [
      '@@berth-session:now 1800000000',
      '@@berth-session:session train',
      'job=45',
      'squeue=RUNNING|n1',
      'run=20260123T040506.789Z',
      'started=1800000000',
      '@@berth-session:end',
    ].join('\n');
    const o = parseObserve(text).sessions.get('train');
    const state = deriveState({ desired: 'running', observation: o, now: 1 });
    expect(state).toEqual({ kind: 'pending', jobId: '45' });
    expect(shouldRestart('on-failure', 'running', state)).toBe(false);
  });

  it('leaves the user values out of the script (they live in the launcher and command files)', () => {
    expect(script).not.toContain('touch /tmp/x');
    expect(script).not.toContain('python train.py');
  });

  it('refuses a session directory sbatch would misread', () => {
    expect(() =>
      renderSessionJob({
        spec: s,
        layout,
        absDir: "/home/me/it's",
        job: sessionJobSpec(s, { slurm: {} }),
        leadS: null,
        bins: { sbatch: '/usr/bin/sbatch', tmux: '/usr/bin/tmux' },
        host: 'cluster',
      }),
    ).toThrow(/cannot be used in a batch script/);
  });

  it('the login-node scripts are valid bash and quote what they carry', () => {
    const plan = { spec: s, layout, host: 'cluster', runtime: 'slurm' as const };
    const submit = renderSlurmSubmit(plan, script, '/usr/bin/sbatch');
    expect(bashSyntax(submit).status).toBe(0);
    const refs = [{ name: 'train', layout, jobId: '42', runId: '20270101T000000.000Z' }];
    expect(bashSyntax(renderSlurmObserve(refs)).status).toBe(0);
    expect(bashSyntax(renderSlurmStop(refs, 10)).status).toBe(0);
    expect(
      bashSyntax(renderSlurmFollow(layout, 'train', '20270101T000000.000Z', '42', 10)).status,
    ).toBe(0);
    expect(renderSlurmObserve([{ name: 'train', layout, jobId: '1; rm -rf ~' }])).toContain(
      '__j=\n',
    );
    expect(jobSocket(layout, '42')).toBe(`${layout.socket}-j42`);
  });
});

describe('stopping SLURM sessions while squeue fails', () => {
  it('asks squeue again and never reads a failure as "not queued"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-stop-'));
    try {
      // squeue fails twice (a busy controller), then says RUNNING until scancel has been
      // called, then fails once more, then the job is gone ("Invalid job id").
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      const tool = (name: string, body: string) =>
        writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
      tool(
        'squeue',
        [
          `n=$(cat ${dir}/n 2>/dev/null || echo 0); echo $((n + 1)) > ${dir}/n`,
          'if [ "$n" -lt 2 ]; then echo "slurm_load_jobs error: Socket timed out on send/recv operation" >&2; exit 1; fi',
          `if [ ! -e ${dir}/cancelled ]; then echo RUNNING; exit 0; fi`,
          `k=$(cat ${dir}/k 2>/dev/null || echo 0); echo $((k + 1)) > ${dir}/k`,
          'if [ "$k" -eq 0 ]; then echo "slurm_load_jobs error: Socket timed out" >&2; exit 1; fi',
          'if [ "$k" -eq 1 ]; then echo 77; exit 0; fi',
          'echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1',
        ].join('\n'),
      );
      tool('scancel', `echo "$*" >> ${dir}/scancel.log; touch ${dir}/cancelled`);
      const layout = layoutFor(spec('{ time: 2h }'), dir, 'test');
      mkdirSync(layout.dir, { recursive: true });
      const refs = [{ name: 'train', layout, jobId: '77' }];
      const r = spawnSync('bash', ['-c', renderSlurmStop(refs, 1)], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      });
      expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
      // TERM to the batch script of the running job, once; no hard cancel: it ended in time.
      expect(readFileSync(join(dir, 'scancel.log'), 'utf8')).toBe('--batch --signal=TERM 77\n');
      expect(r.stdout).toContain(':end');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('observing SLURM sessions', () => {
  it('gives each session the usage from the ps of its own node', () => {
    const text = [
      'banner noise',
      '@@berth-session:now 1800000000',
      '@@berth-session:session a',
      'job=41',
      'squeue=RUNNING|n1',
      'run=20270101T000000.000Z',
      'pane=100|0|||0.0|a',
      'runjob=41 n1 berth-x-a-j41',
      '@@berth-session:ps',
      '  100     1  10.0  2048 00:00:05',
      '  200     1  99.0  9999 00:00:05',
      '@@berth-session:session b',
      'job=42',
      'squeue=RUNNING|n2',
      'run=20270101T000001.000Z',
      'pane=200|0|||0.0|b',
      'runjob=42 n2 berth-x-b-j42',
      '@@berth-session:ps',
      '  200     1  50.0  1024 00:00:01',
      '  100     1   1.0  1024 00:00:01',
      '@@berth-session:session c',
      'job=43',
      'squeue=PENDING|n/a',
      'run=',
      '@@berth-session:end',
    ].join('\n');
    const o = parseObserve(text);
    expect(o.complete).toBe(true);
    expect(o.sessions.get('a')).toMatchObject({
      job: { id: '41', state: 'RUNNING', node: 'n1' },
      runJob: '41',
      usage: { cpuPercent: 10, rssMb: 2 },
    });
    expect(o.sessions.get('b')?.usage).toMatchObject({ cpuPercent: 50, rssMb: 1 });
    expect(o.sessions.get('c')).toMatchObject({
      job: { id: '43', state: 'PENDING' },
      runId: null,
      usage: null,
    });
  });

  it('reads a failed squeue as unknown, so a restart policy never fires on it', () => {
    const text = [
      '@@berth-session:now 1800000000',
      '@@berth-session:session a',
      'job=44',
      'squeueerror=slurm_load_jobs error: Socket timed out on send/recv operation',
      'run=',
      '@@berth-session:end',
    ].join('\n');
    const o = parseObserve(text).sessions.get('a');
    expect(o?.error).toMatch(/squeue failed: .*timed out/);
    const state = deriveState({ desired: 'running', observation: o, now: 1 });
    expect(state.kind).toBe('unknown');
    expect(shouldRestart('always', 'running', state)).toBe(false);
  });
});
