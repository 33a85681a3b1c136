/**
 * lease-exec: latency of one trivial command in a lease's allocation, interleaved in one run:
 *
 *   - `lease exec -- true` from this client over ssh (the library call the CLI makes, one
 *     process: ssh master + the runner's persistent login shell; and without that shell);
 *   - a bare `srun --jobid J --overlap true` on the login node (timed there, in a loop);
 *   - a fresh `ssh host bash -lc 'srun --jobid J --overlap true'` per call (no master);
 *   - the CLI itself (`node bin/berth.js lease exec NAME -n -- true`), a new process per call
 *     (node start-up, loading the commands, opening the store, then the same step).
 *
 * Goals (issue 4): lease exec ≤ 1.5x the bare srun; a fresh ssh per call ≥ 5x lease exec.
 * Needs the test cluster (scripts/dev-cluster up) and `npx tsc -p tsconfig.build.json` for
 * the CLI row. Run: npx tsx bench/lease-exec.ts [runs]. Prints a JSON line last.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  bookLease,
  execInLease,
  type LeaseContext,
  openLeaseContext,
  releaseLease,
} from '../src/lease/index.js';
import { cluster } from '../test/helpers/cluster.js';
import { clusterProjectYaml, sandbox } from '../test/helpers/sandbox.js';
import { median, percentile, round } from './stats.js';

const runs = Number(process.argv[2] ?? 100);
const cliRuns = Math.min(runs, 20);
const c = cluster();
const sb = sandbox('berth-bench-lease-');
sb.writeProject(clusterProjectYaml());
const NAME = `bench-exec-${randomBytes(3).toString('hex')}`;
const BIN = join(import.meta.dirname, '..', 'bin', 'berth.js');

function ssh(args: string[], command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('ssh', ['-F', c.sshConfig, ...args, c.sshAlias, command], {
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`ssh exited ${code}`)),
    );
  });
}

/** `n` bare sruns timed on the login node itself (ms each). */
function bareSrun(jobId: string, n: number): number[] {
  const loop = `for i in $(seq ${n}); do s=$EPOCHREALTIME; srun --jobid=${jobId} --overlap true || exit 1; e=$EPOCHREALTIME; echo "$s $e"; done`;
  const r = spawnSync('ssh', ['-F', c.sshConfig, c.sshAlias, loop], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bare srun failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [s, e] = l.split(' ').map(Number) as [number, number];
      return (e - s) * 1000;
    });
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

function cli(): number {
  const t0 = performance.now();
  // -n: stdin is not passed (what a terminal gets too), so the fast path is measured.
  const r = spawnSync(process.execPath, [BIN, 'lease', 'exec', NAME, '-n', '--', 'true'], {
    cwd: sb.cwd,
    env: sb.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`berth lease exec exited ${r.status}: ${r.stderr}`);
  return performance.now() - t0;
}

const stat = (xs: number[]) => ({ median: round(median(xs)), p90: round(percentile(xs, 90)) });

let ctx: LeaseContext | undefined;
let plain: LeaseContext | undefined;
try {
  ctx = await openLeaseContext({ cwd: sb.cwd, env: sb.env, persistentShell: true });
  plain = await openLeaseContext({ cwd: sb.cwd, env: sb.env, persistentShell: false });
  const booked = await bookLease(ctx, {
    name: NAME,
    host: 'cluster',
    resources: { cpus: 1, time: '20' },
    timeoutS: 900,
  });
  if (!booked.wait?.running)
    throw new Error(`the lease did not start: ${booked.wait?.last.detail}`);
  const jobId = booked.lease.jobId!;
  const srunCmd = `bash -lc 'srun --jobid=${jobId} --overlap true'`;
  const fresh = ['-o', 'ControlMaster=no', '-o', 'ControlPath=none'];
  const ok = async (r: Promise<{ exitCode: number }>) => {
    if ((await r).exitCode !== 0) throw new Error('lease exec failed');
  };
  const cases: Record<string, () => Promise<number>> = {
    lease: () => timed(() => ok(execInLease(ctx!, NAME, ['true']))),
    leaseNoShell: () => timed(() => ok(execInLease(plain!, NAME, ['true']))),
    freshSsh: () => ssh(fresh, srunCmd),
  };
  for (let i = 0; i < 5; i++) for (const f of Object.values(cases)) await f();
  bareSrun(jobId, 5);
  const samples: Record<string, number[]> = { lease: [], leaseNoShell: [], freshSsh: [], bare: [] };
  const batch = 10;
  for (let i = 0; i < runs; i += batch) {
    for (let k = 0; k < batch; k++) {
      for (const [name, f] of Object.entries(cases)) samples[name]!.push(await f());
    }
    samples.bare!.push(...bareSrun(jobId, batch));
  }
  const cliSamples: number[] = [];
  for (let i = 0; i < cliRuns; i++) cliSamples.push(cli());
  const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stat(v)]));
  const cliStat = stat(cliSamples);
  const rows: Array<[string, { median: number; p90: number }]> = [
    ['lease exec -- true (library, persistent login shell)', s.lease!],
    ['lease exec -- true (library, master only)', s.leaseNoShell!],
    ['bare srun --jobid --overlap true on the login node', s.bare!],
    ["fresh ssh host bash -lc 'srun … true'", s.freshSsh!],
    [`berth lease exec -n CLI, new process per call (${cliRuns} runs)`, cliStat],
  ];
  for (const [k, v] of rows) {
    console.log(
      `${k.padEnd(62)} median ${String(v.median).padStart(7)} ms   p90 ${String(v.p90).padStart(7)} ms`,
    );
  }
  const leaseVsBare = round(s.lease!.median / s.bare!.median, 2);
  const freshVsLease = round(s.freshSsh!.median / s.lease!.median, 1);
  console.log(
    `lease exec / bare srun = ${leaseVsBare}x (goal ≤ 1.5); fresh ssh / lease exec = ${freshVsLease}x (goal ≥ 5)`,
  );
  console.log(
    JSON.stringify({
      bench: 'lease-exec',
      runs,
      leaseExecMs: s.lease!.median,
      leaseExecP90Ms: s.lease!.p90,
      leaseExecNoShellMs: s.leaseNoShell!.median,
      bareSrunMs: s.bare!.median,
      bareSrunP90Ms: s.bare!.p90,
      freshSshMs: s.freshSsh!.median,
      freshSshP90Ms: s.freshSsh!.p90,
      cliMs: cliStat.median,
      cliRuns,
      leaseVsBare,
      freshVsLease,
      leaseGoalMet: leaseVsBare <= 1.5,
      freshGoalMet: freshVsLease >= 5,
    }),
  );
} finally {
  if (ctx) await releaseLease(ctx, NAME, { missingOk: true }).catch(() => {});
  await plain?.close();
  await ctx?.close();
  sb.cleanup();
}
