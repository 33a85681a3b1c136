/**
 * Single fields of SLURM's text output: timestamps, elapsed times and limits, host lists.
 *
 * Timestamps. SLURM prints local wall-clock time (`2026-11-23T19:01:02`) in the time zone
 * of the machine running the command, or epoch seconds when the command runs with
 * `SLURM_TIME_FORMAT=%s` (`SLURM_TIME_ENV`), which is what berth does: it has no time
 * zone to guess. For ISO text pass `utcOffsetMinutes` (the cluster's offset east of UTC,
 * e.g. 60 for CET); without it the text is read in the time zone of this process.
 */
import { parseDuration } from '../../core/duration.js';

/** Run `squeue`/`sacct`/`scontrol` with this env so every timestamp is epoch seconds. */
export const SLURM_TIME_ENV: Readonly<Record<string, string>> = { SLURM_TIME_FORMAT: '%s' };

export interface TimeOptions {
  /** The cluster's UTC offset in minutes (east positive) for ISO times; default: local. */
  utcOffsetMinutes?: number;
}

const ISO_LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;
const NO_VALUE = /^(unknown|none|n\/a|\(null\)|invalid|)$/i;

/** Epoch ms for a SLURM timestamp, or null for `Unknown`, `None`, `N/A`, empty. */
export function parseSlurmTime(text: string, opts: TimeOptions = {}): number | null {
  const t = text.trim();
  if (NO_VALUE.test(t)) return null;
  if (/^\d{1,12}$/.test(t)) return Number(t) === 0 ? null : Number(t) * 1000;
  const m = ISO_LOCAL.exec(t);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (opts.utcOffsetMinutes === undefined) return new Date(y, mo - 1, d, h, mi, s).getTime();
  return Date.UTC(y, mo - 1, d, h, mi, s) - opts.utcOffsetMinutes * 60_000;
}

/**
 * Seconds in an elapsed time or limit (`0:05`, `1:02:03`, `1-00:00:00`), null for
 * `UNLIMITED`, `Partition_Limit`, `INVALID`, `N/A`. Note: here `5:00` is minutes:seconds.
 */
export function parseSlurmDuration(text: string): number | null {
  const t = text.trim();
  if (!/^(\d+-)?\d+(:\d+){0,2}$/.test(t)) return null;
  const seconds = parseDuration(t);
  return Number.isFinite(seconds) ? seconds : null;
}

/** A count field (`%D`, `NNodes`), null when SLURM prints nothing usable. */
export function parseCount(text: string): number | null {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
}

/** `n[1-3,7],gpu[01-02],login` → every host name; `None assigned`, `(null)` → []. */
export function expandHostlist(text: string): string[] {
  const t = text.trim();
  if (t === '' || /^(none assigned|\(null\)|none|n\/a)$/i.test(t)) return [];
  const hosts: string[] = [];
  for (const item of splitTopLevel(t)) hosts.push(...expandItem(item));
  return hosts;
}

// Commas inside brackets belong to a range list, not to the host list.
function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items.filter((s) => s !== '');
}

function expandItem(item: string): string[] {
  const m = /^([^[]*)\[([^\]]+)\](.*)$/.exec(item);
  if (!m) return [item];
  const [, prefix = '', ranges = '', rest = ''] = m;
  const tails = expandItem(rest);
  const out: string[] = [];
  for (const part of ranges.split(',')) {
    const [a = '', b = a] = part.split('-');
    const width = a.length;
    for (let i = Number(a); i <= Number(b); i++) {
      const num = String(i).padStart(width, '0');
      for (const tail of tails) out.push(`${prefix}${num}${tail}`);
    }
  }
  return out;
}
