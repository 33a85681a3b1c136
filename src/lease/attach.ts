/**
 * `lease attach NAME`: an interactive terminal on the allocation's node. With a tmux server
 * (`--tmux`) it attaches to the server's `_root` session (or a tenant with `session`); with
 * `shell`, or without a server, it opens a login shell in a `srun --pty` step. The lease
 * is refreshed first (a terminal cannot be retried).
 */
import { UsageError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { signalNumber } from '../scheduler/slurm/scheduler.js';
import { tmuxSessionName } from '../tmux/names.js';
import { quoteArgs } from '../transport/quote.js';
import type { LeaseContext } from './context.js';
import { leaseSocket, ROOT_SESSION } from './layout.js';
import { ensureRunning } from './running.js';
import { srunWords } from './srun.js';

export interface AttachOptions {
  /** A login shell even when the lease has a tmux server. */
  shell?: boolean;
  /** A tenant session instead of `_root`. */
  session?: string;
  node?: string;
}

/** The shell text of the attach step. Pure. */
export function renderAttach(
  jobId: string,
  opts: { tmux?: string; node?: string; session?: string },
): string {
  const target = `=${opts.session === undefined ? ROOT_SESSION : tmuxSessionName(opts.session)}`;
  const argv = opts.tmux
    ? [opts.tmux, '-L', leaseSocket(jobId), 'attach-session', '-t', target]
    : ['bash', '-l'];
  return `exec ${srunWords(jobId, { pty: true, ...(opts.node ? { node: opts.node } : {}) })} -- ${quoteArgs(argv)}`;
}

export async function attachLease(
  ctx: LeaseContext,
  name: string,
  opts: AttachOptions = {},
): Promise<{ jobId: string; exitCode: number }> {
  if (opts.session !== undefined) validateName('session', opts.session);
  const lease = await ensureRunning(ctx, name);
  const tmux = !opts.shell && lease.spec.tmux ? lease.extra.bins.tmux : undefined;
  if (opts.session !== undefined && !tmux) {
    throw new UsageError(`lease ${name} has no tmux server to attach a session of`, {
      hint: 'leave out --session (and --shell), or book with --tmux',
    });
  }
  // The server runs on the batch host: the first node of the allocation.
  const node = opts.node ?? (tmux ? lease.extra.nodes[0] : undefined);
  const script = renderAttach(lease.jobId!, {
    ...(tmux ? { tmux } : {}),
    ...(node ? { node } : {}),
    ...(opts.session ? { session: opts.session } : {}),
  });
  const r = await ctx.host(lease.host).runner.sh(script, { interactive: true });
  return { jobId: lease.jobId!, exitCode: r.exitCode ?? 128 + (signalNumber(r.signal) ?? 0) };
}
