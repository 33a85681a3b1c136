/**
 * Durations and memory sizes as people and SLURM write them.
 *
 * Durations parse to whole seconds: unit form (`90s`, `15m`, `2h`, `1d12h`, `1.5h`) or any
 * SLURM time form (`30` = minutes, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`).
 * `UNLIMITED`/`INFINITE` parse to `Infinity`. Memory parses to whole MB (MiB, as SLURM
 * counts): `4G`, `512M`, `1.5T`, `2048K`, and a bare number is MB as in `sbatch --mem=4000`.
 */
import { UsageError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 };
const UNIT_FORM = /^(?:\d+(?:\.\d+)?[dhms])+$/i;
const UNIT_PART = /(\d+(?:\.\d+)?)([dhms])/gi;
const SLURM_FORM = /^(?:(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?|(\d+)(?::(\d+)(?::(\d+))?)?)$/;
const DURATION_HINT =
  'write a duration like 90s, 15m, 2h, 1d12h, or a SLURM time like 30 (minutes), 1:30:00 or 1-12:00:00';

/** Seconds in a duration string (or a number of seconds, passed through). */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return checkSeconds(input, String(input));
  const text = input.trim();
  if (/^(unlimited|infinite)$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (UNIT_FORM.test(text)) return checkSeconds(unitSeconds(text), input);
  const m = SLURM_FORM.exec(text);
  if (m) return checkSeconds(slurmSeconds(m), input);
  throw new UsageError(`invalid duration ${JSON.stringify(input)}`, { hint: DURATION_HINT });
}

function unitSeconds(text: string): number {
  let total = 0;
  for (const [, n, unit] of text.matchAll(UNIT_PART)) {
    total += Number(n) * (UNIT_SECONDS[unit!.toLowerCase()] ?? 0);
  }
  return Math.round(total);
}

// SLURM's rules (sbatch --time): with a day part the rest is hours[:minutes[:seconds]];
// without it one number is minutes, two are minutes:seconds, three hours:minutes:seconds.
function slurmSeconds(m: RegExpExecArray): number {
  const n = (i: number) => Number(m[i] ?? 0);
  if (m[1] !== undefined) return n(1) * 86_400 + n(2) * 3_600 + n(3) * 60 + n(4);
  if (m[7] !== undefined) return n(5) * 3_600 + n(6) * 60 + n(7);
  if (m[6] !== undefined) return n(5) * 60 + n(6);
  return n(5) * 60;
}

function checkSeconds(seconds: number, original: string): number {
  if (!Number.isFinite(seconds) || seconds < 0 || !Number.isInteger(seconds)) {
    throw new UsageError(`invalid duration ${JSON.stringify(original)}`, { hint: DURATION_HINT });
  }
  return seconds;
}

/**
 * SLURM's own time text for a number of seconds: `HH:MM:SS` below a day and `D-HH:MM:SS`
 * from a day on (both are what `squeue`/`scontrol` print and `--time` accepts).
 */
export function formatSlurmTime(seconds: number): string {
  if (seconds === Number.POSITIVE_INFINITY) return 'UNLIMITED';
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`cannot format ${seconds} as a SLURM time`, {
      hint: 'give a whole, non-negative number of seconds',
    });
  }
  const s = Math.ceil(seconds);
  const days = Math.floor(s / 86_400);
  const pad = (v: number) => String(v).padStart(2, '0');
  const hms = `${pad(Math.floor((s % 86_400) / 3_600))}:${pad(Math.floor((s % 3_600) / 60))}:${pad(s % 60)}`;
  return days > 0 ? `${days}-${hms}` : hms;
}

const MEMORY_FORM = /^(\d+(?:\.\d+)?)\s*([KMGT])?(?:i?B)?$/i;
const MB_PER_UNIT: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/** Whole MB (MiB) in a memory size; a bare number is MB, like SLURM's `--mem`. */
export function parseMemory(input: string | number): number {
  const text = String(input).trim();
  const m = MEMORY_FORM.exec(text);
  if (!m) {
    throw new UsageError(`invalid memory size ${JSON.stringify(String(input))}`, {
      hint: 'write a size like 4G, 512M, 1.5T, or a number of MB like 4000',
    });
  }
  const unit = (m[2] ?? 'M').toUpperCase();
  return Math.ceil(Number(m[1]) * (MB_PER_UNIT[unit] ?? 1));
}

/** Memory in SLURM's shortest exact form: `4G` when a whole number of GB, else `4000M`. */
export function formatMemory(mb: number): string {
  if (!Number.isInteger(mb) || mb < 0) {
    throw new UsageError(`cannot format ${mb} MB as a SLURM memory size`, {
      hint: 'give a whole, non-negative number of MB',
    });
  }
  if (mb > 0 && mb % (1024 * 1024) === 0) return `${mb / (1024 * 1024)}T`;
  if (mb > 0 && mb % 1024 === 0) return `${mb / 1024}G`;
  return `${mb}M`;
}
