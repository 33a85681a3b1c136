/**
 * The status watcher on the real test cluster, over ssh as the test user, with the real
 * SlurmScheduler: slurmctld is made unresponsive for 30 s while three jobs are watched (one
 * running, one held, one already completed). Their live states must read UNKNOWN with the
 * reason (the failed squeue's), then recover; no job may ever be marked failed, lost, gone
 * or anything else it is not, and the finished one stays finished and is not asked again.
 *
 * What it does to the shared cluster: `kill -STOP` of slurmctld's pid (from the cluster's
 * run/slurmctld.pid) for 30 s, then `kill -CONT`. slurmctld keeps its state, its jobs and
 * its port; clients (also other tests' squeue/sbatch) wait for up to MessageTimeout (10 s)
 * and fail meanwhile. The CONT is sent in a `finally`, by afterAll, and by a detached
 * watchdog (`sleep 75; kill -CONT`) in case this process dies. Needs root (to signal the
 * daemon); skipped otherwise. A `*.serial.test.ts`: scripts/test runs it after the main
 * suite, alone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type JobState } from '../../src/core/states.js';
import type { Observation, ObserveHint } from '../../src/scheduler/contract.js';
import { SlurmScheduler } from '../../src/scheduler/slurm/scheduler.js';
import { HostWatcher } from '../../src/scheduler/watcher.js';
import { storePersist } from '../../src/scheduler/watcher-store.js';
import { getJob, openStore, type Store, upsertJob } from '../../src/store/index.js';
import { createRunner, type Runner } from '../../src/transport/index.js';
import { cluster, clusterDir } from '../helpers/cluster.js';

const info = cluster();
const STOP_S = 30;
const isRoot = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let runner: Runner;
let store: Store;
const submitted: string[] = [];

/** The slurmctld pid, checked to be slurmctld (never signal a reused pid). */
function slurmctldPid(): number {
  const pid = Number(readFileSync(join(clusterDir(), 'run', 'slurmctld.pid'), 'utf8').trim());
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  if (comm !== 'slurmctld') throw new Error(`pid ${pid} is ${comm}, not slurmctld`);
  return pid;
}

function resume(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // already gone: nothing to resume
  }
}

async function sbatch(...args: string[]): Promise<string> {
  const r = await runner.run(['sbatch', '--parsable', `--job-name=berth-watcher-it`, ...args]);
  expect(r.exitCode, r.stderr).toBe(0);
  const id = r.stdout.trim().split('\n').at(-1)!.split(';')[0]!;
  submitted.push(id);
  return id;
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(200);
  }
  return Date.now() - t0;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-watcher-it-'));
  runner = createRunner(
    { name: 'berth-test', ssh: info.sshAlias, sshConfig: info.sshConfig },
    { stateDir: dir },
  );
  store = await openStore({ url: `sqlite:${join(dir, 'berth.db')}` });
});

afterAll(async () => {
  if (isRoot) resume(slurmctldPid());
  if (submitted.length) await runner.run(['scancel', ...submitted], { timeoutMs: 60_000 });
  await runner.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('status watcher with slurmctld stopped (real SLURM)', () => {
  it('reads UNKNOWN with the reason while slurmctld is stopped, then recovers; nothing is failed, lost or gone', async () => {
    const scheduler = new SlurmScheduler(runner, {
      root: `${info.workRoot}/watcher-it`,
      timeoutMs: 20_000,
    });
    const done = await sbatch('--wrap', 'true');
    const held = await sbatch('--hold', '--wrap', 'true');
    const run = await sbatch('--time=10', '--wrap', 'sleep 600');
    for (const id of [done, held, run]) {
      await upsertJob(store.db, {
        key: `berth-test:${id}`,
        host: 'berth-test',
        scheduler: 'slurm',
        schedulerId: id,
        state: 'pending',
        submittedAt: Date.now(),
      });
    }

    const calls: Array<{ at: number; ids: string[]; ms: number }> = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const observe = async (ids: readonly string[], hints?: ReadonlyMap<string, ObserveHint>) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const at = Date.now();
      try {
        return await scheduler.observe(ids, hints);
      } finally {
        inFlight--;
        calls.push({ at, ids: [...ids], ms: Date.now() - at });
      }
    };
    const watcher = new HostWatcher({
      host: 'berth-test',
      observe,
      poll: {
        minIntervalS: 1,
        submitIntervalS: 1,
        runningIntervalS: 2,
        maxIntervalS: 4,
        backoffFactor: 2,
        jitter: 0.1,
      },
      persist: storePersist(store.db),
    });
    const t0 = Date.now();
    const history: Array<{ s: number; jobId: string; state: JobState; source: string }> = [];
    watcher.onChange((jobId, _prev, next, o: Observation) =>
      history.push({ s: (Date.now() - t0) / 1000, jobId, state: next, source: o.source }),
    );
    const errors: unknown[] = [];
    watcher.onError((e) => errors.push(e));
    for (const id of [done, held, run]) watcher.track(id, { submittedAt: Date.now() });
    watcher.start();

    try {
      await until(
        'running, held and completed',
        () =>
          watcher.state(run)?.kind === 'running' &&
          watcher.state(held)?.kind === 'pending' &&
          watcher.state(done)?.kind === 'completed',
        120_000,
      );
      expect(watcher.state(held)).toEqual({ kind: 'pending', reason: 'JobHeldUser' });
      const before = { run: watcher.state(run)!, held: watcher.state(held)! };
      const callsBefore = calls.length;

      // ---- slurmctld stops answering for STOP_S seconds ----
      const pid = slurmctldPid();
      const watchdog: ChildProcess = spawn(
        'sh',
        ['-c', `sleep ${STOP_S + 45}; kill -CONT ${pid}`],
        { detached: true, stdio: 'ignore' },
      );
      watchdog.unref();
      let unknownAfterS = Number.NaN;
      let recoveredAfterS = Number.NaN;
      const stoppedAt = Date.now();
      process.kill(pid, 'SIGSTOP');
      try {
        unknownAfterS =
          (await until(
            'live jobs unknown',
            () => watcher.state(run)?.kind === 'unknown' && watcher.state(held)?.kind === 'unknown',
            (STOP_S - 2) * 1000,
          )) / 1000;
        for (const [id, last] of [
          [run, before.run],
          [held, before.held],
        ] as const) {
          const s = watcher.state(id)!;
          expect(s).toMatchObject({ kind: 'unknown', last });
          if (s.kind === 'unknown') expect(s.reason).toMatch(/squeue|slurm|timed out/i);
          const row = await getJob(store.db, `berth-test:${id}`);
          expect(row).toMatchObject({ state: 'unknown' });
          expect(row?.reason).toMatch(/squeue|slurm|timed out/i);
        }
        expect(watcher.state(done)?.kind).toBe('completed');
        await sleep(Math.max(0, stoppedAt + STOP_S * 1000 - Date.now()));
      } finally {
        resume(pid);
        try {
          if (watchdog.pid) process.kill(-watchdog.pid, 'SIGTERM'); // its own process group
        } catch {
          // it already ended
        }
      }
      const resumedAt = Date.now();

      recoveredAfterS =
        (await until(
          'states recovered',
          () => watcher.state(run)?.kind === 'running' && watcher.state(held)?.kind === 'pending',
          90_000,
        )) / 1000;
      expect(watcher.state(run)).toEqual(before.run);
      expect(watcher.state(held)).toEqual(before.held);
      expect(watcher.state(done)?.kind).toBe('completed');
      for (const id of [run, held]) {
        const row = await getJob(store.db, `berth-test:${id}`);
        expect(row?.state).toBe(watcher.state(id)?.kind);
      }

      // No job was ever called failed, lost or gone; only the finished one is terminal.
      const kinds = new Set(history.map((h) => h.state.kind));
      for (const bad of ['failed', 'lost', 'cancelled', 'node_fail', 'timeout', 'preempted']) {
        expect(kinds.has(bad as JobState['kind'])).toBe(false);
      }
      expect(history.filter((h) => isTerminal(h.state)).map((h) => h.jobId)).toEqual([done]);
      // one observe() per tick, never two at once, the finished job never asked again
      expect(maxInFlight).toBe(1);
      expect(errors).toEqual([]);
      for (const c of calls.slice(callsBefore)) expect(c.ids.sort()).toEqual([run, held].sort());
      const during = calls.filter((c) => c.at >= stoppedAt && c.at < resumedAt);
      const snap = watcher.snapshot();
      console.log(
        JSON.stringify({
          stopS: STOP_S,
          unknownAfterS,
          recoveredAfterResumeS: recoveredAfterS,
          queriesWhileStopped: during.length,
          queryMsWhileStopped: during.map((c) => c.ms),
          failedQueries: snap.failedQueries,
          queries: snap.queries,
          reason: (history.find((h) => h.state.kind === 'unknown')?.state as { reason?: string })
            ?.reason,
          timeline: history.map((h) => `${h.s.toFixed(1)}s ${h.jobId} ${h.state.kind}`),
        }),
      );
    } finally {
      await watcher.stop();
    }
  });
});
