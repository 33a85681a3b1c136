import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../core/errors.js';
import type { Lease, LeaseContext, TaskResult, VerifyReport } from '../lease/index.js';
import { act, type CliContext } from './context.js';
import { emit } from './output.js';
import { renderTable } from './table.js';

type Flags = Record<string, string | boolean | string[] | undefined>;

/** Resource flags shared by `book` and `adopt`, in job spec names. */
const RESOURCE_FLAGS: Array<[flag: string, key: string, about: string]> = [
  ['--cpus <n>', 'cpus', 'CPUs per task'],
  ['--mem <size>', 'mem', 'memory per node: 4G, 512M, 4000 (MB)'],
  ['--time <duration>', 'time', 'walltime: 2h, 1d12h, 1:30:00, 30 (minutes)'],
  ['--partition <name>', 'partition', 'partition'],
  ['--account <name>', 'account', 'account to charge'],
  ['--qos <name>', 'qos', 'quality of service'],
  ['--nodes <n>', 'nodes', 'node count or min-max'],
  ['--ntasks <n>', 'ntasks', 'number of tasks'],
  ['--gpus <n>', 'gpus', 'GPU count or type:count'],
  ['--nodelist <nodes>', 'nodelist', 'nodes to use'],
  ['--constraint <features>', 'constraint', 'node features'],
];

function withResources<T extends Command<unknown[], Record<string, unknown>>>(cmd: T): T {
  for (const [flag, , about] of RESOURCE_FLAGS) cmd.option(flag, about);
  cmd.option('--sbatch-arg <arg...>', 'more sbatch options, --opt or --opt=value');
  return cmd;
}

function resourcesOf(opts: Flags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [, key] of RESOURCE_FLAGS) {
    const v = opts[key];
    if (typeof v !== 'string') continue;
    out[key] = ['cpus', 'ntasks'].includes(key) && /^\d+$/.test(v) ? Number(v) : v;
  }
  if (Array.isArray(opts.sbatchArg)) out.extraArgs = opts.sbatchArg;
  return out;
}

async function withLeases<T>(ctx: CliContext, fn: (l: LeaseContext) => Promise<T>): Promise<T> {
  const { openLeaseContext } = await import('../lease/context.js');
  const leases = await openLeaseContext({ cwd: ctx.cwd, env: ctx.env, persistentShell: true });
  try {
    return await fn(leases);
  } finally {
    await leases.close();
  }
}

const stderrTty = () => process.stderr.isTTY === true;

export async function register(program: Command, ctx: CliContext): Promise<void> {
  const lease = program
    .command('lease')
    .alias('reservations')
    .description('leases: book one allocation, run many commands in it, survive walltime');

  withResources(
    lease
      .command('book')
      .description('book an allocation held by a hold script (optionally persistent, with tmux)')
      .argument('<name>', 'lease name: letters, digits, . _ -')
      .option('--host <name>', 'host to book on (default: defaultHost)')
      .option('--persistent', 'resubmit before the walltime, so the lease outlives it')
      .option('--lead <duration>', 'with --persistent: resubmit this long before walltime', '5m')
      .option('--tmux', "start a tmux server as the job's main process (for tenants, attach)")
      .option('--hold-body <file>', 'shell script to run instead of the default hold')
      .option('--wait', 'wait until the job runs (default)')
      .option('--no-wait', 'return as soon as sbatch answered')
      .option('--timeout <seconds>', 'how long --wait waits', '300')
      .option('--dry-run', 'print the hold script; submit nothing'),
  ).action(
    act(ctx, async (flags, name, options) => {
      const opts = options as unknown as Flags;
      const { parseSeconds } = await import('./args.js');
      const timeoutS = parseSeconds('--timeout', String(opts.timeout));
      let holdBody: string | undefined;
      if (typeof opts.holdBody === 'string') holdBody = await readHoldBody(opts.holdBody);
      return withLeases(ctx, async (l) => {
        const { bookLease } = await import('../lease/book.js');
        const progress = stderrTty() && !flags.json;
        const r = await bookLease(l, {
          name,
          ...(typeof opts.host === 'string' ? { host: opts.host } : {}),
          resources: resourcesOf(opts),
          persistent: opts.persistent === true,
          ...(opts.persistent ? { lead: String(opts.lead) } : {}),
          tmux: opts.tmux === true,
          ...(holdBody === undefined ? {} : { holdBody }),
          wait: opts.wait !== false,
          timeoutS,
          dryRun: opts.dryRun === true,
          ...(progress
            ? {
                onProgress: (p) =>
                  process.stderr.write(
                    `\r\x1b[Klease ${name}: job ${p.jobId} ${p.detail}, ${p.elapsedS} s`,
                  ),
              }
            : {}),
        });
        if (progress && r.wait) process.stderr.write('\r\x1b[K');
        if (r.dryRun) {
          emit(ctx.io, flags, { dryRun: true, lease: r.lease, script: r.script }, (v) => v.script);
          return 0;
        }
        emit(ctx.io, flags, { ...r.lease, wait: r.wait ?? null }, (v) => bookLine(v, timeoutS));
        if (!r.wait || r.wait.running) return 0;
        return r.wait.timedOut ? 6 : 4;
      });
    }),
  );

  lease
    .command('list')
    .description('leases in the store, with liveness (one squeue per host)')
    .option('--host <name>', 'only leases on this host')
    .option('--no-check', 'do not ask the hosts (liveness unknown)')
    .action(
      act(ctx, async (flags, opts) =>
        withLeases(ctx, async (l) => {
          const { listLeaseViews } = await import('../lease/view.js');
          const leases = await listLeaseViews(l, {
            ...(opts.host ? { host: opts.host } : {}),
            check: opts.check !== false,
          });
          emit(ctx.io, flags, leases, renderList);
          return 0;
        }),
      ),
    );

  lease
    .command('get')
    .description('one lease: its record, extras, hops and liveness')
    .argument('<name>', 'lease name')
    .action(
      act(ctx, async (flags, name) =>
        withLeases(ctx, async (l) => {
          const { getLeaseView } = await import('../lease/view.js');
          emit(ctx.io, flags, await getLeaseView(l, name), renderLease);
          return 0;
        }),
      ),
    );

  lease
    .command('exec')
    .description('run a command in the allocation (srun --overlap), or many with --tasks')
    .usage('[options] <name> -- CMD...  |  <name> --tasks FILE')
    .argument('<name>', 'lease name')
    .argument('[command...]', 'the command, after --')
    .option('--node <node>', 'run on this node of the allocation')
    .option('-n, --no-stdin', 'do not pass stdin to the command (like ssh -n): the fast path')
    .option('--tasks <file>', 'run each line of FILE as a task, through one executor step')
    .option('--concurrency <n>', 'with --tasks: tasks at once (default: the lease CPUs)')
    .action(
      act(ctx, async (flags, name, command, opts) => {
        if (opts.tasks !== undefined) {
          if (command.length > 0)
            throw new UsageError('give either --tasks FILE or -- CMD, not both');
          return runTaskFile(ctx, flags.json === true, name, opts);
        }
        if (command.length === 0) {
          throw new UsageError('lease exec needs a command', {
            hint: 'berth lease exec NAME -- CMD ... (or --tasks FILE)',
          });
        }
        return withLeases(ctx, async (l) => {
          const { execInLease } = await import('../lease/exec.js');
          const json = flags.json === true;
          // A pipe on stdin is streamed to the command (the terminal is handed over); with
          // --json it is read first, so the result object can own stdout.
          const piped = opts.stdin !== false && process.stdin.isTTY !== true;
          const stdin = piped && json ? await readAll(process.stdin) : undefined;
          const out = json
            ? (t: string) => process.stderr.write(`${t}\n`)
            : (t: string) => process.stdout.write(`${t}\n`);
          const interactive = piped && !json;
          const r = await interruptible(!interactive, (signal) =>
            execInLease(l, name, command, {
              ...(opts.node ? { node: opts.node } : {}),
              ...(interactive ? { interactive: true } : {}),
              ...(stdin === undefined ? {} : { stdin }),
              ...(signal ? { signal } : {}),
              onStdoutLine: out,
              onStderrLine: (t) => process.stderr.write(`${t}\n`),
            }),
          );
          if (json) {
            const { stdout: _o, stderr: _e, ...rest } = r.value;
            ctx.io.out(JSON.stringify(rest, null, 2));
          }
          return r.interrupted ? 130 : r.value.exitCode;
        });
      }),
    );

  lease
    .command('attach')
    .description("an interactive terminal on the allocation's node (tmux server, or a shell)")
    .argument('<name>', 'lease name')
    .option('--shell', 'a login shell even when the lease has a tmux server')
    .option('--session <name>', 'attach to this tenant session instead of _root')
    .option('--node <node>', 'a shell on this node of the allocation')
    .action(
      act(ctx, async (_flags, name, opts) =>
        withLeases(ctx, async (l) => {
          const { attachLease } = await import('../lease/attach.js');
          const r = await attachLease(l, name, {
            ...(opts.shell ? { shell: true } : {}),
            ...(opts.session ? { session: opts.session } : {}),
            ...(opts.node ? { node: opts.node } : {}),
          });
          return r.exitCode;
        }),
      ),
    );

  lease
    .command('refresh')
    .description('follow the chain to the newest job of the lease and record the hops')
    .argument('<name>', 'lease name')
    .action(
      act(ctx, async (flags, name) =>
        withLeases(ctx, async (l) => {
          const { refreshLease } = await import('../lease/refresh.js');
          const r = await refreshLease(l, name);
          emit(ctx.io, flags, r, (v) => {
            const moved = v.moved.length
              ? `moved ${[v.previousJobId, ...v.moved].join(' -> ')}`
              : 'did not move';
            const fails = v.failures.map(
              (f) => `warning: job ${f.jobId} failed to resubmit: ${f.detail}`,
            );
            return [
              `lease ${name}: job ${v.jobId} (${moved}); ${v.live?.liveness ?? 'UNKNOWN'}: ${v.live?.detail ?? ''}`,
              ...fails,
            ].join('\n');
          });
          return 0;
        }),
      ),
    );

  withResources(
    lease
      .command('adopt')
      .description('take over a job someone else submitted as a lease')
      .argument('<name>', 'lease name')
      .requiredOption('--job-id <id>', 'the SLURM job id')
      .option('--host <name>', 'host of the job (default: defaultHost)'),
  ).action(
    act(ctx, async (flags, name, options) => {
      const opts = options as unknown as Flags;
      return withLeases(ctx, async (l) => {
        const { adoptLease } = await import('../lease/adopt.js');
        const adopted = await adoptLease(l, {
          name,
          jobId: String(opts.jobId),
          ...(typeof opts.host === 'string' ? { host: opts.host } : {}),
          resources: resourcesOf(opts),
        });
        emit(
          ctx.io,
          flags,
          adopted,
          (v) => `lease ${v.name}: adopted job ${v.jobId} (${v.state}) on ${v.host}`,
        );
        return 0;
      });
    }),
  );

  lease
    .command('verify')
    .description('requested versus granted resources; exit 7 on a mismatch')
    .argument('<name>', 'lease name')
    .action(
      act(ctx, async (flags, name) =>
        withLeases(ctx, async (l) => {
          const { verifyLease } = await import('../lease/verify.js');
          const report = await verifyLease(l, name);
          emit(ctx.io, flags, report, renderVerify);
          return report.ok ? 0 : 7;
        }),
      ),
    );

  lease
    .command('release')
    .description('cancel the lease’s jobs (and successors) and forget it')
    .argument('<name>', 'lease name')
    .option('--missing-ok', 'a lease that does not exist is not an error')
    .action(
      act(ctx, async (flags, name, opts) =>
        withLeases(ctx, async (l) => {
          const { releaseLease } = await import('../lease/release.js');
          const r = await releaseLease(l, name, { missingOk: opts.missingOk === true });
          emit(ctx.io, flags, r, (v) =>
            v.missing
              ? `lease ${name}: not there`
              : `lease ${name}: released (cancelled ${v.cancelled.join(' ') || 'nothing'})`,
          );
          return 0;
        }),
      ),
    );

  registerTenants(lease, ctx);
}

function registerTenants(lease: Command, ctx: CliContext): void {
  const tenant = lease
    .command('tenant')
    .description('tmux sessions in a lease’s server that follow it from job to job');

  tenant
    .command('add')
    .description('start a session in the lease’s tmux server; successors start it again')
    .usage('[options] <name> <session> -- CMD...')
    .argument('<name>', 'lease name')
    .argument('<session>', 'session name')
    .argument('<command...>', 'the command, after --')
    .option('--log <path>', 'log on the host (default <lease dir>/tenants/<session>.log)')
    .action(
      act(ctx, async (flags, name, session, command, opts) =>
        withLeases(ctx, async (l) => {
          const { addTenant } = await import('../lease/tenants.js');
          const t = await addTenant(l, name, {
            session,
            command,
            ...(opts.log ? { log: opts.log } : {}),
          });
          emit(ctx.io, flags, t, (v) => `lease ${name}: tenant ${v.name} started (log ${v.log})`);
          return 0;
        }),
      ),
    );

  tenant
    .command('list')
    .description('the tenants of a lease, and whether each runs in the current job')
    .argument('<name>', 'lease name')
    .action(
      act(ctx, async (flags, name) =>
        withLeases(ctx, async (l) => {
          const { listTenants } = await import('../lease/tenants.js');
          emit(ctx.io, flags, await listTenants(l, name), (v) =>
            renderTable(
              ['SESSION', 'ALIVE', 'JOB', 'LOG', 'COMMAND'],
              v.map((t) => [t.name, t.alive ? 'yes' : 'no', t.jobId, t.log, t.command.join(' ')]),
            ),
          );
          return 0;
        }),
      ),
    );

  tenant
    .command('rm')
    .description('stop a tenant and forget it')
    .argument('<name>', 'lease name')
    .argument('<session>', 'session name')
    .action(
      act(ctx, async (flags, name, session) =>
        withLeases(ctx, async (l) => {
          const { removeTenant } = await import('../lease/tenants.js');
          const t = await removeTenant(l, name, session);
          emit(ctx.io, flags, t, (v) => `lease ${name}: tenant ${v.name} stopped`);
          return 0;
        }),
      ),
    );
}

async function runTaskFile(
  ctx: CliContext,
  json: boolean,
  name: string,
  opts: { tasks?: string; concurrency?: string; node?: string },
): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const { parseTaskFile } = await import('../lease/executor.js');
  let text: string;
  try {
    text = await readFile(opts.tasks!, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the tasks file ${opts.tasks}: ${(e as Error).message}`);
  }
  let concurrency: number | undefined;
  if (opts.concurrency !== undefined) {
    concurrency = Number(opts.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) {
      throw new UsageError(
        `--concurrency expects a whole number from 1 to 1024, got ${opts.concurrency}`,
      );
    }
  }
  return withLeases(ctx, async (l) => {
    const { runTasks } = await import('../lease/tasks.js');
    const run = await interruptible(true, (signal) =>
      runTasks(l, name, parseTaskFile(text), {
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(opts.node ? { node: opts.node } : {}),
        ...(json ? {} : { onTask: (t) => printTask(t) }),
        ...(signal ? { signal } : {}),
      }),
    );
    const report = run.value;
    if (run.interrupted) return 130;
    if (json) ctx.io.out(JSON.stringify(report, null, 2));
    else {
      const s = `${report.total} tasks in lease ${name} (job ${report.jobId}): ${report.ok} ok, ${report.failed} failed, ${report.notRun} not run; ${(report.durationMs / 1000).toFixed(1)} s, ${report.tasksPerS} tasks/s`;
      ctx.io.err(s);
    }
    return report.ok === report.total ? 0 : 1;
  });
}

function printTask(t: TaskResult): void {
  for (const line of t.stdout.split('\n').slice(0, -1))
    process.stdout.write(`[${t.index}] ${line}\n`);
  for (const line of t.stderr.split('\n').slice(0, -1))
    process.stderr.write(`[${t.index}] ${line}\n`);
  if (t.exitCode !== 0) process.stderr.write(`[${t.index}] exit ${t.exitCode}: ${t.command}\n`);
}

/**
 * Ctrl-C (or TERM) aborts the call: the runner stops the remote process group, and the
 * command exits 130. Without `enabled` (a terminal handed over) the signal is left alone.
 */
async function interruptible<T>(
  enabled: boolean,
  fn: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<{ value: T; interrupted: boolean }> {
  if (!enabled) return { value: await fn(undefined), interrupted: false };
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const value = await fn(abort.signal);
    return { value, interrupted: abort.signal.aborted };
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

async function readHoldBody(file: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { checkHoldBody } = await import('../lease/hold-script.js');
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new UsageError(`cannot read the hold body ${file}: ${(e as Error).message}`);
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  checkHoldBody(text);
  return text;
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function bookLine(
  v: Lease & { wait: { running: boolean; timedOut: boolean; last: { detail: string } } | null },
  timeoutS: number,
): string {
  const head = `lease ${v.name}: job ${v.jobId} on ${v.host}`;
  if (!v.wait) return `${head} submitted (not waiting)`;
  if (v.wait.running) return `${head} running on ${v.extra.nodes.join(',') || '?'}`;
  if (v.wait.timedOut) {
    return `${head} still ${v.wait.last.detail} after ${timeoutS} s; the lease is kept (berth lease get ${v.name})`;
  }
  return `${head} ended: ${v.wait.last.detail}`;
}

function renderList(leases: Lease[]): string {
  return renderTable(
    ['NAME', 'HOST', 'JOB', 'STATE', 'LIVENESS', 'NODES', 'KIND'],
    leases.map((l) => [
      l.name,
      l.host,
      l.jobId ?? '-',
      l.state,
      l.liveness ?? '-',
      l.extra.nodes.join(',') || '-',
      kind(l),
    ]),
  );
}

function kind(l: Lease): string {
  const parts = [
    l.spec.adopted
      ? 'adopted'
      : l.spec.persistent
        ? `persistent (lead ${l.spec.leadS} s)`
        : 'one job',
  ];
  if (l.spec.tmux) parts.push(`tmux, ${l.extra.tenants.length} tenant(s)`);
  return parts.join(', ');
}

function renderLease(l: Lease): string {
  const rows: Array<[string, string]> = [
    ['lease', l.name],
    ['host', l.host],
    ['job', l.jobId ?? '-'],
    ['state', l.state],
    ['liveness', l.liveness ? `${l.liveness} (${l.livenessDetail ?? ''})` : '-'],
    ['nodes', l.extra.nodes.join(',') || '-'],
    ['kind', kind(l)],
    ['resources', JSON.stringify(l.spec.resources)],
    ['directory', l.extra.dir ?? '-'],
    ['tenants', l.extra.tenants.map((t) => t.name).join(', ') || '-'],
    ['hops', (l.hops ?? []).map((h) => `${h.jobId} (${h.reason ?? ''})`).join(' -> ') || '-'],
  ];
  if (l.extra.lastTasks) {
    const t = l.extra.lastTasks;
    rows.push([
      'last tasks',
      `${t.total} (${t.ok} ok, ${t.failed} failed), ${t.tasksPerS} tasks/s`,
    ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

function renderVerify(r: VerifyReport): string {
  const lines = [
    `lease ${r.lease}: job ${r.jobId} ${r.ok ? 'has what was requested' : 'does NOT have what was requested'}`,
  ];
  if (r.checks.length) {
    lines.push(
      renderTable(
        ['RESOURCE', 'REQUESTED', 'GRANTED', ''],
        r.checks.map((c) => [
          c.key,
          String(c.requested),
          String(c.granted ?? '-'),
          c.ok ? 'ok' : 'MISMATCH',
        ]),
      ),
    );
  }
  const g = r.granted;
  lines.push(
    `granted: ${g.cpus ?? '?'} cpus (${g.cpusPerTask ?? '?'} per task), ${g.nodes ?? '?'} node(s) ${g.nodeList ?? ''}, partition ${g.partition ?? '?'}, time ${g.timeS ?? '?'} s${g.memMb ? `, mem ${g.memMb} MB` : ''}`,
  );
  return lines.join('\n');
}
