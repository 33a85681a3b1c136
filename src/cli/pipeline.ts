import type { Command } from '@commander-js/extra-typings';
import { EXIT, UsageError } from '../core/errors.js';
import type {
  CancelResult,
  ExecuteResult,
  RunContext,
  RunStatus,
  SlurmTarget,
} from '../pipeline/index.js';
import type { Runner } from '../transport/runner.js';
import { act, type CliContext } from './context.js';
import { emit } from './output.js';
import { renderTable } from './table.js';

interface CommonFlags {
  host?: string;
  root?: string;
  concurrency?: string;
  wait?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * The run root, the host's runner and the executor, from flags and configuration: a host
 * with `ssh:` keeps its runs under `<host root>/pipelines/` there (its spec directory is
 * staged with rsync); a host whose scheduler is slurm (or auto and sbatch found, over
 * ssh) runs units as SLURM arrays; anything else runs the local process pool.
 */
async function withRuns<T>(
  ctx: CliContext,
  o: CommonFlags,
  quiet: boolean,
  fn: (rc: RunContext, host: HostInfo) => Promise<T>,
): Promise<T> {
  const { loadConfig, getHost } = await import('../config/index.js');
  const { runnerFor } = await import('../host/connect.js');
  const { join, resolve } = await import('node:path');
  const config = loadConfig({ cwd: ctx.cwd, env: ctx.env });
  const host = o.host ?? 'local';
  const profile = getHost(config, host);
  let concurrency: number | undefined;
  if (o.concurrency !== undefined) {
    concurrency = Number(o.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new UsageError(`--concurrency ${o.concurrency}: expected a whole number from 1`);
    }
  }
  const { runner } = runnerFor(config, host);
  try {
    const remote = runner.kind === 'ssh';
    const kind =
      profile.scheduler === 'auto'
        ? remote
          ? await (await import('../scheduler/index.js')).detectScheduler(runner)
          : 'none'
        : profile.scheduler;
    const hostRoot = profile.root ?? (remote ? '~/berth' : config.stateDir);
    let root: string;
    if (remote)
      root = await absoluteOnHost(runner, o.root ?? `${hostRoot.replace(/\/+$/, '')}/pipelines`);
    else if (o.root) root = resolve(ctx.cwd, o.root);
    else if (ctx.env.BERTH_PIPELINE_ROOT) root = resolve(ctx.cwd, ctx.env.BERTH_PIPELINE_ROOT);
    else root = join(config.stateDir, 'pipelines');
    let slurm: SlurmTarget | undefined;
    if (kind === 'slurm') {
      const { SlurmScheduler } = await import('../scheduler/slurm/scheduler.js');
      slurm = {
        scheduler: new SlurmScheduler(runner, { root: hostRoot }),
        defaults: profile.slurm,
        poll: profile.poll,
      };
    }
    const stage = remote
      ? async (local: string, remoteDir: string) => {
          const { syncPush } = await import('../sync/index.js');
          // By checksum: an edit of the same size in the same second as the staged copy
          // must still reach the host (a resume has to run the code the user has now).
          return syncPush(config, { host, local, remote: remoteDir, cwd: ctx.cwd, checksum: true });
        }
      : undefined;
    return await fn(
      {
        root,
        runner,
        ...(concurrency ? { concurrency } : {}),
        ...(slurm ? { slurm } : {}),
        ...(stage ? { stage } : {}),
        wait: o.wait !== false,
        ...(quiet
          ? {}
          : {
              onTask: (e) => {
                if (e.exitCode !== 0)
                  ctx.io.err(`${e.unit} task ${e.task} failed (exit ${e.exitCode})`);
              },
              onProgress: (p) => {
                const counts = Object.entries(p.tasks ?? {})
                  .map(([k, n]) => `${k} ${n}`)
                  .join(', ');
                ctx.io.err(
                  `${p.unit} (job ${p.jobId}): ${p.state.kind}${counts ? ` (${counts})` : ''}`,
                );
              },
            }),
      },
      { name: host, config, remote },
    );
  } finally {
    await runner.close();
  }
}

interface HostInfo {
  name: string;
  config: import('../config/index.js').ResolvedConfig;
  remote: boolean;
}

/** A path on the host with a leading `~` expanded there (one round trip). */
async function absoluteOnHost(runner: Runner, path: string): Promise<string> {
  const { checkRoot } = await import('../scheduler/slurm/submit-script.js');
  const { expandHome } = await import('../scheduler/home.js');
  checkRoot(path, 'pipeline root');
  return expandHome(runner, path, { hint: 'set an absolute hosts.<name>.root, or give --root' });
}

function withCommon<T extends AnyCommand>(cmd: T): T {
  return cmd
    .option('--host <name>', 'host to run on (default local; a SLURM host runs arrays)')
    .option(
      '--root <dir>',
      'directory of pipeline runs (default: BERTH_PIPELINE_ROOT or <stateDir>/pipelines)',
    )
    .option('--concurrency <n>', 'tasks at once (default: the spec’s concurrency, 4)') as T;
}

function renderExecute(r: ExecuteResult): string {
  const lines: string[] = [];
  for (const msg of r.plan.invalidated) lines.push(`note: ${msg}`);
  const rows = r.plan.units.map((u) => [
    u.key,
    String(u.total),
    String(u.total - u.run.length),
    u.run.length === 0 ? '-' : u.arraySpec,
  ]);
  lines.push(renderTable(['UNIT', 'TASKS', 'DONE', 'TO RUN'], rows));
  lines.push(
    `${r.plan.tasksToRun} task(s) to run, ${r.plan.tasksDone} done; run directory ${r.runDir}`,
  );
  if (r.staged) {
    lines.push(
      `staged ${r.staged.local} -> ${r.host}:${r.staged.remote} ({{specdir}}): ${r.staged.filesTransferred} file(s) copied, ${r.staged.bytesTransferred} bytes`,
    );
  }
  for (const u of r.submitted ?? []) {
    lines.push(
      `submitted ${u.unit}: job ${u.jobs.map((j) => j.jobId).join(',')} --array=${u.array}${u.after.length ? ` after ${u.after.join(',')}` : ''}`,
    );
  }
  if (r.submitted && !r.outcome) {
    lines.push(`not waiting; berth pipeline status ${r.run} --host ${r.host} shows progress`);
  }
  for (const sc of r.scripts ?? [])
    lines.push(`--- ${sc.unit} (--array=${sc.chunks.join(' | ')})`, sc.script);
  if (r.outcome) {
    const failed = r.outcome.units.flatMap((u) => u.failed.map((f) => `${u.unit}:${f.task}`));
    lines.push(
      r.outcome.ok
        ? `ran ${r.outcome.tasksRun} task(s); the run is complete`
        : `ran ${r.outcome.tasksRun} task(s); failed: ${failed.join(', ')}; not started: ${r.outcome.notStarted.join(', ') || '-'}`,
    );
    if (r.outcome.interrupted) {
      lines.push(
        `interrupted: the running tasks were terminated; berth pipeline resume ${r.run}${r.host === 'local' ? '' : ` --host ${r.host}`} runs what is left`,
      );
    }
  }
  return lines.join('\n');
}

async function explainText(r: ExecuteResult): Promise<string> {
  const { explainLines } = await import('../pipeline/index.js');
  const lines = r.plan.units.flatMap((u) => explainLines(u));
  return lines.length > 0
    ? `why:\n${lines.join('\n')}`
    : 'why: nothing to run, every marker is current';
}

function exitOf(r: ExecuteResult): number {
  if (r.outcome?.interrupted) return EXIT.interrupted;
  return r.outcome && !r.outcome.ok ? EXIT.remote : EXIT.ok;
}

/**
 * A progress bar of `width` cells: `#` done, `>` running, `!` failed, `.` the rest (pending
 * or missing); each kind with any tasks gets at least one cell, so only a complete unit is
 * all `#`.
 */
export function progressBar(
  u: Pick<RunStatus['units'][number], 'done' | 'running' | 'failed' | 'total'>,
  width = 20,
): string {
  if (u.total <= 0) return `[${'#'.repeat(width)}]`;
  const rest = Math.max(0, u.total - u.done - u.running - u.failed);
  const counts = [u.done, u.running, u.failed, rest];
  // Largest remainders: whole cells first, the cells left to the largest fractions.
  const exact = counts.map((n) => (n / u.total) * width);
  const cells = exact.map((x, i) => (counts[i]! > 0 ? Math.max(1, Math.floor(x)) : 0));
  const byFraction = [0, 1, 2, 3]
    .filter((i) => counts[i]! > 0)
    .sort((a, b) => exact[b]! - Math.floor(exact[b]!) - (exact[a]! - Math.floor(exact[a]!)));
  let sum = cells.reduce((a, b) => a + b, 0);
  for (let k = 0; sum < width; k++, sum++) cells[byFraction[k % byFraction.length]!]! += 1;
  for (; sum > width; sum--) cells[cells.indexOf(Math.max(...cells))]! -= 1;
  return `[${['#', '>', '!', '.'].map((c, i) => c.repeat(cells[i]!)).join('')}]`;
}

export function renderStatus(s: RunStatus): string {
  const slurm = s.units.some((u) => u.slurm !== undefined);
  const rows = s.units.map((u) => [
    u.unit,
    progressBar(u),
    `${u.done}/${u.total}`,
    String(u.running),
    String(u.failed),
    String(u.pending),
    u.interrupted > 0 ? `${u.missing} (${u.interrupted} interrupted)` : String(u.missing),
    ...(slurm ? [u.slurm ? `${u.slurm} ${u.jobIds.join(',')}` : '-'] : []),
  ]);
  const heads = ['UNIT', 'PROGRESS', 'DONE', 'RUNNING', 'FAILED', 'PENDING', 'MISSING'];
  const head = s.invalidated.map((m) => `note: ${m}`);
  const running = s.units.reduce((n, u) => n + u.running + u.pending, 0);
  const host = s.host === 'local' ? '' : ` --host ${s.host}`;
  let last: string;
  if (s.complete) last = `${s.run}: complete`;
  else if (running > 0) last = `${s.run}: running (${running} task(s) running or pending)`;
  else last = `${s.run}: incomplete; berth pipeline resume ${s.run}${host}`;
  return [...head, renderTable(slurm ? [...heads, 'SLURM JOB'] : heads, rows), last].join('\n');
}

/** Every flag a pipeline subcommand may have (each has the common ones and some others). */
interface Flags extends CommonFlags {
  set?: string[];
  name?: string;
  dryRun?: boolean;
  explain?: boolean;
  fromStep?: string;
  to?: string;
  /** resume/restart: false with --no-push. */
  push?: boolean;
}

/** How a subcommand prints its value: text (with --json the value itself) and exit code. */
interface Output<V> {
  /** Print task failures and SLURM progress on stderr (never with --json). */
  progress?: boolean;
  /**
   * Runs tasks: on the process pool, SIGINT or SIGTERM terminates them (each runs in its
   * own process group, which a Ctrl-C of berth alone would leave running).
   */
  runsTasks?: boolean;
  render: (v: V, o: Flags) => string | Promise<string>;
  exit?: (v: V) => number;
}

/**
 * The action of a subcommand: the run context from the common flags (withRuns), `go` with
 * the command's argument ('' for none), then the value printed as `out` says.
 */
function action<V>(
  ctx: CliContext,
  out: Output<V>,
  go: (rc: RunContext, arg: string, o: Flags, host: HostInfo) => Promise<V>,
): (...args: unknown[]) => Promise<void> {
  return act(ctx, async (flags, ...args: unknown[]) => {
    const o = args.at(-2) as Flags;
    const arg = typeof args[0] === 'string' ? args[0] : '';
    const quiet = out.progress !== true || flags.json === true;
    const v = await withRuns(ctx, o, quiet, (rc, host) =>
      out.runsTasks && !rc.slurm
        ? stoppable(ctx, (signal) => go({ ...rc, signal }, arg, o, host))
        : go(rc, arg, o, host),
    );
    const text = flags.json ? '' : await out.render(v, o);
    emit(ctx.io, flags, v, () => text);
    return out.exit?.(v) ?? 0;
  });
}

/**
 * `fn` with a signal that SIGINT or SIGTERM aborts (once; the handlers are removed after),
 * so the pool terminates its tasks and the run ends with the outcome `interrupted`.
 */
async function stoppable<T>(ctx: CliContext, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const stop = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) return;
    ctx.io.err(`${sig}: terminating the running tasks; berth pipeline resume runs what is left`);
    ac.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** run, resume, restart (plan: without progress and runsTasks): the plan and what ran. */
const planned: Output<ExecuteResult> = {
  progress: true,
  runsTasks: true,
  render: async (v, o) =>
    [renderExecute(v), o.explain ? await explainText(v) : ''].filter(Boolean).join('\n'),
  exit: exitOf,
};

// biome-ignore lint/suspicious/noExplicitAny: any command, whatever its arguments and options
type AnyCommand = Command<any, any>;

function withSet<T extends AnyCommand>(cmd: T, help: string): T {
  return cmd.option('--set <key=value>', help, collect, [] as string[]) as T;
}

function withExecute<T extends AnyCommand>(cmd: T, explain: string): T {
  return cmd
    .option('--dry-run', 'print the plan (and the sbatch scripts on SLURM), run nothing')
    .option('--no-wait', 'SLURM: return once the jobs are submitted')
    .option('--explain', explain) as T;
}

/** resume and restart: --no-push keeps the spec directory already staged on the host. */
function withPush<T extends AnyCommand>(cmd: T): T {
  return cmd.option(
    '--no-push',
    "a remote host: keep the staged copy of the spec's directory (default: copy it again first)",
  ) as T;
}

const SET_HELP = 'override a param (dotted key; repeatable)';
const NAME_HELP = 'run name (default: the spec’s name)';

export async function register(program: Command, ctx: CliContext): Promise<void> {
  const pipeline = program
    .command('pipeline')
    .description('staged array pipelines from YAML specs that resume exactly where they stopped');
  const lib = () => import('../pipeline/index.js');
  const sub = (name: string, description: string, arg?: [string, string]): AnyCommand => {
    const cmd = pipeline.command(name).description(description);
    return arg ? cmd.argument(arg[0], arg[1]) : cmd;
  };
  const SPEC: [string, string] = ['<spec>', 'pipeline spec file (YAML)'];
  const RUN: [string, string] = ['<run>', 'run name'];

  withCommon(
    withExecute(
      withSet(sub('run', 'start a run of a pipeline spec', SPEC), SET_HELP).option(
        '--name <run>',
        NAME_HELP,
      ),
      'with the plan, say why each task runs',
    ),
  ).action(
    action(ctx, planned, async (rc, spec, o) =>
      (await lib()).startRun(rc, spec, {
        sets: o.set ?? [],
        ...(o.name ? { name: o.name } : {}),
        dryRun: o.dryRun === true,
      }),
    ),
  );

  withCommon(
    withSet(
      sub('plan', 'what a run of the spec would run now, against the markers of its run', SPEC),
      SET_HELP,
    )
      .option('--name <run>', NAME_HELP)
      .option('--from-step <k>', 'plan a restart from step K')
      .option('--explain', 'say why each task runs'),
  ).action(
    action(
      ctx,
      { ...planned, progress: false, runsTasks: false, exit: () => 0 },
      async (rc, spec, o) => {
        const fromStep = await stepFlag(o.fromStep);
        return (await lib()).planSpec(rc, spec, {
          sets: o.set ?? [],
          ...(o.name ? { name: o.name } : {}),
          ...(fromStep === undefined ? {} : { fromStep }),
        });
      },
    ),
  );

  withCommon(
    withPush(
      withExecute(
        withSet(
          sub(
            'resume',
            'run the tasks of a run whose markers are missing, failed or out of date',
            RUN,
          ),
          'change a param for this and later resumes (repeatable)',
        ),
        'say why each task runs',
      ),
    ),
  ).action(
    action(ctx, planned, async (rc, name, o) =>
      (await lib()).resumeRun(rc, name, {
        sets: o.set ?? [],
        dryRun: o.dryRun === true,
        push: o.push !== false,
      }),
    ),
  );

  withCommon(
    withPush(
      withExecute(
        sub(
          'restart',
          'run steps K and later again (and what depends on them)',
          RUN,
        ).requiredOption('--from-step <k>', 'first step to run again (steps count from 1)'),
        'say why each task runs',
      ),
    ),
  ).action(
    action(ctx, planned, async (rc, name, o) => {
      const fromStep = await stepFlag(o.fromStep);
      return (await lib()).resumeRun(rc, name, {
        ...(fromStep === undefined ? {} : { fromStep }),
        dryRun: o.dryRun === true,
        push: o.push !== false,
      });
    }),
  );

  withCommon(
    sub('status', 'per stage and step: done, running, failed and missing tasks', RUN),
  ).action(
    action(ctx, { render: renderStatus }, async (rc, name) => (await lib()).runStatus(rc, name)),
  );

  withCommon(
    sub('cancel', 'scancel every queued or running SLURM job of a run (again: nothing to do)', RUN),
  ).action(
    action(
      ctx,
      {
        render: (v: CancelResult) =>
          v.cancelled.length === 0
            ? `${v.run}: no job queued or running (${v.jobIds.length} submitted in all)`
            : `${v.run}: cancelled ${v.cancelled.join(', ')}`,
      },
      async (rc, name) => (await lib()).cancelRun(rc, name),
    ),
  );

  withCommon(
    sub('push', "stage a spec's directory (code and config) to the run directory on a host", [
      '<spec-or-run>',
      'a pipeline spec file, or the name of a run on the host',
    ])
      .option('--name <run>', 'run name for a spec (default: the spec’s name)')
      .option('--dry-run', 'show what rsync would copy'),
  ).action(
    action(ctx, { render: renderSync }, (rc, what, o, host) =>
      pushRun(ctx, rc, host, what, {
        ...(o.name ? { name: o.name } : {}),
        dryRun: o.dryRun === true,
      }),
    ),
  );

  withCommon(
    sub('pull', 'bring a run directory (outputs, markers, logs) back from a host', RUN)
      .option('--to <dir>', 'local directory (default: ./<run>)')
      .option('--dry-run', 'show what rsync would copy'),
  ).action(
    action(ctx, { render: renderSync }, (rc, name, o, host) =>
      pullRun(ctx, rc, host, name, { ...(o.to ? { to: o.to } : {}), dryRun: o.dryRun === true }),
    ),
  );

  withCommon(sub('list', 'the pipeline runs under the run root')).action(
    action(
      ctx,
      {
        render: (v: Awaited<ReturnType<typeof import('../pipeline/index.js').listRuns>>) =>
          v.length === 0
            ? 'no pipeline runs'
            : renderTable(
                ['RUN', 'CREATED', 'HOST', 'SPEC'],
                v.map((r) => [r.name, r.created, r.host, r.specFile]),
              ),
      },
      async (rc) => (await lib()).listRuns(rc),
    ),
  );
}

async function stepFlag(value: string | undefined): Promise<number | undefined> {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) {
    throw new UsageError(`--from-step ${value}: expected a step number from 1`);
  }
  return n;
}

/** What push/pull print: the sync's result, narrowed, with the run it served. */
type SyncView = Pick<
  import('../sync/index.js').SyncResult,
  | 'direction'
  | 'host'
  | 'local'
  | 'remote'
  | 'dryRun'
  | 'filesTransferred'
  | 'bytesTransferred'
  | 'durationMs'
> & { run: string; runDir: string; changes: Array<{ path: string; action: string }> };

function renderSync(v: SyncView): string {
  const verb = v.dryRun ? 'would copy' : 'copied';
  const where =
    v.direction === 'push'
      ? `${v.local} -> ${v.host}:${v.remote}`
      : `${v.host}:${v.remote} -> ${v.local}`;
  return `${v.run}: ${verb} ${v.filesTransferred} file(s), ${v.bytesTransferred} bytes, ${where}`;
}

async function needRemote(host: HostInfo, what: string): Promise<void> {
  if (host.remote) return;
  throw new UsageError(`pipeline ${what} --host ${host.name}: the host is this machine`, {
    hint: 'push and pull copy to and from a host with ssh:; give --host of one',
  });
}

function syncView(run: string, runDir: string, r: import('../sync/index.js').SyncResult): SyncView {
  return {
    run,
    runDir,
    direction: r.direction,
    host: r.host,
    local: r.local,
    remote: r.remote,
    dryRun: r.dryRun,
    filesTransferred: r.filesTransferred,
    bytesTransferred: r.bytesTransferred,
    durationMs: r.durationMs,
    changes: r.changes.map((c) => ({ path: c.path, action: c.action })),
  };
}

/** `pipeline push SPEC|RUN`: the spec's directory to `<run dir>/spec/` on the host. */
async function pushRun(
  ctx: CliContext,
  rc: RunContext,
  host: HostInfo,
  what: string,
  opts: { name?: string; dryRun: boolean },
): Promise<SyncView> {
  await needRemote(host, 'push');
  const { existsSync, statSync } = await import('node:fs');
  const { dirname, resolve, posix } = await import('node:path');
  const { loadPipelineSpec, runDirOf } = await import('../pipeline/index.js');
  const { syncPush } = await import('../sync/index.js');
  const file = resolve(ctx.cwd, what);
  let name: string;
  let local: string;
  if (existsSync(file) && statSync(file).isFile()) {
    const spec = loadPipelineSpec(file);
    name = opts.name ?? spec.name;
    local = dirname(file);
  } else {
    const { readRecord } = await import('../pipeline/runs.js');
    const record = await readRecord(rc, what);
    name = record.name;
    local = dirname(record.specFile);
  }
  const runDir = runDirOf(rc.root, name);
  const r = await syncPush(host.config, {
    host: host.name,
    local,
    remote: posix.join(runDir, 'spec'),
    cwd: ctx.cwd,
    dryRun: opts.dryRun,
    checksum: true,
  });
  return syncView(name, runDir, r);
}

/** `pipeline pull RUN`: the run directory on the host to `--to` (default ./<run>). */
async function pullRun(
  ctx: CliContext,
  rc: RunContext,
  host: HostInfo,
  name: string,
  opts: { to?: string; dryRun: boolean },
): Promise<SyncView> {
  await needRemote(host, 'pull');
  const { resolve } = await import('node:path');
  const { runDirOf } = await import('../pipeline/index.js');
  const { readRecord } = await import('../pipeline/runs.js');
  const { syncPull } = await import('../sync/index.js');
  await readRecord(rc, name);
  const runDir = runDirOf(rc.root, name);
  const r = await syncPull(host.config, {
    host: host.name,
    local: resolve(ctx.cwd, opts.to ?? name),
    remote: runDir,
    cwd: ctx.cwd,
    dryRun: opts.dryRun,
  });
  return syncView(name, runDir, r);
}
