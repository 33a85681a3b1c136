/**
 * A persistent lease on the test cluster: `--time 0:03:00` with a 90 s lead resubmits itself
 * before each walltime (SLURM checks signals about once a minute, so a hop comes every one
 * to two minutes). Across two hops: refresh finds the new job, exec runs in it without the
 * user refreshing, and a tenant session started before the first hop is alive after the
 * second with its log continued. It only needs time, not exclusivity (1 cpu per job).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addTenant,
  bookLease,
  execInLease,
  getLeaseView,
  type LeaseContext,
  listTenants,
  openLeaseContext,
  parseChain,
  refreshLease,
  releaseLease,
} from '../../src/lease/index.js';
import { cluster } from '../helpers/cluster.js';
import { clusterProjectYaml, sandbox } from '../helpers/sandbox.js';

const info = cluster();
const sb = sandbox('berth-lease-hops-');
sb.writeProject(clusterProjectYaml());
const NAME = `it-hops-${randomBytes(3).toString('hex')}`;
const DIR = `${info.workRoot}/leases/${NAME}`;
let ctx: LeaseContext;

function ssh(command: string): string {
  return spawnSync('ssh', ['-F', info.sshConfig, info.sshAlias, command], {
    encoding: 'utf8',
    timeout: 60_000,
  }).stdout;
}

/** Jobs of the lease that have started, per the chain file (read independently of berth). */
function startedJobs(): string[] {
  return parseChain(ssh(`cat ${DIR}/chain 2>/dev/null`))
    .filter((e) => e.event === 'start')
    .map((e) => e.jobId);
}

async function nextJob(after: string, ms = 6 * 60_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const jobs = startedJobs();
    const next = jobs[jobs.indexOf(after) + 1];
    if (next) return next;
    if (Date.now() - t0 > ms) throw new Error(`no hop after job ${after}; chain: ${jobs}`);
    await new Promise((r) => setTimeout(r, 3000));
  }
}

beforeAll(async () => {
  ctx = await openLeaseContext({ cwd: sb.cwd, env: sb.env, persistentShell: true });
});

afterAll(async () => {
  await releaseLease(ctx, NAME, { missingOk: true }).catch(() => {});
  ssh(`scancel --me --name=berth-lease-${NAME}`);
  await ctx.close();
  sb.cleanup();
}, 120_000);

describe('a persistent lease hops before walltime', () => {
  it(
    'refresh finds each new job, exec follows it, a tenant survives two hops with its log',
    async () => {
      const booked = await bookLease(ctx, {
        name: NAME,
        host: 'cluster',
        resources: { cpus: 1, time: '0:03:00' },
        persistent: true,
        lead: '90s',
        tmux: true,
        timeoutS: 600,
      });
      expect(booked.wait?.running).toBe(true);
      const j1 = booked.lease.jobId!;
      await addTenant(ctx, NAME, {
        session: 'ticker',
        command: ['bash', '-c', 'while :; do echo "tick $SLURM_JOB_ID"; sleep 2; done'],
      });
      expect((await listTenants(ctx, NAME))[0]).toMatchObject({
        name: 'ticker',
        alive: true,
        jobId: j1,
      });

      // Hop 1: the user refreshes, then runs a command.
      const j2 = await nextJob(j1);
      const refreshed = await refreshLease(ctx, NAME);
      expect(refreshed).toMatchObject({ previousJobId: j1, jobId: j2, moved: [j2] });
      expect(refreshed.live?.liveness).toBe('ALIVE');
      const in2 = await execInLease(ctx, NAME, ['printenv', 'SLURM_JOB_ID']);
      expect(in2).toMatchObject({ exitCode: 0, jobId: j2 });
      expect(in2.stdout.trim()).toBe(j2);

      // Hop 2: the user runs a command without refreshing; exec follows the chain itself.
      const j3 = await nextJob(j2);
      const in3 = await execInLease(ctx, NAME, ['printenv', 'SLURM_JOB_ID']);
      expect(in3.stdout.trim()).toBe(j3);
      expect(in3.jobId).toBe(j3);
      const again = await refreshLease(ctx, NAME);
      expect(again.jobId).toBe(j3);
      const view = await getLeaseView(ctx, NAME);
      expect(view.hops?.map((h) => [h.jobId, h.reason])).toEqual([
        [j1, 'booked'],
        [j2, 'resubmitted'],
        [j3, 'followed by exec'],
      ]);

      // The tenant came back in the newest job, same name and command, one log throughout.
      const tenant = await (async () => {
        for (let i = 0; i < 60; i++) {
          const t = (await listTenants(ctx, NAME))[0];
          if (t?.alive && t.jobId === j3) return t;
          await new Promise((r) => setTimeout(r, 2000));
        }
        throw new Error('the tenant did not come back in the newest job');
      })();
      expect(tenant.command[0]).toBe('bash');
      // Wait for the newest job's lines to reach the log (not a fixed time: a loaded machine
      // can stall the pane's output for seconds).
      let log = '';
      for (const end = Date.now() + 120_000; Date.now() < end; ) {
        log = ssh(`cat ${tenant.log}`);
        if (log.includes(`tick ${j3}`)) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      for (const j of [j1, j2, j3]) {
        expect(log).toContain(`berth: tenant ticker starts in job ${j}`);
        expect(log).toContain(`tick ${j}`);
      }
      // Each job ran it in turn: after the handover no line of the older job follows.
      // (the log is what the pane showed: lines end in CR LF)
      const order = log
        .split(/\r?\n/)
        .filter((l) => l.startsWith('tick '))
        .map((l) => l.slice(5));
      expect(order.indexOf(j2)).toBeGreaterThan(order.lastIndexOf(j1));
      expect(order.indexOf(j3)).toBeGreaterThan(order.lastIndexOf(j2));
      const chain = parseChain(ssh(`cat ${DIR}/chain`));
      // The first two handovers; on a slow machine the next hop (to a fourth job) may already
      // have happened, which is right too.
      const handovers = chain.filter((e) => e.event === 'handover').map((e) => e.detail);
      expect(handovers.slice(0, 2)).toEqual([j2, j3]);
      expect(handovers.length).toBeLessThanOrEqual(3);
    },
    15 * 60_000,
  );
});
