import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../core/errors.js';
import type { JobView } from '../dispatch/jobs.js';
import { act, type CliContext } from './context.js';
import { type ListFlags, stateText } from './job-list.js';
import { emit } from './output.js';
import { renderTable } from './table.js';

const collect = (value: string, previous: string[]) => [...previous, value];

const SUBMIT_HELP = `
A local script file is submitted as the batch script; a command goes after --:
  berth job submit --host cluster --time 10m train.sh
  berth job submit --host cluster --cpus 4 --array 0-99%10 -- python task.py
Resource flags override the host's defaults (hosts.<name>.slurm in berth.yaml).
See docs/dispatch.md and docs/job-spec.md.`;

/** Commander options shared by submit and run (also `berth submit`). */
export interface SpecFlags {
  host?: string;
  name?: string;
  cpus?: string;
  mem?: string;
  time?: string;
  gpus?: string;
  nodes?: string;
  ntasks?: string;
  partition?: string;
  account?: string;
  qos?: string;
  nodelist?: string;
  constraint?: string;
  env: string[];
  workdir?: string;
  sbatchArg: string[];
}

export function specOptions<C extends Command<unknown[], Record<string, unknown>>>(cmd: C): C {
  return cmd
    .option('--host <name>', 'host to run on (default: defaultHost)')
    .option('--name <name>', 'job name (letters, digits, . _ -)')
    .option('--cpus <n>', 'CPUs per task')
    .option('--mem <size>', 'memory per node: 4G, 512M')
    .option('--time <duration>', 'walltime: 30 (minutes), 2h, 1:30:00, 1d12h')
    .option('--gpus <n>', 'GPUs: a count or type:count')
    .option('--nodes <n>', 'nodes: a count or min-max')
    .option('--ntasks <n>', 'tasks')
    .option('--partition <name>', 'partition')
    .option('--account <name>', 'account to charge')
    .option('--qos <name>', 'quality of service')
    .option('--nodelist <nodes>', 'nodes to use, e.g. n[1-3]')
    .option('--constraint <features>', 'node features')
    .option('--env <NAME=value>', 'set a variable in the job (repeatable)', collect, [])
    .option('--workdir <dir>', 'working directory on the host')
    .option(
      '--sbatch-arg <arg>',
      'another sbatch option, --opt or --opt=value (repeatable)',
      collect,
      [],
    ) as unknown as C;
}

/** Commander options of submissions besides the spec's (also `berth submit`). */
export function submitOptions<C extends Command<unknown[], Record<string, unknown>>>(cmd: C): C {
  return cmd
    .option('--array <spec>', 'array tasks: 0-99, 1,3,5-7, 0-999%50')
    .option('--after-ok <id>', 'start after this job succeeded (repeatable)', collect, [])
    .option('--after-any <id>', 'start after this job ended (repeatable)', collect, [])
    .option('--after-not-ok <id>', 'start after this job failed (repeatable)', collect, [])
    .option('--signal <[B:]NAME@S>', 'send NAME S seconds before the time limit, e.g. B:USR1@60')
    .option('--requeue', 'let SLURM requeue the job after a node failure or preemption')
    .option('--no-requeue', 'never requeue') as unknown as C;
}

export async function register(program: Command, ctx: CliContext): Promise<void> {
  const job = program
    .command('job')
    .description(
      'one-shot jobs on a host: submit, run, status, wait, logs, cancel, list, show, fetch',
    );

  submitOptions(
    specOptions(
      job
        .command('submit')
        .description(
          'submit a batch script or a command (sbatch, or a detached process without a scheduler)',
        )
        .usage('[options] [SCRIPT | -- CMD...]')
        .argument('[script-or-command...]', 'a local script file, or the command after --'),
    ),
  )
    .option('--dry-run', 'print the script and the submit command; submit nothing')
    .addHelpText('after', SUBMIT_HELP)
    .action(
      act(ctx, async (flags, operands, options, cmd) => {
        const opts = options as unknown as SpecFlags & SubmitFlags;
        const d = await session(ctx, opts.host);
        try {
          const layer = await specLayer(ctx, opts, operands, usedDashDash(cmd));
          Object.assign(layer, submitExtras(opts));
          const { planJob, submitJob } = await import('../dispatch/submit.js');
          const input = { spec: layer, ...(opts.host ? { host: opts.host } : {}) };
          if (opts.dryRun) {
            emit(ctx.io, flags, await planJob(d, input), (p) =>
              [
                p.script.trimEnd(),
                '',
                ...p.submissions.map(
                  (s, i) =>
                    `# ${p.scheduler === 'slurm' ? `submit ${i + 1}/${p.submissions.length}` : 'start'}: ${s.argv.join(' ')}`,
                ),
              ].join('\n'),
            );
            return 0;
          }
          const view = await submitJob(d, input);
          emit(
            ctx.io,
            flags,
            view,
            (v) => `${v.key}${v.taskCount ? ` (${v.taskCount} tasks)` : ''}`,
          );
          return 0;
        } finally {
          await d.close();
        }
      }),
    );

  specOptions(
    job
      .command('run')
      .description(
        'run a command in the foreground (srun, or directly without a scheduler), output streamed',
      )
      .usage('[options] -- CMD...')
      .argument('<command...>', 'the command, after --'),
  ).action(
    act(ctx, async (flags, command, options) => {
      const opts = options as unknown as SpecFlags;
      const d = await session(ctx, opts.host);
      try {
        const layer = await specLayer(ctx, opts, command, true);
        const { runJob } = await import('../dispatch/run.js');
        // With --json the result object owns stdout: the command's output goes to stderr.
        const out = flags.json
          ? (t: string) => process.stderr.write(t)
          : (t: string) => process.stdout.write(t);
        const r = await runJob(d, {
          spec: layer,
          ...(opts.host ? { host: opts.host } : {}),
          io: { onStdout: out, onStderr: (t) => process.stderr.write(t) },
        });
        if (flags.json) ctx.io.out(JSON.stringify(r, null, 2));
        return r.exitCode;
      } finally {
        await d.close();
      }
    }),
  );

  job
    .command('status')
    .description('ask the scheduler now; no ids: every job berth knows that has not ended')
    .argument('[ids...]', 'job ids: 123, cluster:123, 123_7, n-…')
    .option('--host <name>', 'host of ids given without host:')
    .action(
      act(ctx, async (flags, ids, opts) => {
        const d = await session(ctx, opts.host);
        try {
          const { jobStatus } = await import('../dispatch/status.js');
          const views = await jobStatus(d, ids, opts.host ? { host: opts.host } : {});
          emit(ctx.io, flags, views, renderJobs);
          return 0;
        } finally {
          await d.close();
        }
      }),
    );

  job
    .command('wait')
    .description(
      "wait until the jobs end; exit code: 0 when all completed, else the first failure's",
    )
    .argument('<ids...>', 'job ids')
    .option('--host <name>', 'host of ids given without host:')
    .action(
      act(ctx, async (flags, ids, opts) => {
        const d = await session(ctx, opts.host);
        const abort = new AbortController();
        const onInt = () => abort.abort(new Error('interrupted'));
        process.once('SIGINT', onInt);
        const tty = process.stderr.isTTY === true && !flags.json;
        try {
          const { waitJobs } = await import('../dispatch/wait.js');
          const { describeState } = await import('../core/states.js');
          const r = await waitJobs(d, ids, {
            signal: abort.signal,
            ...(opts.host ? { host: opts.host } : {}),
            ...(tty
              ? {
                  onChange: (v: JobView) =>
                    process.stderr.write(
                      `\r\x1b[K${v.key}: ${describeState(v.state)}${tasksText(v)}`,
                    ),
                }
              : {}),
          });
          if (tty) process.stderr.write('\r\x1b[K');
          emit(ctx.io, flags, r, (x) => renderJobs(x.jobs));
          return r.exitCode;
        } catch (e) {
          if (abort.signal.aborted) return 130;
          throw e;
        } finally {
          process.off('SIGINT', onInt);
          await d.close();
        }
      }),
    );

  job
    .command('logs')
    .description("print a job's stdout (or stderr); -f follows it until the job ends")
    .argument('<id>', 'job id; for an array, one task: 123_7')
    .option('--host <name>', 'host of an id given without host:')
    .option('-f, --follow', 'keep printing new lines until the job ends')
    .option('--stderr', 'the stderr file instead of stdout')
    .option('--tail <n>', 'only the last N lines')
    .action(
      act(ctx, async (flags, id, opts) => {
        const d = await session(ctx, opts.host);
        const abort = new AbortController();
        const onInt = () => abort.abort();
        process.once('SIGINT', onInt);
        try {
          const { jobLogs } = await import('../dispatch/logs.js');
          const r = await jobLogs(d, id, {
            signal: abort.signal,
            ...(opts.host ? { host: opts.host } : {}),
            ...(opts.stderr ? { stderr: true } : {}),
            ...(opts.tail ? { tail: positiveInt('--tail', opts.tail) } : {}),
            ...(opts.follow
              ? {
                  follow: true,
                  onLine: (l: string) =>
                    flags.json ? ctx.io.out(JSON.stringify({ line: l })) : ctx.io.out(l),
                }
              : {}),
          });
          if (!opts.follow) {
            if (flags.json) ctx.io.out(JSON.stringify(r, null, 2));
            else if (r.text) process.stdout.write(r.text);
          }
          return 0;
        } finally {
          process.off('SIGINT', onInt);
          await d.close();
        }
      }),
    );

  job
    .command('cancel')
    .description('cancel a job, one array task (123_7) or one step (123.4)')
    .argument('<id>', 'job id')
    .option('--host <name>', 'host of an id given without host:')
    .option('--signal <name>', 'only send this signal (e.g. USR1)')
    .action(
      act(ctx, async (flags, id, opts) => {
        const d = await session(ctx, opts.host);
        try {
          const { cancelJob } = await import('../dispatch/cancel.js');
          const view = await cancelJob(d, id, {
            ...(opts.host ? { host: opts.host } : {}),
            ...(opts.signal ? { signal: opts.signal } : {}),
          });
          emit(ctx.io, flags, [view], renderJobs);
          return 0;
        } finally {
          await d.close();
        }
      }),
    );

  const { listCommand, listOptions, showCommand } = await import('./job-list.js');
  listOptions(
    job
      .command('list')
      .description(
        'jobs berth submitted (from the store; no host is asked): the table of `berth jobs`',
      ),
  ).action(act(ctx, (flags, opts) => listCommand(ctx, flags, opts as ListFlags, 'views')));

  job
    .command('show')
    .description("a job's timeline from the monitor's events (as `berth jobs show`)")
    .argument('<key>', 'job key: host:id (berth submit, berth run --job-key, …)')
    .action(act(ctx, (flags, key) => showCommand(ctx, flags, key)));

  job
    .command('fetch')
    .description("copy a job's files back with rsync (default: its whole job dir)")
    .argument('<id>', 'job id')
    .argument('[paths...]', "paths on the host, relative to the job's working directory")
    .option('--host <name>', 'host of an id given without host:')
    .option('--to <dir>', 'local directory (default: ./<job id>)')
    .action(
      act(ctx, async (flags, id, paths, opts) => {
        const d = await session(ctx, opts.host);
        try {
          const { fetchJob } = await import('../dispatch/fetch.js');
          const r = await fetchJob(d, id, {
            paths,
            cwd: ctx.cwd,
            ...(opts.host ? { host: opts.host } : {}),
            ...(opts.to ? { to: opts.to } : {}),
          });
          emit(
            ctx.io,
            flags,
            r,
            (x) => `fetched ${x.sources.join(' ')} from ${x.host} into ${x.to}`,
          );
          return 0;
        } finally {
          await d.close();
        }
      }),
    );
}

export async function session(ctx: CliContext, host: string | undefined) {
  const { loadConfig } = await import('../config/index.js');
  const { openDispatch } = await import('../dispatch/session.js');
  if (host !== undefined) (await import('../core/names.js')).validateName('host', host);
  const config = loadConfig({ cwd: ctx.cwd, env: ctx.env });
  return openDispatch({ config, env: ctx.env, cwd: ctx.cwd });
}

/** Whether the user wrote `--` (a command follows) rather than a script file. */
function usedDashDash(cmd: unknown): boolean {
  let c = cmd as { parent?: unknown; rawArgs?: string[] } | undefined;
  while (c?.parent) c = c.parent as typeof c;
  return c?.rawArgs?.includes('--') ?? false;
}

/** The spec layer the flags describe (checked later, with the host's defaults, by mergeSpec). */
export async function specLayer(
  ctx: CliContext,
  o: SpecFlags,
  operands: string[],
  isCommand: boolean,
): Promise<Record<string, unknown>> {
  const layer: Record<string, unknown> = {};
  if (operands.length === 0) {
    throw new UsageError('nothing to run', { hint: 'give a script file, or a command after --' });
  }
  if (isCommand) layer.command = operands;
  else if (operands.length === 1) {
    const { readFileSync } = await import('node:fs');
    const { resolve } = await import('node:path');
    try {
      layer.script = readFileSync(resolve(ctx.cwd, operands[0]!), 'utf8');
    } catch (e) {
      throw new UsageError(
        `cannot read script ${JSON.stringify(operands[0])}: ${(e as Error).message}`,
        {
          hint: 'to run a command instead, put -- before it: berth job submit -- CMD ARGS',
        },
      );
    }
  } else {
    throw new UsageError('several words but no --', {
      hint: 'put -- before a command: berth job submit --time 10 -- python train.py --lr 0.1',
    });
  }
  if (o.name !== undefined) layer.name = o.name;
  if (o.workdir !== undefined) layer.workdir = o.workdir;
  const resources: Record<string, unknown> = {};
  if (o.cpus !== undefined) resources.cpus = positiveInt('--cpus', o.cpus);
  if (o.ntasks !== undefined) resources.ntasks = positiveInt('--ntasks', o.ntasks);
  for (const key of [
    'mem',
    'time',
    'gpus',
    'nodes',
    'partition',
    'account',
    'qos',
    'nodelist',
    'constraint',
  ] as const) {
    if (o[key] !== undefined) resources[key] = o[key];
  }
  if (o.sbatchArg.length) resources.extraArgs = o.sbatchArg;
  if (Object.keys(resources).length) layer.resources = resources;
  if (o.env.length) layer.env = Object.fromEntries(o.env.map(envPair));
  return layer;
}

export interface SubmitFlags {
  array?: string;
  afterOk: string[];
  afterAny: string[];
  afterNotOk: string[];
  signal?: string;
  requeue?: boolean;
  dryRun?: boolean;
}

export function submitExtras(o: SubmitFlags): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  if (o.array !== undefined) extra.array = o.array;
  const deps: Record<string, string[]> = {};
  if (o.afterOk.length) deps.afterok = o.afterOk;
  if (o.afterAny.length) deps.afterany = o.afterAny;
  if (o.afterNotOk.length) deps.afternotok = o.afterNotOk;
  if (Object.keys(deps).length) extra.dependencies = deps;
  if (o.signal !== undefined) extra.signal = signalSpec(o.signal);
  if (o.requeue !== undefined) extra.requeue = o.requeue;
  return extra;
}

function signalSpec(text: string): Record<string, unknown> {
  const m = /^(B:)?([A-Za-z0-9]+)@(\d+)$/.exec(text);
  if (!m)
    throw usage(
      `--signal expects [B:]NAME@SECONDS, got ${JSON.stringify(text)}`,
      'for example --signal B:USR1@60',
    );
  return { name: m[2], beforeS: Number(m[3]), batchOnly: m[1] !== undefined };
}

function envPair(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw usage(
      `--env expects NAME=value, got ${JSON.stringify(text)}`,
      'for example --env OMP_NUM_THREADS=4',
    );
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function positiveInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw usage(
      `${flag} expects a whole number from 1, got ${JSON.stringify(value)}`,
      `for example ${flag} 4`,
    );
  }
  return Number(value);
}

function usage(message: string, hint: string): Error {
  return new UsageError(message, { hint });
}

function tasksText(v: JobView): string {
  if (!v.tasks) return '';
  const parts = Object.entries(v.tasks)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`);
  return ` [${parts.join(', ')}${v.taskCount ? ` of ${v.taskCount}` : ''}]`;
}

function exitText(v: JobView): string {
  const s = v.state;
  if (s.kind === 'completed') return '0';
  if (s.kind === 'failed')
    return s.signal ? `signal ${s.signal}` : s.exitCode === null ? '-' : String(s.exitCode);
  return '-';
}

export function renderJobs(views: readonly JobView[]): string {
  if (views.length === 0) return 'no jobs';
  return renderTable(
    ['JOB', 'NAME', 'STATE', 'EXIT', 'TASKS'],
    views.map((v) => [
      v.key,
      v.name ?? '-',
      stateText(v.state),
      exitText(v),
      tasksText(v).trim() || '-',
    ]),
  );
}
