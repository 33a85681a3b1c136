import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { followChain, parseChain } from '../../src/lease/chain.js';
import { FrameReader, parseTaskFile } from '../../src/lease/executor.js';
import { livenessOf } from '../../src/lease/liveness.js';
import { parseProbe, renderProbe } from '../../src/lease/probe.js';
import { extraOf, specOf } from '../../src/lease/record.js';
import { newestJob, parseChainQuery, renderChainQuery } from '../../src/lease/refresh.js';
import { checkNode, classifyStepLine } from '../../src/lease/srun.js';
import { compare, grantedOf } from '../../src/lease/verify.js';
import { parseScontrolShowJob } from '../../src/scheduler/slurm/parse-scontrol.js';

const CAPTURED = join(import.meta.dirname, '..', 'golden', 'lease', 'captured');
const captured = (name: string) => readFileSync(join(CAPTURED, name), 'utf8');

const CHAIN = [
  '1795463527 5073 start n2',
  '1795463527 5073 tenant ticker',
  '1795463588 5073 resubmit-ok 5082',
  '1795463588 5082 start n3',
  'garbage line from somewhere',
  '1795463593 5073 handover 5082',
  '1795463650 5082 resubmit-failed rc=1 sbatch: error: * nope',
  '1795463710 5082 resubmit-ok 5093',
  '1795463711 5093 start n2',
  '',
].join('\n');

describe('the chain file', () => {
  it('parses events and skips other lines', () => {
    const events = parseChain(CHAIN);
    expect(events).toHaveLength(8);
    expect(events[0]).toEqual({ at: 1795463527000, jobId: '5073', event: 'start', detail: 'n2' });
    expect(events[5]).toMatchObject({
      event: 'resubmit-failed',
      detail: 'rc=1 sbatch: error: * nope',
    });
  });

  it('follows resubmit links from any job to the newest, with the failures on the way', () => {
    const events = parseChain(CHAIN);
    expect(followChain(events, '5073').path).toEqual(['5073', '5082', '5093']);
    expect(followChain(events, '5082').path).toEqual(['5082', '5093']);
    expect(followChain(events, '5093').path).toEqual(['5093']);
    expect(followChain(events, '1').path).toEqual(['1']);
    expect(followChain(events, '5073').failures.map((f) => f.jobId)).toEqual(['5082']);
  });

  it('stops at a loop', () => {
    const events = parseChain('1 1 resubmit-ok 2\n1 2 resubmit-ok 1\n');
    expect(followChain(events, '1').path).toEqual(['1', '2']);
  });
});

describe('the refresh query', () => {
  it('reads the chain and the queue between its markers, ignoring login noise', () => {
    const script = renderChainQuery('/home/u/berth/leases/x', 'berth-lease-x');
    expect(script).toContain('cat -- /home/u/berth/leases/x/chain 2>/dev/null');
    expect(script).toContain("squeue -h --me --name=berth-lease-x -o '%i|%T'");
    const out = [
      'Welcome to the cluster!',
      '@@berth-lease-refresh chain',
      CHAIN,
      '@@berth-lease-refresh queue',
      '5093|RUNNING',
      '5100|PENDING',
      'noise',
      '@@berth-lease-refresh end',
    ].join('\n');
    const parsed = parseChainQuery(out)!;
    expect(parsed.events).toHaveLength(8);
    expect(parsed.queue).toEqual([
      { id: '5093', state: 'RUNNING' },
      { id: '5100', state: 'PENDING' },
    ]);
    expect(parseChainQuery('cut short @@berth-lease-refresh chain\n')).toBeUndefined();
  });

  it('takes the newest job from the chain, then a newer live job of that name', () => {
    const events = parseChain(CHAIN);
    expect(newestJob('5073', events, [])).toMatchObject({
      path: ['5073', '5082', '5093'],
      byName: false,
    });
    const queue = [
      { id: '5093', state: 'RUNNING' },
      { id: '5100', state: 'PENDING' },
      { id: '5200', state: 'COMPLETED' },
      { id: '4000', state: 'RUNNING' },
    ];
    expect(newestJob('5073', events, queue)).toMatchObject({
      path: ['5073', '5082', '5093', '5100'],
      byName: true,
    });
    expect(newestJob('7', [], [{ id: '3', state: 'RUNNING' }]).path).toEqual(['7']);
  });
});

describe('srun’s own lines (captured from SLURM 22.05)', () => {
  it('tells "cannot attach" from everything else', () => {
    const lines = captured('srun-errors.txt').trim().split('\n');
    expect(lines.map(classifyStepLine)).toEqual([
      'gone',
      'note',
      'gone',
      'note',
      'pending',
      'note',
      undefined, // a slurmctld timeout is not a verdict on the job
      'echo',
    ]);
    expect(classifyStepLine('srun: error: my own program says hello')).toBeUndefined();
    expect(
      classifyStepLine('error: Unable to confirm allocation for job 1: Invalid job id specified'),
    ).toBeUndefined();
  });

  it('checks node names', () => {
    expect(checkNode('n1')).toBe('n1');
    for (const bad of ['n[1-2]', 'a b', '$(x)', '-w', '']) expect(() => checkNode(bad)).toThrow();
  });
});

describe('the probe', () => {
  it('renders the root as a word and parses absolute paths only', () => {
    expect(renderProbe('~/berth')).toContain(`printf 'root=%s\\n' "$HOME"/berth`);
    expect(() => renderProbe('relative')).toThrow();
    expect(
      parseProbe(
        'motd\nroot=/home/u/berth\nsbatch=/usr/bin/sbatch\nsqueue=/usr/bin/squeue\ntmux=\n',
      ),
    ).toEqual({
      root: '/home/u/berth',
      sbatch: '/usr/bin/sbatch',
      squeue: '/usr/bin/squeue',
    });
    expect(parseProbe('root=relative\n')).toBeUndefined();
  });
});

describe('verify: requested against granted', () => {
  const record = parseScontrolShowJob(captured('scontrol-show-job.txt'))[0]!;
  const granted = grantedOf(record);

  it('reads what SLURM granted', () => {
    expect(granted).toMatchObject({
      jobId: '5094',
      state: 'RUNNING',
      jobName: 'berth-lease-cap',
      cpusPerTask: 2,
      cpus: 2,
      tasks: 1,
      nodes: 1,
      memMb: 500,
      timeS: 120,
      partition: 'debug',
      account: 'berth',
      qos: 'normal',
      gpus: null,
      nodeList: 'n1',
      batchHost: 'n1',
    });
  });

  it('compares only what was requested', () => {
    expect(compare({}, granted)).toEqual([]);
    const same = compare(
      { cpus: 2, mem: 500, time: 120, partition: 'debug', nodes: '1-2' },
      granted,
    );
    expect(same.every((c) => c.ok)).toBe(true);
    const cpus = compare({ cpus: 1 }, granted);
    expect(cpus).toEqual([{ key: 'cpus', requested: 1, granted: 2, ok: false }]);
    expect(compare({ gpus: 'a100:2' }, granted)).toEqual([
      { key: 'gpus', requested: 2, granted: null, ok: false },
    ]);
  });
});

describe('liveness', () => {
  const obs = (state: object, source: string) =>
    ({ jobId: '1', state, source, observedAt: 0 }) as Parameters<typeof livenessOf>[0];

  it('is DEAD only when sacct agrees, UNKNOWN when a query failed', () => {
    expect(livenessOf(obs({ kind: 'running', nodes: [], startedAt: null }, 'squeue'), true)).toBe(
      'ALIVE',
    );
    expect(livenessOf(obs({ kind: 'pending', reason: null }, 'squeue'), true)).toBe('ALIVE');
    expect(livenessOf(obs({ kind: 'cancelled', endedAt: null }, 'sacct'), true)).toBe('DEAD');
    expect(livenessOf(obs({ kind: 'lost', reason: 'x', since: null }, 'sacct'), true)).toBe('DEAD');
    expect(livenessOf(obs({ kind: 'completed', exitCode: 0, endedAt: null }, 'squeue'), true)).toBe(
      'UNKNOWN',
    );
    expect(
      livenessOf(obs({ kind: 'unknown', reason: 'ssh failed', since: null }, 'error'), true),
    ).toBe('UNKNOWN');
    expect(
      livenessOf(obs({ kind: 'completed', exitCode: 0, endedAt: null }, 'squeue'), false),
    ).toBe('DEAD');
  });
});

describe('task frames', () => {
  it('collects output per task and ends it at its end frame; other lines are ignored', () => {
    const r = new FrameReader('@@n', ['echo a; echo b >&2', 'true']);
    const lines = [
      'login noise',
      '@@n hello n1 5.2.15(1)-release',
      '@@n o 0 a',
      '@@n e 0 b',
      '@@n o 0 @@n end 0 9 9',
      '@@nx end 1 0 1',
    ];
    for (const l of lines) expect(r.push(l)).toBeUndefined();
    expect(r.host).toBe('n1');
    expect(r.push('@@n end 0 3 1234')).toEqual({
      index: 0,
      command: 'echo a; echo b >&2',
      exitCode: 3,
      durationMs: 1.2,
      stdout: 'a\n@@n end 0 9 9\n',
      stderr: 'b\n',
    });
    expect(r.push('@@n end 1 0 10')).toMatchObject({
      index: 1,
      exitCode: 0,
      stdout: '',
      stderr: '',
    });
  });

  it('reads a tasks file: one command per line, no blanks or comments', () => {
    expect(parseTaskFile('echo 1\n\n  # comment\r\necho "2 # not a comment"\r\n  true\n')).toEqual([
      'echo 1',
      'echo "2 # not a comment"',
      '  true',
    ]);
  });
});

describe('records read leniently', () => {
  it('defaults what is missing or of the wrong type', () => {
    expect(specOf({ persistent: 'yes', leadS: 60 })).toEqual({
      resources: {},
      persistent: false,
      leadS: 60,
      tmux: false,
      holdBody: null,
      adopted: false,
    });
    const extra = extraOf({
      nodes: ['n1', 3],
      tenants: [{ name: 'a', log: '/l', command: ['x'] }, { name: 1 }],
    });
    expect(extra.nodes).toEqual(['n1']);
    expect(extra.tenants).toHaveLength(1);
    expect(extra.dir).toBeNull();
  });
});
