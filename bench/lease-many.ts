/**
 * lease-many: 1,000 trivial tasks (`true`) three ways, tasks per second for each:
 *
 *   - through one lease: `lease exec --tasks` (one executor in one `srun --overlap` step,
 *     commands on its stdin, results framed back), at concurrency 1 and 2;
 *   - one `srun --jobid J --overlap true` after another, on the login node (one ssh call
 *     running the loop, so ssh is not counted against it);
 *   - a SLURM array of 1,000 (`sbatch --array=0-999 --wrap true`), from submission until
 *     sacct counts every task ended. It runs `--nice` so other users' jobs go first.
 *
 * Goal (issue 4): at least 500 tasks/s through the lease. Needs the test cluster.
 * Run: npx tsx bench/lease-many.ts [tasks] [--no-array]. Prints a JSON line last.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  bookLease,
  type LeaseContext,
  openLeaseContext,
  releaseLease,
  runTasks,
} from '../src/lease/index.js';
import { cluster } from '../test/helpers/cluster.js';
import { clusterProjectYaml, sandbox } from '../test/helpers/sandbox.js';
import { round } from './stats.js';

const count = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1000);
const withArray = !process.argv.includes('--no-array');
const c = cluster();
const sb = sandbox('berth-bench-many-');
sb.writeProject(clusterProjectYaml());
const NAME = `bench-many-${randomBytes(3).toString('hex')}`;

function ssh(command: string): { stdout: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync('ssh', ['-F', c.sshConfig, c.sshAlias, command], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0)
    throw new Error(`ssh ${command.slice(0, 80)}… exited ${r.status}: ${r.stderr}`);
  return { stdout: r.stdout, ms: performance.now() - t0 };
}

/** Sequential sruns timed on the login node: tasks/s of the loop itself. */
function sequentialSrun(jobId: string): number {
  const out = ssh(
    `s=$EPOCHREALTIME; for i in $(seq ${count}); do srun --jobid=${jobId} --overlap true || exit 1; done; e=$EPOCHREALTIME; echo "$s $e"`,
  ).stdout;
  const [s, e] = out.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number];
  return count / (e - s);
}

/** Submit an array of `count` and wait until sacct has every task ended. */
async function array(): Promise<{ tasksPerS: number; seconds: number; completed: number }> {
  const t0 = performance.now();
  const id = ssh(
    `sbatch --parsable --nice=10000 -c1 --time=2 --array=0-${count - 1} -J berth-bench-array -o /dev/null --wrap true`,
  ).stdout.trim();
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed ${id}`);
  let completed = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const states = ssh(`sacct -X -n -P -j ${id} -o State`)
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    const ended = states.filter((s) => /COMPLETED|FAILED|CANCELLED|TIMEOUT/.test(s)).length;
    completed = states.filter((s) => s === 'COMPLETED').length;
    if (ended >= count) break;
    if (performance.now() - t0 > 60 * 60_000) {
      ssh(`scancel ${id}`);
      throw new Error(`the array did not finish in an hour (${ended}/${count})`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { tasksPerS: round(count / seconds, 2), seconds: round(seconds, 1), completed };
}

let ctx: LeaseContext | undefined;
try {
  ctx = await openLeaseContext({ cwd: sb.cwd, env: sb.env, persistentShell: true });
  const booked = await bookLease(ctx, {
    name: NAME,
    host: 'cluster',
    resources: { cpus: 1, time: '30' },
    timeoutS: 900,
  });
  if (!booked.wait?.running)
    throw new Error(`the lease did not start: ${booked.wait?.last.detail}`);
  const jobId = booked.lease.jobId!;
  const tasks = Array.from({ length: count }, () => 'true');
  await runTasks(ctx, NAME, tasks.slice(0, 50)); // warm-up: master, login shell
  const lease1 = await runTasks(ctx, NAME, tasks, { concurrency: 1 });
  const lease2 = await runTasks(ctx, NAME, tasks, { concurrency: 2 });
  for (const r of [lease1, lease2]) {
    if (r.ok !== count) throw new Error(`${count - r.ok} tasks failed through the lease`);
  }
  console.log(
    `through the lease, concurrency 1: ${lease1.tasksPerS} tasks/s (${lease1.durationMs} ms)`,
  );
  console.log(
    `through the lease, concurrency 2: ${lease2.tasksPerS} tasks/s (${lease2.durationMs} ms)`,
  );
  const seq = round(sequentialSrun(jobId), 1);
  console.log(`sequential srun --overlap on the login node: ${seq} tasks/s`);
  await releaseLease(ctx, NAME);
  const arr = withArray ? await array() : undefined;
  if (arr)
    console.log(
      `SLURM array of ${count}: ${arr.tasksPerS} tasks/s (${arr.seconds} s, ${arr.completed} completed)`,
    );
  const best = Math.max(lease1.tasksPerS, lease2.tasksPerS);
  console.log(
    JSON.stringify({
      bench: 'lease-many',
      tasks: count,
      leaseTasksPerS: lease1.tasksPerS,
      leaseConcurrency2TasksPerS: lease2.tasksPerS,
      sequentialSrunTasksPerS: seq,
      arrayTasksPerS: arr?.tasksPerS ?? null,
      arraySeconds: arr?.seconds ?? null,
      leaseVsSequential: round(best / seq, 1),
      leaseVsArray: arr ? round(best / arr.tasksPerS, 1) : null,
      goalMet: lease1.tasksPerS >= 500,
    }),
  );
} finally {
  if (ctx) await releaseLease(ctx, NAME, { missingOk: true }).catch(() => {});
  await ctx?.close();
  sb.cleanup();
}
