/**
 * watch-cost: what one host's status watcher costs the scheduler. 1,000 held jobs are
 * submitted to the test cluster (one ssh round trip running an sbatch loop) and each is
 * tracked by ONE HostWatcher the moment its id comes back, so 1,000 tracks arrive within
 * ~10 s, each asking for a fast first query. Then the queue is watched while nothing
 * changes. Every command the SlurmScheduler sends is counted by a wrapped runner.
 *
 * It shows: exactly one squeue per watcher tick (with all live jobs in it), never two
 * squeue calls closer than the configured site minimum (the tracks are coalesced), the
 * back-off to the ceiling, and the scheduler queries per minute. The jobs are cancelled at
 * the end. Needs the test cluster (scripts/dev-cluster up).
 *
 * Run: npx tsx bench/watch-cost.ts [--jobs=1000] [--minutes=3] [--min=5] [--submit=2]
 *        [--running=15] [--max=20] [--factor=2] [--jitter=0.1]
 * Prints a summary, then one JSON line of figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PollSettings } from '../src/config/schema.js';
import { SlurmScheduler } from '../src/scheduler/slurm/scheduler.js';
import { HostWatcher, type TickInfo } from '../src/scheduler/watcher.js';
import {
  createRunner,
  type Runner,
  type RunOptions,
  type RunResult,
} from '../src/transport/index.js';
import { cluster } from '../test/helpers/cluster.js';
import { median, round } from './stats.js';

const arg = (name: string, dflt: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.slice(name.length + 3)) : dflt;
};

const JOBS = arg('jobs', 1000);
const MINUTES = arg('minutes', 3);
const poll: PollSettings = {
  minIntervalS: arg('min', 5),
  submitIntervalS: arg('submit', 2),
  runningIntervalS: arg('running', 15),
  maxIntervalS: arg('max', 20),
  backoffFactor: arg('factor', 2),
  jitter: arg('jitter', 0.1),
};
const NAME = `berth-watch-cost-${process.pid}`;

interface Command {
  what: string;
  at: number;
  ms: number;
}

/** A Runner that records every command it runs (what, when, how long). */
function counting(inner: Runner, log: Command[]): Runner {
  const record = async (what: string, p: Promise<RunResult>): Promise<RunResult> => {
    const at = Date.now();
    try {
      return await p;
    } finally {
      log.push({ what, at, ms: Date.now() - at });
    }
  };
  return {
    host: inner.host,
    kind: inner.kind,
    run: (argv: readonly string[], opts?: RunOptions) =>
      record(argv[0] ?? '?', inner.run(argv, opts)),
    sh: (script: string, opts?: RunOptions) => record('sh', inner.sh(script, opts)),
    close: (opts) => inner.close(opts),
  };
}

const c = cluster();
const stateDir = mkdtempSync(join(tmpdir(), 'berth-watch-cost-'));
const ssh = createRunner(
  { name: 'berth-test', ssh: c.sshAlias, sshConfig: c.sshConfig },
  { stateDir },
);
const commands: Command[] = [];
const scheduler = new SlurmScheduler(counting(ssh, commands), { timeoutMs: 60_000 });
const observeCalls: Array<{ at: number; jobs: number }> = [];
const watcher = new HostWatcher({
  host: 'berth-test',
  poll,
  observe: (ids, hints) => {
    observeCalls.push({ at: Date.now(), jobs: ids.length });
    return scheduler.observe(ids, hints);
  },
});
const ticks: Array<TickInfo & { plannedMs: number }> = [];
watcher.onTick((t) => {
  // the interval the watcher chose after the previous query, i.e. the one that led here
  ticks.push({ ...t, plannedMs: watcher.snapshot().intervalMs });
});

const ids: string[] = [];
const t0 = Date.now();
try {
  watcher.start();
  // ---- submit and track 1,000 held jobs, each tracked as soon as its id arrives ----
  const loop = [
    `for i in $(seq ${JOBS}); do`,
    `  sbatch --parsable --hold --job-name=${NAME} --output=/dev/null --wrap=true || echo SBATCH-FAILED`,
    'done',
  ].join('\n');
  const submitted = await ssh.sh(loop, {
    timeoutMs: 600_000,
    onStdoutLine: (line) => {
      const id = line.trim().split(';')[0]!;
      if (!/^\d+$/.test(id)) return;
      ids.push(id);
      watcher.track(id, { submittedAt: Date.now() });
    },
  });
  const submitS = (Date.now() - t0) / 1000;
  if (submitted.exitCode !== 0 || ids.length !== JOBS) {
    throw new Error(`submitted ${ids.length}/${JOBS} jobs: ${submitted.stderr.slice(0, 500)}`);
  }
  console.log(`submitted and tracked ${ids.length} held jobs in ${round(submitS)} s`);

  // ---- watch while nothing changes ----
  const steadyFrom = Date.now();
  await new Promise((r) => setTimeout(r, MINUTES * 60_000));
  await watcher.stop();
  const endedAt = Date.now();

  const squeue = commands.filter((x) => x.what === 'squeue');
  const gapsMs = squeue.slice(1).map((x, i) => x.at - squeue[i]!.at);
  const byKind = Object.fromEntries(
    [...new Set(commands.map((x) => x.what))].map((w) => [
      w,
      commands.filter((x) => x.what === w).length,
    ]),
  );
  // squeue calls in each full minute since the first submit (a partial last minute is left out)
  const minutes = (endedAt - t0) / 60_000;
  const perMinute = Array.from(
    { length: Math.floor(minutes) },
    (_, m) => squeue.filter((q) => q.at - t0 >= m * 60_000 && q.at - t0 < (m + 1) * 60_000).length,
  );
  const submitPhase = squeue.filter((q) => q.at < steadyFrom);
  const steady = squeue.filter((q) => q.at >= steadyFrom);
  // a steady-phase gap is "one interval" when it lies within the planned interval ± jitter
  const inInterval = ticks.slice(1).filter((t, i) => {
    if (t.startedAt < steadyFrom) return true;
    const gap = t.startedAt - ticks[i]!.startedAt;
    const lo = Math.max(poll.minIntervalS * 1000, t.plannedMs * (1 - poll.jitter)) - 50;
    const hi =
      Math.max(
        t.plannedMs * (1 + poll.jitter),
        t.plannedMs + ticks[i]!.endedAt - ticks[i]!.startedAt,
      ) + 250;
    return gap >= lo && gap <= hi;
  }).length;
  const figures = {
    bench: 'watch-cost',
    jobs: ids.length,
    poll,
    submitS: round(submitS),
    watchedMin: round(minutes, 2),
    squeue: squeue.length,
    observeCalls: observeCalls.length,
    ticks: ticks.length,
    jobsPerObserve: {
      min: Math.min(...observeCalls.map((o) => o.jobs)),
      max: Math.max(...observeCalls.map((o) => o.jobs)),
    },
    commands: byKind,
    squeuePerMinute: perMinute,
    squeuePerMinuteAvg: round(squeue.length / minutes, 2),
    submitPhaseSqueue: submitPhase.length,
    submitPhaseTracks: ids.length,
    steadySqueuePerMinute: round(steady.length / ((endedAt - steadyFrom) / 60_000), 2),
    minGapS: round(Math.min(...gapsMs) / 1000, 2),
    medianGapS: round(median(gapsMs) / 1000, 2),
    maxGapS: round(Math.max(...gapsMs) / 1000, 2),
    gapsS: gapsMs.map((g) => round(g / 1000, 1)),
    gapsWithinPlannedInterval: `${inInterval}/${Math.max(0, ticks.length - 1)}`,
    neverBelowMinimum: gapsMs.every((g) => g >= poll.minIntervalS * 1000),
    oneSqueuePerTick: squeue.length === ticks.length && observeCalls.length === ticks.length,
    squeueMedianMs: Math.round(median(squeue.map((q) => q.ms))),
    failedQueries: watcher.snapshot().failedQueries,
    states: Object.fromEntries(
      [...new Set(watcher.snapshot().jobs.map((j) => j.state.kind))].map((k) => [
        k,
        watcher.snapshot().jobs.filter((j) => j.state.kind === k).length,
      ]),
    ),
  };
  console.log(
    `${squeue.length} squeue calls in ${round(minutes, 2)} min for ${ids.length} jobs ` +
      `(${figures.squeuePerMinuteAvg}/min; per minute: ${perMinute.join(', ')}); ` +
      `during the ${ids.length} tracks: ${submitPhase.length} squeue in ${round(submitS)} s`,
  );
  console.log(
    `gaps between squeue calls: min ${figures.minGapS} s (site minimum ${poll.minIntervalS} s), ` +
      `median ${figures.medianGapS} s, max ${figures.maxGapS} s; one squeue per tick: ${figures.oneSqueuePerTick}; ` +
      `squeue for ${ids.length} jobs takes ${figures.squeueMedianMs} ms (median)`,
  );
  console.log(JSON.stringify(figures));
} finally {
  await watcher.stop();
  for (let i = 0; i < ids.length; i += 500) {
    await ssh.run(['scancel', ...ids.slice(i, i + 500)], { timeoutMs: 120_000 });
  }
  await ssh.run(['scancel', `--name=${NAME}`], { timeoutMs: 60_000 });
  await ssh.close({ master: true });
  rmSync(stateDir, { recursive: true, force: true });
}
