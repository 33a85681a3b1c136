/**
 * A look records a SLURM session's new run only once the run is its job's own: between the
 * job writing `current` and the run's job file (its pane coming up) the session is pending,
 * and no run is recorded, so the run's reason (here: restart) is not misread as resubmit.
 * Real store (SQLite), scripted observations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { layoutFor } from '../../src/sessions/layout.js';
import { lookAt } from '../../src/sessions/look.js';
import {
  blankObservation,
  type HostObservation,
  type RunObservation,
} from '../../src/sessions/observe.js';
import { getSession, listRuns, putSession } from '../../src/sessions/records.js';
import type { SessionRuntime } from '../../src/sessions/runtime.js';
import { SessionService } from '../../src/sessions/service.js';
import { parseSpecText } from '../../src/sessions/spec-file.js';
import { openStore, type Store } from '../../src/store/index.js';

let root: string;
let store: Store;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'berth-look-'));
  store = await openStore({ url: `sqlite:${join(root, 'berth.db')}` });
});

afterAll(async () => {
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

const spec = parseSpecText(
  'apiVersion: berth/v1\nkind: Session\nmetadata: {name: sim}\nspec:\n  runtime: slurm\n  command: sleep 600\n',
  'sim.yaml',
);

function observed(o: Partial<RunObservation>): HostObservation {
  return {
    now: Date.now(),
    complete: true,
    sessions: new Map([['sim', { ...blankObservation('sim'), ...o }]]),
  };
}

describe('a look at a SLURM session whose restarted job is starting its run', () => {
  it('records the run once it is the job’s own, with the start’s reason', async () => {
    const svc = new SessionService(
      loadConfig({ cwd: root, env: { HOME: root, XDG_CONFIG_HOME: join(root, 'xdg') } }),
      store.db,
    );
    let next: HostObservation = observed({});
    const runtime = { observe: () => Promise.resolve(next) } as unknown as SessionRuntime;
    svc.runtime = () => runtime;
    // What `session restart` leaves: job 102 submitted, no run of it yet.
    await putSession(store.db, {
      name: 'sim',
      host: 'local',
      runtime: 'slurm',
      desired: 'running',
      state: 'pending',
      runId: null,
      jobId: '102',
      exitCode: null,
      restarts: 0,
      spec,
      layout: layoutFor(spec, '/work/berth', 'test'),
      startReason: 'restart',
      startJobId: '102',
    });
    const run = '20261124T015500.123Z';
    const job = { id: '102', state: 'RUNNING', node: 'n1' };
    const look = async () => (await lookAt(svc, [await svc.record('sim')]))[0]!;

    // The job has written `current`, but its pane and job file are not there yet.
    next = observed({ runId: run, job, runJob: null, startedAt: Date.now() });
    expect((await look()).state).toBe('pending');
    expect(await listRuns(store.db, 'sim', 10)).toEqual([]);
    expect((await getSession(store.db, 'sim'))?.runId).toBeNull();

    // The pane is up and the run's job file names job 102.
    const pane = {
      session: 'sim',
      index: '0.0',
      pid: 4242,
      dead: false,
      exitStatus: null,
      exitSignal: null,
    };
    next = observed({ runId: run, job, runJob: '102', pane, startedAt: Date.now() });
    expect((await look()).state).toBe('running');
    const runs = await listRuns(store.db, 'sim', 10);
    expect(runs.map((r) => [r.runId, r.reason, r.jobId])).toEqual([[run, 'restart', '102']]);
    expect((await getSession(store.db, 'sim'))?.runId).toBe(run);
  });
});
