/**
 * The host probe: one shell script that asks a host everything `host check` reports, in one
 * round trip, and a pure parser for its output. Each section starts with a marker line, so
 * login-shell banner noise before the first marker is ignored.
 */

const MARK = '@@berth-probe:';

export const PROBE_SECTIONS = ['sbatch', 'scontrol', 'sacct', 'tmux', 'rsync', 'end'] as const;
export type ProbeSection = (typeof PROBE_SECTIONS)[number];

/** Shell text of the probe. Contains no user values. */
export function renderProbeScript(): string {
  return [
    `echo '${MARK}sbatch'`,
    'command -v sbatch && sbatch --version 2>&1',
    `echo '${MARK}scontrol'`,
    'command -v scontrol >/dev/null && scontrol show config 2>&1 | grep -E "^(SLURM_VERSION|ClusterName|MaxArraySize|AccountingStorageType|MinJobAge|MaxJobCount) "',
    `echo '${MARK}sacct'`,
    'if command -v sacct >/dev/null; then o=$(sacct -n -X -P -S now-1minutes -o JobID 2>&1); r=$?; printf "%s\\n" "$o" | tail -n 3; echo "rc=$r"; fi',
    `echo '${MARK}tmux'`,
    'command -v tmux >/dev/null && tmux -V 2>&1',
    `echo '${MARK}rsync'`,
    'command -v rsync >/dev/null && rsync --version 2>&1 | head -n 1',
    `echo '${MARK}end'`,
  ].join('\n');
}

export interface ProbeReport {
  slurm: {
    present: boolean;
    version: string | null;
    clusterName: string | null;
    maxArraySize: number | null;
    maxJobCount: number | null;
    minJobAgeS: number | null;
    accountingStorage: string | null;
  };
  accounting: { available: boolean; detail: string };
  tmux: { present: boolean; version: string | null };
  rsync: { present: boolean; version: string | null };
  /** False when the output was cut short (no end marker): the probe did not finish. */
  complete: boolean;
}

/** Split probe output into its sections; anything before the first marker is noise. */
export function splitSections(stdout: string): Partial<Record<ProbeSection, string[]>> {
  const out: Partial<Record<ProbeSection, string[]>> = {};
  let current: string[] | undefined;
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith(MARK)) {
      const name = line.slice(MARK.length) as ProbeSection;
      current = PROBE_SECTIONS.includes(name) ? [] : undefined;
      if (current) out[name] = current;
    } else if (current) current.push(line);
  }
  return out;
}

function configValue(lines: string[], key: string): string | null {
  for (const line of lines) {
    const m = /^(\S+)\s*=\s*(.*)$/.exec(line);
    if (m && m[1] === key) return m[2]!.trim();
  }
  return null;
}

function intOrNull(text: string | null): number | null {
  if (text === null) return null;
  const m = /^(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

/** Parse what renderProbeScript() printed. Pure. */
export function parseProbe(stdout: string): ProbeReport {
  const s = splitSections(stdout);
  const sbatch = (s.sbatch ?? []).filter((l) => l.trim() !== '');
  const conf = s.scontrol ?? [];
  const versionLine = sbatch.find((l) => /^slurm[\s-]/i.test(l.trim()));
  const version =
    configValue(conf, 'SLURM_VERSION') ??
    (versionLine ? (versionLine.trim().split(/\s+/)[1] ?? null) : null);
  const storage = configValue(conf, 'AccountingStorageType');
  const sacct = (s.sacct ?? []).filter((l) => l.trim() !== '');
  const rc = sacct.find((l) => /^rc=\d+$/.test(l));
  const sacctOk = rc === 'rc=0' && !sacct.some((l) => /disabled|error|unable/i.test(l));
  const tmux = (s.tmux ?? []).find((l) => /^tmux /.test(l));
  const rsync = (s.rsync ?? []).find((l) => /^rsync\s+version/.test(l));
  const storageOn = storage !== null && !/none/i.test(storage);
  return {
    slurm: {
      present: sbatch.length > 0,
      version,
      clusterName: configValue(conf, 'ClusterName'),
      maxArraySize: intOrNull(configValue(conf, 'MaxArraySize')),
      maxJobCount: intOrNull(configValue(conf, 'MaxJobCount')),
      minJobAgeS: intOrNull(configValue(conf, 'MinJobAge')),
      accountingStorage: storage,
    },
    accounting: {
      available: sbatch.length > 0 && storageOn && sacctOk,
      detail: accountingDetail(sbatch.length > 0, storageOn, sacctOk, sacct),
    },
    tmux: { present: tmux !== undefined, version: tmux ? tmux.slice(5).trim() : null },
    rsync: {
      present: rsync !== undefined,
      version: rsync ? (/version\s+(\S+)/.exec(rsync)?.[1] ?? null) : null,
    },
    complete: s.end !== undefined,
  };
}

function accountingDetail(
  slurm: boolean,
  storageOn: boolean,
  ok: boolean,
  lines: string[],
): string {
  if (!slurm) return 'no SLURM on this host';
  if (!storageOn) return 'AccountingStorageType is none: sacct cannot see finished jobs';
  if (ok) return 'sacct answers';
  const why = lines.find((l) => !/^rc=/.test(l));
  return `sacct failed${why ? `: ${why.trim()}` : ''}`;
}
