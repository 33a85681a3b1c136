/**
 * One round trip that asks a host what a hold script must know when it is rendered: the
 * work root as an absolute path, and the absolute paths of sbatch, squeue and tmux.
 */
import { RemoteError } from '../core/errors.js';
import { checkRoot, rootWord } from '../scheduler/slurm/submit-script.js';
import { extractBetweenSentinels, newSentinel, wrapWithSentinels } from '../transport/noise.js';
import type { Runner } from '../transport/runner.js';

export interface HostPaths {
  root: string;
  sbatch?: string;
  squeue?: string;
  tmux?: string;
}

/** Shell text printing `key=value` lines (no user values besides the quoted root). */
export function renderProbe(root: string): string {
  checkRoot(root);
  return [
    `printf 'root=%s\\n' ${rootWord(root)}`,
    'for c in sbatch squeue tmux; do printf \'%s=%s\\n\' "$c" "$(command -v "$c")"; done',
  ].join('\n');
}

/** Pure: the paths from the probe's output (only absolute paths count). */
export function parseProbe(text: string): HostPaths | undefined {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(root|sbatch|squeue|tmux)=(\/.*)$/.exec(line);
    if (m) values[m[1]!] = m[2]!;
  }
  if (!values.root) return undefined;
  return {
    root: values.root,
    ...(values.sbatch ? { sbatch: values.sbatch } : {}),
    ...(values.squeue ? { squeue: values.squeue } : {}),
    ...(values.tmux ? { tmux: values.tmux } : {}),
  };
}

export async function probeHost(runner: Runner, root: string): Promise<HostPaths> {
  const marker = newSentinel();
  const r = await runner.sh(wrapWithSentinels(renderProbe(root), marker), { timeoutMs: 60_000 });
  const paths = parseProbe(extractBetweenSentinels(r.stdout, marker) ?? '');
  if (r.exitCode !== 0 || !paths) {
    throw new RemoteError(`cannot read the work root and SLURM paths on host ${runner.host}`, {
      hint: `check the host with: berth host check ${runner.host}`,
      details: { exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000) },
    });
  }
  if (!paths.sbatch || !paths.squeue) {
    throw new RemoteError(`sbatch or squeue is not on the login PATH of host ${runner.host}`, {
      code: 'E_NO_SLURM',
      hint: 'leases need SLURM on the host; check with: berth host check',
    });
  }
  return paths;
}
