/**
 * Replaying outboxes: what `berth events flush` and a status watcher do. Each outbox's
 * pending events go to each sink; fully delivered outboxes of finished runs are retired.
 */
import { join, resolve } from 'node:path';
import { stateDir as defaultStateDir } from '../config/paths.js';
import { deliverOutbox } from './deliver.js';
import { collectOutboxes, Outbox } from './outbox.js';
import type { Sink } from './sinks/sink.js';

type Env = Record<string, string | undefined>;

export interface FlushSinkTotal {
  sink: string;
  delivered: number;
  pending: number;
  /** Distinct error messages (safe to print). */
  errors: string[];
}

export interface FlushReport {
  outboxes: number;
  /** Events read from those outboxes. */
  events: number;
  /** Lines that could not be read (torn or corrupt). */
  skipped: number;
  retired: number;
  sinks: FlushSinkTotal[];
}

/** Where outboxes are looked for by default: BERTH_OUTBOX_DIR and <state dir>/outbox. */
export function defaultOutboxDirs(env: Env, stateDir?: string): string[] {
  const dirs = [join(stateDir ?? defaultStateDir(env), 'outbox')];
  if (env.BERTH_OUTBOX_DIR) dirs.unshift(env.BERTH_OUTBOX_DIR);
  return [...new Set(dirs)];
}

/** Outboxes in these directories and files, each once. */
export function findOutboxes(dirs: readonly string[], files: readonly string[] = []): Outbox[] {
  const seen = new Map<string, Outbox>();
  for (const d of dirs) for (const o of collectOutboxes(d)) seen.set(o.path, o);
  for (const f of files) seen.set(resolve(f), new Outbox(resolve(f)));
  return [...seen.values()];
}

export async function flushOutboxes(
  outboxes: readonly Outbox[],
  sinks: readonly Sink[],
  opts: { signal?: AbortSignal } = {},
): Promise<FlushReport> {
  const totals = new Map<string, FlushSinkTotal>(
    sinks.map((s) => [s.name, { sink: s.name, delivered: 0, pending: 0, errors: [] }]),
  );
  const report: FlushReport = {
    outboxes: outboxes.length,
    events: 0,
    skipped: 0,
    retired: 0,
    sinks: [],
  };
  for (const outbox of outboxes) {
    const reports = await deliverOutbox(outbox, sinks, opts);
    report.events += outbox.events().length;
    report.skipped += outbox.skipped;
    for (const r of reports) {
      const t = totals.get(r.sink)!;
      t.delivered += r.delivered;
      t.pending += r.pending;
      if (r.error && !t.errors.includes(r.error)) t.errors.push(r.error);
    }
    if (outbox.retireIfDelivered(sinks.map((s) => s.name))) report.retired += 1;
  }
  report.sinks = [...totals.values()];
  return report;
}
