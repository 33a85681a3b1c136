/**
 * The lease library against the test cluster over ssh: a wait that times out cancels
 * nothing; exec finds the lease's newer job itself when its job id is stale; liveness is
 * DEAD only once squeue and sacct agree, UNKNOWN when the host cannot be asked; many small
 * tasks through one executor. Allocations are 1 cpu and short; everything is released.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBerthError } from '../../src/core/errors.js';
import {
  addTenant,
  bookLease,
  execInLease,
  getLeaseView,
  type LeaseContext,
  listLeaseViews,
  openLeaseContext,
  refreshLease,
  releaseLease,
  runTasks,
} from '../../src/lease/index.js';
import { putLease } from '../../src/store/index.js';
import { cluster } from '../helpers/cluster.js';
import { clusterProjectYaml, sandbox } from '../helpers/sandbox.js';

const info = cluster();
const sb = sandbox('berth-lease-it-');
sb.writeProject(clusterProjectYaml());
const tag = randomBytes(3).toString('hex');
const names = { held: `it-held-${tag}`, stale: `it-stale-${tag}`, down: `it-down-${tag}` };
let ctx: LeaseContext;

function ssh(command: string): string {
  return spawnSync('ssh', ['-F', info.sshConfig, info.sshAlias, command], {
    encoding: 'utf8',
    timeout: 60_000,
  }).stdout;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

beforeAll(async () => {
  ctx = await openLeaseContext({ cwd: sb.cwd, env: sb.env, persistentShell: true });
});

afterAll(async () => {
  for (const name of Object.values(names)) {
    await releaseLease(ctx, name, { missingOk: true }).catch(() => {});
  }
  ssh(`scancel --me --name=berth-lease-${names.stale}`);
  await ctx.close();
  sb.cleanup();
}, 120_000);

describe('lease library on real SLURM', () => {
  it('a wait that times out keeps the lease pending with SLURM’s reason and cancels nothing', async () => {
    const r = await bookLease(ctx, {
      name: names.held,
      host: 'cluster',
      resources: { cpus: 1, time: '5', extraArgs: ['--hold'] },
      timeoutS: 3,
    });
    expect(r.wait).toMatchObject({ running: false, timedOut: true });
    expect(r.wait!.last.detail).toMatch(/pending \(JobHeldUser\)/);
    expect(r.lease).toMatchObject({ state: 'pending', liveness: 'ALIVE' });
    expect(r.lease.extra.reason).toBe('JobHeldUser');
    expect(ssh(`squeue -h -j ${r.lease.jobId} -o %T`).trim()).toBe('PENDING');
    const view = await getLeaseView(ctx, names.held);
    expect(view).toMatchObject({ jobId: r.lease.jobId, state: 'pending', liveness: 'ALIVE' });
    const released = await releaseLease(ctx, names.held);
    expect(released.cancelled).toEqual([r.lease.jobId]);
  }, 900_000);

  it('exec refreshes a stale job id itself; liveness turns DEAD only when sacct agrees', async () => {
    const booked = await bookLease(ctx, {
      name: names.stale,
      host: 'cluster',
      resources: { cpus: 1, time: '10' },
      timeoutS: 600,
    });
    expect(booked.wait?.running).toBe(true);
    const first = booked.lease.jobId!;
    // A newer job of the lease that the chain does not know (found by its job name).
    const second = ssh(
      `sbatch --parsable -c1 --time 10 -J berth-lease-${names.stale} --wrap 'sleep 600'`,
    ).trim();
    expect(second).toMatch(/^\d+$/);
    await until(
      'the second job to run',
      async () => (ssh(`squeue -h -j ${second} -o %T`).trim() === 'RUNNING' ? true : undefined),
      600_000,
    );
    ssh(`scancel ${first}`);
    await until('squeue to drop the first job', async () =>
      /RUNNING|COMPLETING/.test(ssh(`squeue -h -j ${first} -o %T`)) ? undefined : true,
    );
    const r = await execInLease(ctx, names.stale, ['printenv', 'SLURM_JOB_ID']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(second);
    const view = await getLeaseView(ctx, names.stale);
    expect(view.jobId).toBe(second);
    expect(view.hops?.map((h) => [h.jobId, h.reason])).toEqual([
      [first, 'booked'],
      [second, 'found by job name'],
    ]);
    // The first job: DEAD once squeue and sacct both say it ended.
    const dead = await until('DEAD', async () => {
      const l = await import('../../src/lease/liveness.js');
      const live = (await l.observeLiveness(ctx.host('cluster'), [first])).get(first)!;
      return live.liveness === 'DEAD' ? live : undefined;
    });
    expect(dead.state.kind).toBe('cancelled');
  }, 900_000);

  it('many small tasks go through one executor step', async () => {
    const commands = Array.from({ length: 300 }, (_, i) => (i % 50 === 9 ? 'exit 4' : `echo ${i}`));
    const report = await runTasks(ctx, names.stale, commands, { concurrency: 2 });
    expect(report).toMatchObject({ total: 300, ok: 294, failed: 6, notRun: 0, concurrency: 2 });
    expect(report.tasks[10]).toMatchObject({ index: 10, exitCode: 0, stdout: '10\n' });
    expect(report.tasks[9]).toMatchObject({ exitCode: 4 });
    // A loose bound only (speed targets belong in bench/): one executor step runs many tasks
    // a second, where a step (srun) per task manages about one; a loaded machine is slower.
    expect(report.tasksPerS).toBeGreaterThan(5);
    const view = await getLeaseView(ctx, names.stale);
    expect(view.extra.lastTasks).toMatchObject({ total: 300, ok: 294, failed: 6 });
  }, 900_000);

  it('tenants need a tmux server; refresh of a lease that did not move records nothing', async () => {
    await expect(addTenant(ctx, names.stale, { session: 'x', command: ['true'] })).rejects.toThrow(
      /has no tmux server/,
    );
    const r = await refreshLease(ctx, names.stale);
    expect(r.moved).toEqual([]);
    expect(r.live?.liveness).toBe('ALIVE');
  }, 900_000);

  it('a host that cannot be reached gives UNKNOWN, never DEAD', async () => {
    await putLease(ctx.db, {
      name: names.down,
      host: 'down',
      jobId: '12345',
      state: 'running',
      spec: {},
      extra: {},
    });
    const view = await getLeaseView(ctx, names.down);
    expect(view.liveness).toBe('UNKNOWN');
    expect(view.state).toBe('running');
    const all = await listLeaseViews(ctx);
    expect(all.find((l) => l.name === names.down)?.liveness).toBe('UNKNOWN');
    const err = await execInLease(ctx, names.down, ['true']).catch((e: unknown) => e);
    expect(isBerthError(err) && err.code).toBe('E_UNREACHABLE');
    await expect(releaseLease(ctx, names.down)).rejects.toThrow();
    await import('../../src/store/index.js').then((s) => s.deleteLease(ctx.db, names.down));
  }, 900_000);
});
