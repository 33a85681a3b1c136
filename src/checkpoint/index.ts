/**
 * The checkpoint contract (docs/checkpoint.md), and helpers for TypeScript programs.
 *
 * berth gives a session's command BERTH_CHECKPOINT_DIR. A checkpoint is a directory in it
 * whose name sorts by time (`20260123T040506.789000001Z`). It counts only once complete:
 * written under a temporary name starting with '.', given a `COMPLETE` marker file, then
 * renamed into place. When the session starts again, BERTH_RESUME_FROM is the newest
 * complete checkpoint (the greatest name, byte order, that has the marker).
 *
 *   const last = await latestCheckpoint();
 *   let state = last ? await last.json<State>() : initial;
 *   process.on('SIGUSR1', async () => { await writeCheckpoint(state); process.exit(0); });
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';

export const COMPLETE = 'COMPLETE';

export interface CheckpointOptions {
  /** Where checkpoints live (default: env.BERTH_CHECKPOINT_DIR). */
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface WriteOptions extends CheckpointOptions {
  /** Keep this many newest complete checkpoints, delete older ones (default 3; 0 keeps all). */
  keep?: number;
  /** The checkpoint's name (default: now, as YYYYMMDDTHHMMSS.nnnnnnnnnZ). */
  name?: string;
}

export interface Checkpoint {
  name: string;
  /** Its directory. */
  dir: string;
  /** When it was completed (epoch ms), from its marker. */
  createdAt: number;
  /** The file writeCheckpoint(data) wrote: `data.json` for an object, else `data`. */
  readonly file: string;
  read(): Promise<Buffer>;
  json<T = unknown>(): Promise<T>;
}

/** Data, or a function that writes any files into the (temporary) directory it is given. */
export type CheckpointData = string | Uint8Array | object | ((dir: string) => Promise<void> | void);

let seq = 0;

/** A name that sorts by time: UTC to the millisecond, then 6 digits of a counter. */
export function checkpointName(date = new Date()): string {
  seq = (seq + 1) % 1_000_000;
  const iso = date.toISOString().replace(/[-:]/g, ''); // 20260123T040506.789Z
  return `${iso.slice(0, -1)}${String(seq).padStart(6, '0')}Z`;
}

export function checkpointDir(o: CheckpointOptions = {}): string {
  const dir = o.dir ?? (o.env ?? process.env).BERTH_CHECKPOINT_DIR;
  if (!dir) {
    throw new UsageError('BERTH_CHECKPOINT_DIR is not set', {
      hint: 'run the program as a berth session, or pass { dir }',
    });
  }
  return dir;
}

/** Write a complete checkpoint (temporary name, data, fsync, marker, rename). */
export async function writeCheckpoint(
  data: CheckpointData,
  o: WriteOptions = {},
): Promise<Checkpoint> {
  const dir = checkpointDir(o);
  const name = o.name ?? checkpointName();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new UsageError(`invalid checkpoint name ${JSON.stringify(name)}`, {
      hint: "letters, digits, '.', '_' and '-', not starting with '.'",
    });
  }
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${name}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    if (typeof data === 'function') await data(tmp);
    else if (typeof data === 'string' || data instanceof Uint8Array)
      await durable(join(tmp, 'data'), data);
    else await durable(join(tmp, 'data.json'), `${JSON.stringify(data)}\n`);
    await durable(join(tmp, COMPLETE), `${JSON.stringify({ createdAt: Date.now() })}\n`);
    await syncDir(tmp);
    await rename(tmp, join(dir, name));
    await syncDir(dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const keep = o.keep ?? 3;
  if (keep > 0) await prune(dir, keep);
  const made = await load(dir, name);
  if (!made) throw new Error(`checkpoint ${name} vanished right after it was written`);
  return made;
}

/** Complete checkpoints, oldest first. */
export async function listCheckpoints(o: CheckpointOptions = {}): Promise<Checkpoint[]> {
  const dir = checkpointDir(o);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: Checkpoint[] = [];
  for (const name of names.filter((n) => !n.startsWith('.')).sort(byteOrder)) {
    const c = await load(dir, name);
    if (c) out.push(c);
  }
  return out;
}

/** The newest complete checkpoint, or undefined. */
export async function latestCheckpoint(o: CheckpointOptions = {}): Promise<Checkpoint | undefined> {
  return (await listCheckpoints(o)).at(-1);
}

async function load(dir: string, name: string): Promise<Checkpoint | undefined> {
  const path = join(dir, name);
  let marker: string;
  try {
    marker = await readFile(join(path, COMPLETE), 'utf8');
  } catch {
    return undefined;
  }
  let createdAt = Number.NaN;
  try {
    createdAt = Number(JSON.parse(marker).createdAt);
  } catch {
    createdAt = (await stat(join(path, COMPLETE))).mtimeMs;
  }
  const hasJson = await stat(join(path, 'data.json')).then(
    () => true,
    () => false,
  );
  const file = join(path, hasJson ? 'data.json' : 'data');
  return {
    name,
    dir: path,
    createdAt,
    file,
    read: () => readFile(file),
    json: async <T>() => JSON.parse(await readFile(file, 'utf8')) as T,
  };
}

async function prune(dir: string, keep: number): Promise<void> {
  const all = await listCheckpoints({ dir });
  for (const c of all.slice(0, Math.max(0, all.length - keep))) {
    // Rename first, so a half-deleted checkpoint never looks complete.
    const doomed = join(dir, `.del-${c.name}-${randomBytes(4).toString('hex')}`);
    await rename(c.dir, doomed);
    await rm(doomed, { recursive: true, force: true });
  }
}

async function durable(file: string, data: string | Uint8Array): Promise<void> {
  await writeFile(file, data);
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
