/** What the watcher writes to a job row, against an in-memory SQLite store. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobState } from '../../src/core/states.js';
import type { Observation } from '../../src/scheduler/contract.js';
import type { JobChange } from '../../src/scheduler/watcher.js';
import { jobPatchOf, storePersist, trackOptionsOf } from '../../src/scheduler/watcher-store.js';
import { getJob, openStore, type Store, upsertJob } from '../../src/store/index.js';

const T = 1_795_461_140_000;

function change(
  jobId: string,
  prev: JobState,
  next: JobState,
  tasks?: Record<string, number>,
): JobChange {
  const observation: Observation = {
    jobId,
    state: next,
    source: 'squeue',
    observedAt: T + 5,
    ...(tasks ? { tasks } : {}),
  };
  return { jobId, jobKey: `h:${jobId}`, prev, next, observation };
}

describe('jobPatchOf', () => {
  it('sets only what the state says', () => {
    expect(jobPatchOf({ kind: 'pending', reason: 'Priority' })).toEqual({
      state: 'pending',
      reason: 'Priority',
    });
    expect(jobPatchOf({ kind: 'running', nodes: ['n1'], startedAt: T })).toEqual({
      state: 'running',
      reason: null,
      startedAt: T,
    });
    expect(jobPatchOf({ kind: 'failed', exitCode: null, signal: 9, endedAt: T })).toEqual({
      state: 'failed',
      exitCode: null,
      signal: 'SIGKILL',
      reason: null,
      endedAt: T,
    });
    expect(jobPatchOf({ kind: 'completed', exitCode: 0, endedAt: null })).toEqual({
      state: 'completed',
      exitCode: 0,
      signal: null,
      reason: null,
    });
    expect(jobPatchOf({ kind: 'unknown', reason: 'squeue timed out', since: T })).toEqual({
      state: 'unknown',
      reason: 'squeue timed out',
    });
    expect(jobPatchOf({ kind: 'cancelled', by: '1000', endedAt: T })).toMatchObject({
      reason: 'cancelled by 1000',
      endedAt: T,
    });
  });
});

describe('storePersist', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ url: 'sqlite::memory:' });
  });
  afterAll(async () => {
    await store.close();
  });

  it('patches the row and keeps what dispatch stored in extra', async () => {
    await upsertJob(store.db, {
      key: 'h:42',
      host: 'h',
      scheduler: 'slurm',
      schedulerId: '42',
      state: 'pending',
      submittedAt: T,
      exitCode: null,
      extra: { schedulerIds: ['42', '43'], taskCount: 2000, workDir: '/w/42' },
    });
    const persist = storePersist(store.db);
    const pending: JobState = { kind: 'pending', reason: null };
    const run: JobState = { kind: 'running', nodes: ['n1'], startedAt: T + 1 };
    await persist('h:42', run, change('42', pending, run, { running: 2000 }));
    const unknown: JobState = { kind: 'unknown', reason: 'squeue failed', since: T + 9, last: run };
    await persist('h:42', unknown, {
      ...change('42', run, unknown),
      observation: { ...change('42', run, unknown).observation, source: 'error' },
    });
    const job = await getJob(store.db, 'h:42');
    expect(job).toMatchObject({
      state: 'unknown',
      reason: 'squeue failed',
      startedAt: T + 1,
      exitCode: null,
    });
    expect(job?.extra).toMatchObject({
      schedulerIds: ['42', '43'],
      taskCount: 2000,
      workDir: '/w/42',
      watch: { state: unknown, source: 'error' },
    });
    // tracked again from the row: its last state, submit time and the array hint
    expect(trackOptionsOf(job!)).toEqual({
      submittedAt: T,
      state: unknown,
      hint: { schedulerIds: ['42', '43'], taskCount: 2000 },
    });
  });

  it('skips a job without a row', async () => {
    const persist = storePersist(store.db);
    const done: JobState = { kind: 'completed', exitCode: 0, endedAt: T };
    await persist('h:nope', done, change('nope', { kind: 'pending', reason: null }, done));
    expect(await getJob(store.db, 'h:nope')).toBeUndefined();
  });

  it('a finished row written by someone else is tracked as finished', async () => {
    const job = await upsertJob(store.db, {
      key: 'h:50',
      host: 'h',
      scheduler: 'slurm',
      schedulerId: '50',
      state: 'failed',
      exitCode: 3,
      endedAt: T,
    });
    expect(trackOptionsOf(job).state).toEqual({ kind: 'failed', exitCode: 3, endedAt: T });
    const lost = await upsertJob(store.db, { ...job, key: 'h:51', state: 'lost' });
    expect(trackOptionsOf(lost).state).toBeUndefined();
  });
});
