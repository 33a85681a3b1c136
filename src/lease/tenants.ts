/**
 * Tenants: tmux sessions berth runs in a lease's tmux server. Each has a launcher on the
 * host (`<dir>/tenants/<session>.sh`) that pipes the pane to its log (appending) and then
 * execs the command; every job of a persistent lease starts the launchers it finds (see
 * hold-script.ts), so a tenant comes back in the successor with the same name, command and
 * log. The lease record lists them (`extra.tenants`). Only these sessions are ever touched.
 */
import { ConflictError, NotFoundError, RemoteError, UsageError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { isNoServer } from '../tmux/formats.js';
import { tmuxSessionName } from '../tmux/names.js';
import { quote, quoteArgs } from '../transport/quote.js';
import type { LeaseContext } from './context.js';
import { leaseFiles, leaseSocket, ROOT_SESSION } from './layout.js';
import type { Lease, Tenant } from './record.js';
import { ensureRunning } from './running.js';
import { saveLease } from './save.js';
import { srunWords } from './srun.js';

export interface TenantInput {
  session: string;
  command: string[];
  /** Log path on the host (default `<dir>/tenants/<session>.log`). */
  log?: string;
}

/** The launcher: pipe the pane to the log (append), say where it starts, exec the command. */
export function renderTenantLauncher(opts: {
  lease: string;
  session: string;
  command: readonly string[];
  log: string;
  tmux: string;
}): string {
  const pipe = `exec cat >> ${quote(opts.log)}`;
  return [
    '#!/bin/bash',
    `# berth lease ${opts.lease}, tenant ${opts.session}: started in every job of the lease.`,
    `${quote(opts.tmux)} pipe-pane -o -t "$TMUX_PANE" ${quote(pipe)}`,
    `printf '%s berth: tenant %s starts in job %s on %s\\n' "$(date -Is)" ${quote(opts.session)} "$SLURM_JOB_ID" "$(hostname)"`,
    `exec ${quoteArgs(opts.command)}`,
    '',
  ].join('\n');
}

/** A tenant's name, checked; its tmux session is tmuxSessionName(name) ('.' becomes '_'). */
function checkSession(session: string): string {
  validateName('session', session);
  if (tmuxSessionName(session) === ROOT_SESSION) {
    throw new UsageError(`${session} would be the lease's own tmux session ${ROOT_SESSION}`, {
      hint: 'pick another session name',
    });
  }
  return session;
}

function requireTmux(lease: Lease): { dir: string; tmux: string; node: string; jobId: string } {
  const { dir, bins, nodes } = lease.extra;
  if (!lease.spec.tmux || !dir || !bins.tmux) {
    throw new UsageError(`lease ${lease.name} has no tmux server`, {
      hint: 'book the lease with --tmux to run tenant sessions in it',
    });
  }
  if (!nodes[0] || !lease.jobId) throw new RemoteError(`lease ${lease.name} has no running job`);
  return { dir, tmux: bins.tmux, node: nodes[0], jobId: lease.jobId };
}

/** Start a tenant session in the lease's current job and register it. */
export async function addTenant(
  ctx: LeaseContext,
  name: string,
  input: TenantInput,
): Promise<Tenant> {
  const session = checkSession(input.session);
  if (input.command.length === 0) throw new UsageError('a tenant needs a command');
  let lease = await ensureRunning(ctx, name);
  const t = requireTmux(lease);
  // Names tmux keeps apart: `a.b` and `a_b` would share the tmux session `a_b`.
  const clash = lease.extra.tenants.find(
    (x) => tmuxSessionName(x.name) === tmuxSessionName(session),
  );
  if (clash) {
    const same =
      clash.name === session ? '' : ` (both are tmux session ${tmuxSessionName(session)})`;
    throw new ConflictError(`lease ${name} already has a tenant ${clash.name}${same}`, {
      hint: `remove it first: berth lease tenant rm ${name} ${clash.name}`,
    });
  }
  const files = leaseFiles(t.dir);
  const log = input.log ?? files.tenantLog(session);
  const launcher = files.tenantLauncher(session);
  const text = renderTenantLauncher({
    lease: name,
    session,
    command: input.command,
    log,
    tmux: t.tmux,
  });
  const start = quoteArgs(['bash', '-l', launcher]);
  const script = [
    `mkdir -p -- ${quote(files.tenants)} && cat > ${quote(launcher)} || exit 1`,
    `${srunWords(t.jobId, { node: t.node })} -- ${quoteArgs([t.tmux, '-L', leaseSocket(t.jobId), 'new-session', '-d', '-s', tmuxSessionName(session), start])}`,
  ].join('\n');
  const r = await ctx.host(lease.host).runner.sh(script, { stdin: text, timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    throw new RemoteError(
      `cannot start tenant ${session} in lease ${name}: ${r.stderr.trim().slice(0, 500)}`,
      {
        hint: `see berth lease get ${name}`,
      },
    );
  }
  const tenant: Tenant = { name: session, command: [...input.command], log, createdAt: Date.now() };
  lease = await saveLease(ctx, {
    ...lease,
    extra: { ...lease.extra, tenants: [...lease.extra.tenants, tenant] },
  });
  return tenant;
}

/** Stop a tenant (in the current job) and forget it: successors will not start it. */
export async function removeTenant(
  ctx: LeaseContext,
  name: string,
  session: string,
): Promise<Tenant> {
  checkSession(session);
  const lease = await ensureRunning(ctx, name);
  const t = requireTmux(lease);
  const tenant = lease.extra.tenants.find((x) => x.name === session);
  if (!tenant)
    throw new NotFoundError(`lease ${name} has no tenant ${session}`, {
      hint: `see berth lease tenant list ${name}`,
    });
  const script = [
    `rm -f -- ${quote(leaseFiles(t.dir).tenantLauncher(session))}`,
    `${srunWords(t.jobId, { node: t.node })} -- ${quoteArgs([t.tmux, '-L', leaseSocket(t.jobId), 'kill-session', '-t', `=${tmuxSessionName(session)}`])} 2>/dev/null`,
    'true',
  ].join('\n');
  await ctx.host(lease.host).runner.sh(script, { timeoutMs: 60_000 });
  await saveLease(ctx, {
    ...lease,
    extra: { ...lease.extra, tenants: lease.extra.tenants.filter((x) => x.name !== session) },
  });
  return tenant;
}

export interface TenantStatus extends Tenant {
  alive: boolean;
  jobId: string;
}

/** The registered tenants, and which of them have a session in the current job's server. */
export async function listTenants(ctx: LeaseContext, name: string): Promise<TenantStatus[]> {
  const lease = await ensureRunning(ctx, name);
  const t = requireTmux(lease);
  const argv = [t.tmux, '-L', leaseSocket(t.jobId), 'list-sessions', '-F', '@@s #{session_name}'];
  const r = await ctx
    .host(lease.host)
    .runner.sh(`${srunWords(t.jobId, { node: t.node })} -- ${quoteArgs(argv)}`, {
      timeoutMs: 60_000,
    });
  // No server is an answer (nothing runs); any other failure (srun, the node) is not.
  if (r.exitCode !== 0 && !isNoServer(r.stderr)) {
    throw new RemoteError(
      `cannot list the tmux sessions of lease ${name} (job ${t.jobId}): ${r.stderr.trim().split('\n').slice(-2).join('; ') || `exit ${r.exitCode}`}`,
      { hint: `try again; see berth lease get ${name}` },
    );
  }
  const live = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith('@@s '))
      .map((l) => l.slice(4).trim()),
  );
  return lease.extra.tenants.map((x) => ({
    ...x,
    alive: live.has(tmuxSessionName(x.name)),
    jobId: t.jobId,
  }));
}
