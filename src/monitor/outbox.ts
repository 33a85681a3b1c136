/**
 * The outbox: an append-only JSONL file of events, written and fsynced before any event is
 * delivered anywhere. Delivery state lives beside it, one small file per sink listing the
 * ids that sink has acknowledged (`<outbox>.acked-<sink>`), so a replay knows exactly what
 * each sink still lacks. Nothing is ever rewritten in place.
 *
 * Several processes may append to one outbox. Each event is one `write(2)` of one whole line
 * on a descriptor opened with O_APPEND, so on a local filesystem lines never interleave
 * (POSIX makes the seek-to-end and the write one atomic step). A process that dies
 * mid-write leaves a torn line: readers skip a last line without its newline (it may still
 * be being written), drop a torn fragment in front of a good event, and count lines they
 * cannot read. NFS does not make O_APPEND atomic across machines: give each machine its own
 * outbox (the default names one per job key, which `berth run` writes from one node).
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { stateDir } from '../config/paths.js';
import { UsageError } from '../core/errors.js';
import type { DeliverOptions, SinkReport } from './deliver.js';
import { isTerminalEvent, type MonitorEvent } from './events.js';
import type { Sink } from './sinks/sink.js';

type Env = Record<string, string | undefined>;

const SINK_NAME = /^[A-Za-z0-9._-]+$/;

export function validateSinkName(name: string): string {
  if (!SINK_NAME.test(name) || name.length > 64) {
    throw new UsageError(`invalid sink name ${JSON.stringify(name)}`, {
      hint: "sink names are up to 64 letters, digits, '.', '_' or '-'",
    });
  }
  return name;
}

/** One event as its outbox line (id first, so a torn line can be resynchronised). */
export function eventLine(e: MonitorEvent): string {
  return `${JSON.stringify({ id: e.id, jobKey: e.jobKey, type: e.type, at: e.at, data: e.data })}\n`;
}

function asEvent(v: unknown): MonitorEvent | null {
  if (!v || typeof v !== 'object') return null;
  const e = v as Record<string, unknown>;
  if (typeof e.id !== 'string' || typeof e.jobKey !== 'string') return null;
  if (typeof e.type !== 'string' || typeof e.at !== 'number') return null;
  const data = e.data && typeof e.data === 'object' ? (e.data as Record<string, unknown>) : {};
  return { id: e.id, jobKey: e.jobKey, type: e.type as MonitorEvent['type'], at: e.at, data };
}

/** Parse one outbox line; a torn fragment before a complete event is dropped. */
export function parseEventLine(line: string): MonitorEvent | null {
  const text = line.trim();
  if (text === '') return null;
  try {
    return asEvent(JSON.parse(text));
  } catch {
    const start = text.lastIndexOf('{"id":"');
    if (start <= 0) return null;
    try {
      return asEvent(JSON.parse(text.slice(start)));
    } catch {
      return null;
    }
  }
}

/** Read complete lines from `offset`; returns them and the offset after the last newline. */
function readLines(path: string, offset: number): { lines: string[]; offset: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], offset };
    throw e;
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return { lines: [], offset };
    const buf = Buffer.alloc(size - offset);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    const end = buf.lastIndexOf(0x0a, got - 1);
    if (end === -1) return { lines: [], offset };
    return { lines: buf.subarray(0, end).toString('utf8').split('\n'), offset: offset + end + 1 };
  } finally {
    closeSync(fd);
  }
}

/** Append text with one write on an O_APPEND descriptor; fsync when asked. */
function appendOnce(path: string, text: string, sync: boolean): void {
  const fd = openSync(path, 'a+');
  try {
    // A writer that died mid-line left no newline: start ours on a fresh line.
    const size = fstatSync(fd).size;
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    const buf = Buffer.from(prefix + text);
    const n = writeSync(fd, buf);
    if (n !== buf.length) throw new Error(`short write to ${path}: ${n} of ${buf.length} bytes`);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class Outbox {
  readonly path: string;
  private offset = 0;
  private readonly list: MonitorEvent[] = [];
  private readonly ids = new Set<string>();
  private unreadable = 0;
  private readonly acks = new Map<string, { offset: number; ids: Set<string> }>();

  constructor(path: string) {
    this.path = path;
  }

  /** Write one event durably (append + fsync). Call before delivering it anywhere. */
  append(event: MonitorEvent): void {
    mkdirSync(dirname(this.path), { recursive: true });
    appendOnce(this.path, eventLine(event), true);
  }

  /** Every event in the file, in file order (read incrementally; ids deduplicated). */
  events(): MonitorEvent[] {
    const { lines, offset } = readLines(this.path, this.offset);
    this.offset = offset;
    for (const line of lines) {
      if (line.trim() === '') continue;
      const e = parseEventLine(line);
      if (!e) {
        this.unreadable += 1;
        continue;
      }
      if (this.ids.has(e.id)) continue;
      this.ids.add(e.id);
      this.list.push(e);
    }
    return [...this.list];
  }

  /** Lines that could not be read as events so far (torn or corrupt). */
  get skipped(): number {
    return this.unreadable;
  }

  ackFile(sink: string): string {
    return `${this.path}.acked-${validateSinkName(sink)}`;
  }

  /** Ids the sink has acknowledged (read incrementally). */
  acked(sink: string): ReadonlySet<string> {
    const state = this.acks.get(sink) ?? { offset: 0, ids: new Set<string>() };
    const { lines, offset } = readLines(this.ackFile(sink), state.offset);
    for (const l of lines) if (l.trim()) state.ids.add(l.trim());
    state.offset = offset;
    this.acks.set(sink, state);
    return state.ids;
  }

  /** Events the sink has not acknowledged yet, in file order. */
  pending(sink: string): MonitorEvent[] {
    const all = this.events();
    const done = this.acked(sink);
    return all.filter((e) => !done.has(e.id));
  }

  /** Record that the sink has these events (no fsync: a lost ack only means a resend). */
  ack(sink: string, ids: readonly string[]): void {
    if (ids.length === 0) return;
    mkdirSync(dirname(this.path), { recursive: true });
    appendOnce(this.ackFile(sink), `${ids.join('\n')}\n`, false);
  }

  /** Deliver every pending event to each sink (see deliver.ts). */
  async replay(sinks: readonly Sink[], opts: DeliverOptions = {}): Promise<SinkReport[]> {
    const { deliverOutbox } = await import('./deliver.js');
    return deliverOutbox(this, sinks, opts);
  }

  private get doneFile(): string {
    return `${this.path}.done`;
  }

  /** Retired: every sink had every event when the run ended, and nothing was added since. */
  isRetired(): boolean {
    try {
      const mark = JSON.parse(readFileSync(this.doneFile, 'utf8')) as { size?: number };
      return mark.size === statSync(this.path).size;
    } catch {
      return false;
    }
  }

  /**
   * Mark the outbox retired when its run has ended and each named sink has every event, so
   * later flushes skip it (and a sink added later does not replay old history). Returns
   * whether it did. An append after this makes the outbox live again.
   */
  retireIfDelivered(sinks: readonly string[]): boolean {
    if (sinks.length === 0) return false;
    const all = this.events();
    const last = [...all].filter((e) => e.type !== 'HEARTBEAT').pop();
    if (!last || !isTerminalEvent(last.type)) return false;
    if (sinks.some((s) => this.pending(s).length > 0)) return false;
    writeFileSync(this.doneFile, JSON.stringify({ size: this.offset, at: Date.now() }));
    return this.isRetired();
  }
}

/** A job key as a file name: anything but letters, digits, '.', '_', '-' becomes '_'. */
export function jobKeyFileName(jobKey: string): string {
  return jobKey.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The default outbox directory (without a job dir): BERTH_OUTBOX_DIR, else <state>/outbox. */
export function outboxDir(env: Env, state?: string): string {
  return env.BERTH_OUTBOX_DIR || join(state ?? stateDir(env), 'outbox');
}

/**
 * Where a run's outbox goes: `$BERTH_OUTBOX_DIR/<job key>.jsonl`; else, inside a SLURM job
 * with a berth job directory, `$BERTH_JOB_DIR/outbox.jsonl` (on the shared filesystem, where
 * the login node's watcher collects it); else `<state dir>/outbox/<job key>.jsonl`.
 */
export function outboxPath(opts: { env: Env; jobKey: string; stateDir?: string }): string {
  const { env, jobKey } = opts;
  const file = `${jobKeyFileName(jobKey)}.jsonl`;
  if (env.BERTH_OUTBOX_DIR) return join(env.BERTH_OUTBOX_DIR, file);
  if (env.BERTH_JOB_DIR && (env.SLURM_JOB_ID || env.SLURM_JOBID)) {
    return join(env.BERTH_JOB_DIR, 'outbox.jsonl');
  }
  return join(outboxDir(env, opts.stateDir), file);
}

/**
 * Outboxes under a directory, for a watcher or `berth events flush`: `*.jsonl` in it and
 * `<sub dir>/outbox.jsonl` one level down (job directories). Retired ones are left out
 * unless asked for. A missing directory has none.
 */
export function collectOutboxes(dir: string, opts: { includeRetired?: boolean } = {}): Outbox[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.jsonl')) found.push(join(dir, entry.name));
    else if (entry.isDirectory()) {
      const inside = join(dir, entry.name, 'outbox.jsonl');
      if (existsSync(inside)) found.push(inside);
    }
  }
  return found
    .sort()
    .map((p) => new Outbox(p))
    .filter((o) => opts.includeRetired || !o.isRetired());
}
