/**
 * Arrays beyond MaxArraySize (1001 on the test cluster), through the dispatch library:
 * a 1,100-task array is split into two SLURM arrays, every task runs exactly once (each
 * appends its logical index to one file), and status shows ONE logical job with counts
 * per state. (The 2,500-task case takes about 6 minutes: bench/array-split.ts.)
 * Also: cancelling a split array cancels every chunk.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import {
  type Dispatch,
  jobLogs,
  jobStatus,
  openDispatch,
  submitJob,
  waitJobs,
} from '../../src/dispatch/index.js';
import { SlurmScheduler } from '../../src/scheduler/slurm/scheduler.js';
import { parseJobSpec } from '../../src/scheduler/spec.js';
import { cluster } from '../helpers/cluster.js';
import { clusterProjectYaml, type Sandbox, sandbox } from '../helpers/sandbox.js';

const TASKS = 1100;
const TAG = `dispatch-array-${randomBytes(3).toString('hex')}`;

describe('split arrays on the test cluster', () => {
  let box: Sandbox;
  let d: Dispatch;
  const dirs: string[] = [];
  const out = `${cluster().workRoot}/${TAG}.indices`;

  beforeAll(() => {
    box = sandbox('berth-dispatch-array-');
    box.writeProject(clusterProjectYaml());
    d = openDispatch({
      config: loadConfig({ cwd: box.cwd, env: box.env }),
      env: box.env,
      cwd: box.cwd,
    });
  });

  afterAll(async () => {
    const host = await d.host('cluster');
    await host.runner.run(['rm', '-rf', '--', out, ...dirs]);
    await d.close();
    await host.runner.close({ master: true });
    box.cleanup();
  });

  it(`runs a ${TASKS}-task array as two SLURM arrays, each task once, shown as one job`, async () => {
    const t0 = Date.now();
    const job = await submitJob(d, {
      host: 'cluster',
      spec: {
        name: TAG,
        array: `0-${TASKS - 1}`,
        resources: { time: 10 },
        script: `#!/bin/bash\necho $((BERTH_ARRAY_OFFSET + SLURM_ARRAY_TASK_ID)) >> ${out}\necho "task $((BERTH_ARRAY_OFFSET + SLURM_ARRAY_TASK_ID))"\n`,
      },
    });
    dirs.push(job.workDir!);
    expect(job.schedulerIds).toHaveLength(2);
    expect(job.taskCount).toBe(TASKS);
    const r = await waitJobs(d, [job.key]);
    const wallS = (Date.now() - t0) / 1000;
    console.log(`${TASKS} tasks in ${wallS.toFixed(0)} s: ${(TASKS / wallS).toFixed(2)} tasks/s`);
    expect(r.exitCode).toBe(0);
    expect(r.jobs[0]!.state.kind).toBe('completed');

    const host = await d.host('cluster');
    const lines = (await host.runner.run(['cat', out])).stdout
      .split('\n')
      .filter(Boolean)
      .map(Number);
    expect(lines).toHaveLength(TASKS);
    expect(new Set(lines).size).toBe(TASKS);
    expect(Math.min(...lines)).toBe(0);
    expect(Math.max(...lines)).toBe(TASKS - 1);

    const [status] = await jobStatus(d, [job.key]);
    expect(status).toMatchObject({
      key: job.key,
      state: { kind: 'completed' },
      tasks: { completed: TASKS },
      taskCount: TASKS,
      schedulerIds: job.schedulerIds,
    });
    // A logical task of the second chunk, by its logical index.
    const [task] = await jobStatus(d, [`${job.key}_1050`]);
    expect(task).toMatchObject({ jobId: `${job.jobId}_1050`, state: { kind: 'completed' } });
    const logs = await jobLogs(d, `${job.key}_1050`);
    expect(logs.text).toBe('task 1050\n');
  });

  it('cancelling a split array cancels every chunk', async () => {
    const host = await d.host('cluster');
    const s = new SlurmScheduler(host.runner, {
      root: `${cluster().workRoot}/${TAG}`,
      maxArraySize: 4,
    });
    dirs.push(`${cluster().workRoot}/${TAG}`);
    const sub = await s.submit(
      parseJobSpec({ name: `${TAG}-cancel`, array: '0-9', command: ['sleep', '300'] }),
    );
    expect(sub.schedulerIds).toHaveLength(3);
    await s.cancel(sub.jobId);
    const hints = new Map([[sub.jobId, { schedulerIds: sub.schedulerIds, taskCount: 10 }]]);
    let o = (await s.observe([sub.jobId], hints)).get(sub.jobId)!;
    // The deadline only bounds a failure: on a loaded machine the cancel can take a while.
    for (const end = Date.now() + 120_000; Date.now() < end && o.state.kind !== 'cancelled'; ) {
      await new Promise((r) => setTimeout(r, 1000));
      o = (await s.observe([sub.jobId], hints)).get(sub.jobId)!;
    }
    expect(o.state.kind).toBe('cancelled');
    expect(o.tasks).toEqual({ cancelled: 10 });
  });
});
