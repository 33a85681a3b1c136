import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import {
  defaultJobKey,
  makeEvent,
  runContext,
  slurmIds,
  validateJobKey,
} from '../../src/monitor/events.js';

const fixture = (name: string) =>
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../fixtures/monitor', name), 'utf8'),
  ) as Record<string, string>;
const facts = { argv: ['python', 'train.py', '--lr', '0.1 x'], hostname: 'laptop', cwd: '/work' };

describe('makeEvent', () => {
  it('gives ULID ids that increase even when the time goes back', () => {
    const a = makeEvent('RUNNING', 'k:1', {}, 2_000_000);
    const b = makeEvent('PAUSED', 'k:1', {}, 1_000_000);
    expect(a.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(b.id > a.id).toBe(true);
    expect(b).toMatchObject({ jobKey: 'k:1', type: 'PAUSED', at: 1_000_000, data: {} });
  });
});

describe('runContext', () => {
  it('reads a real batch job environment', () => {
    const env = { ...fixture('slurm-env-batch.json'), USER: 'ignored-when-slurm-says' };
    const ctx = runContext(env, facts);
    expect(ctx).toEqual({
      host: 'berth',
      node: 'n1',
      user: 'root',
      command: "python train.py --lr '0.1 x'",
      argv: facts.argv,
      cwd: '/work',
      slurm: {
        jobId: '28',
        schedulerId: '28',
        stepId: null,
        arrayJobId: null,
        arrayTaskId: null,
        jobName: 'wrap',
        partition: 'debug',
        account: 'root',
        qos: 'normal',
        nodeList: 'n1',
        cluster: 'berth',
        submitDir: '/tmp/berth-monexp',
        endTime: null,
      },
      resources: { nodes: 1, cpusOnNode: 1, cpusPerNode: '1' },
    });
  });

  it('reads array ids, steps, memory, GPUs and an end time', () => {
    const ids = slurmIds({
      SLURM_JOB_ID: '107',
      SLURM_ARRAY_JOB_ID: '100',
      SLURM_ARRAY_TASK_ID: '7',
      SLURM_STEP_ID: '0',
      SLURM_JOB_END_TIME: '1800000000',
    });
    expect(ids).toMatchObject({
      jobId: '107',
      schedulerId: '100_7',
      arrayJobId: '100',
      arrayTaskId: 7,
      stepId: '0',
      endTime: 1_800_000_000_000,
    });
    const ctx = runContext(
      {
        SLURM_JOB_ID: '5',
        SLURM_MEM_PER_NODE: '4000',
        SLURM_GPUS_ON_NODE: '2',
        SLURM_JOB_GPUS: '0,1',
      },
      facts,
    );
    expect(ctx.resources).toEqual({ memPerNodeMb: 4000, gpusOnNode: 2, gpuIds: '0,1' });
  });

  it('outside SLURM: host local, the machine name, USER', () => {
    const ctx = runContext({ USER: 'alice' }, facts);
    expect(ctx).toMatchObject({
      host: 'local',
      node: 'laptop',
      user: 'alice',
      slurm: null,
      resources: {},
    });
    expect(runContext({}, { ...facts, user: 'bob' }).user).toBe('bob');
    expect(runContext({ BERTH_JOB_HOST: 'cluster' }, facts).host).toBe('cluster');
  });
});

describe('job keys', () => {
  it('defaults to host:scheduler id inside SLURM, BERTH_JOB_KEY when set, else a local id', () => {
    const env = fixture('slurm-env-batch.json');
    expect(defaultJobKey(runContext(env, facts), env, () => 'X')).toBe('berth:28');
    expect(defaultJobKey(runContext({}, facts), { BERTH_JOB_KEY: 'cluster:9' }, () => 'X')).toBe(
      'cluster:9',
    );
    expect(defaultJobKey(runContext({}, facts), {}, () => '01ABC')).toBe('local:01ABC');
  });

  it('refuses keys that are unsafe in file names and shell text', () => {
    for (const bad of ['', 'a b', '../x', 'a/b', '$(x)', 'k'.repeat(256), ':x']) {
      expect(() => validateJobKey(bad)).toThrow(UsageError);
    }
    expect(validateJobKey('cluster:123_4')).toBe('cluster:123_4');
  });
});
