import { RemoteError, TimeoutError } from '../core/errors.js';
import type { Runner } from '../transport/runner.js';
import { type ProbeReport, parseProbe, renderProbeScript } from './probe.js';

export type SchedulerSetting = 'slurm' | 'none' | 'auto';

export interface HostCheck {
  host: string;
  transport: 'local' | 'ssh';
  target: string | null;
  /** Median round trip of a trivial command over the (already open) connection. */
  rttMs: number;
  /** Time of the probe itself (first call: includes opening the connection). */
  probeMs: number;
  scheduler: 'slurm' | 'none';
  schedulerSource: 'config' | 'detected';
  slurm: ProbeReport['slurm'];
  accounting: ProbeReport['accounting'];
  tmux: ProbeReport['tmux'];
  rsync: ProbeReport['rsync'];
  problems: string[];
}

export interface CheckOptions {
  target?: string | null;
  scheduler: SchedulerSetting;
  timeoutMs?: number;
  rttSamples?: number;
}

/** Connect to a host and report what berth needs to know about it. */
export async function checkHost(runner: Runner, opts: CheckOptions): Promise<HostCheck> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const probe = await runner.sh(renderProbeScript(), { login: true, timeoutMs });
  if (probe.timedOut) {
    throw new TimeoutError(`host ${runner.host} did not answer the probe within ${timeoutMs} ms`, {
      hint: 'check that the host is up and its login shell does not wait for input',
    });
  }
  const report = parseProbe(probe.stdout);
  if (!report.complete) {
    throw new RemoteError(
      `the probe on host ${runner.host} did not finish (exit ${probe.exitCode})`,
      {
        hint: `stderr: ${probe.stderr.trim().slice(0, 300) || '(empty)'}`,
      },
    );
  }
  const rttMs = await medianRtt(runner, opts.rttSamples ?? 5);
  const scheduler =
    opts.scheduler === 'auto' ? (report.slurm.present ? 'slurm' : 'none') : opts.scheduler;
  return {
    host: runner.host,
    transport: runner.kind,
    target: opts.target ?? null,
    rttMs,
    probeMs: Math.round(probe.durationMs),
    scheduler,
    schedulerSource: opts.scheduler === 'auto' ? 'detected' : 'config',
    slurm: report.slurm,
    accounting: report.accounting,
    tmux: report.tmux,
    rsync: report.rsync,
    problems: problemsOf(scheduler, report),
  };
}

async function medianRtt(runner: Runner, samples: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const r = await runner.run(['true'], { login: false, timeoutMs: 10_000 });
    times.push(r.durationMs);
  }
  times.sort((a, b) => a - b);
  return Math.round((times[Math.floor(times.length / 2)] ?? 0) * 10) / 10;
}

/** What is missing for berth's capabilities, in words. */
export function problemsOf(scheduler: 'slurm' | 'none', r: ProbeReport): string[] {
  const out: string[] = [];
  if (scheduler === 'slurm' && !r.slurm.present)
    out.push('scheduler is set to slurm but sbatch is not on the login PATH');
  if (scheduler === 'slurm' && r.slurm.present && !r.accounting.available)
    out.push(
      `accounting unavailable (${r.accounting.detail}); finished jobs are known only for MinJobAge`,
    );
  if (!r.tmux.present) out.push('tmux is missing: leases with --tmux and sessions need it');
  if (!r.rsync.present) out.push('rsync is missing: sync, fetch and pipeline staging need it');
  return out;
}
