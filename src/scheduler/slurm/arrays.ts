/**
 * Arrays beyond the site limit. SLURM refuses array indices >= MaxArraySize, so a logical
 * array (tasks 0..N-1, or any sparse list such as the missing tasks of a pipeline stage)
 * is cut into chunks. Each chunk is one SLURM array whose indices are all below
 * MaxArraySize, with an offset: the task's logical index is
 * `BERTH_ARRAY_OFFSET + SLURM_ARRAY_TASK_ID` (see `logicalIndex`). A chunk's `--array`
 * text also stays under a length limit. A throttle (`%N`) applies to each chunk on its
 * own, so k chunks may run up to k×N tasks at once unless the caller chains them.
 */
import { UsageError } from '../../core/errors.js';
import { formatRange, parseArraySpec } from '../../core/jobid.js';
import type { JobSpec } from '../spec.js';

/** The env variable that carries a chunk's offset into its tasks. */
export const ARRAY_OFFSET_ENV = 'BERTH_ARRAY_OFFSET';

/** SLURM's default MaxArraySize. */
export const DEFAULT_MAX_ARRAY_SIZE = 1001;
/** berth's own cap on one `--array` value, well under any command-line limit. */
export const DEFAULT_MAX_ARRAY_ARG = 10_000;

export interface ArrayChunk {
  /** Added to SLURM_ARRAY_TASK_ID to give the logical task index. */
  offset: number;
  /** SLURM array indices of this chunk, sorted, each < maxArraySize. */
  indices: number[];
  /** The `--array` value, with `%throttle` when throttled. */
  arrayArg: string;
  throttle?: number;
}

export interface ChunkOptions {
  maxArraySize?: number;
  maxArgLength?: number;
  throttle?: number;
}

/**
 * Cut logical indices (any order, duplicates ignored) into as few chunks as the limits
 * allow. Every index lands in exactly one chunk. When all indices fit below MaxArraySize
 * in one argument, the single chunk has offset 0 and the indices are unchanged.
 */
export function planArrayChunks(logical: readonly number[], opts: ChunkOptions = {}): ArrayChunk[] {
  const max = opts.maxArraySize ?? DEFAULT_MAX_ARRAY_SIZE;
  const maxArg = opts.maxArgLength ?? DEFAULT_MAX_ARRAY_ARG;
  const throttle = opts.throttle;
  const suffix = throttle === undefined ? 0 : `%${throttle}`.length;
  if (max < 1 || maxArg < 20 + suffix) {
    throw new UsageError('array limits are too small', {
      hint: 'MaxArraySize must be at least 1 and the --array length limit at least 20 characters',
    });
  }
  const sorted = [...new Set(logical)].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  if (sorted.some((i) => !Number.isInteger(i) || i < 0)) {
    throw new UsageError('array indices are whole numbers from 0', { hint: 'check the task list' });
  }
  // Offset 0 while everything fits keeps SLURM_ARRAY_TASK_ID equal to the logical index.
  const base = sorted.at(-1)! < max ? 0 : undefined;
  const chunks: ArrayChunk[] = [];
  let builder: ChunkBuilder | undefined;
  for (const index of sorted) {
    if (builder && !builder.tryAdd(index, max, maxArg - suffix)) {
      chunks.push(builder.finish(throttle));
      builder = undefined;
    }
    if (!builder) {
      builder = new ChunkBuilder(base ?? index);
      builder.tryAdd(index, max, maxArg - suffix);
    }
  }
  if (builder) chunks.push(builder.finish(throttle));
  return chunks;
}

// Builds one chunk's ranges, tracking the length of the `--array` text as it grows.
class ChunkBuilder {
  private readonly ranges: Array<[number, number]> = [];
  private length = 0;
  constructor(private readonly offset: number) {}

  tryAdd(logical: number, max: number, maxLength: number): boolean {
    const i = logical - this.offset;
    if (i >= max) return false;
    const last = this.ranges.at(-1);
    if (last && last[1] === i - 1) {
      const grown = this.length - formatRange(last).length + formatRange([last[0], i]).length;
      if (grown > maxLength) return false;
      last[1] = i;
      this.length = grown;
      return true;
    }
    const grown = this.length + (last ? 1 : 0) + String(i).length;
    if (grown > maxLength) return false;
    this.ranges.push([i, i]);
    this.length = grown;
    return true;
  }

  finish(throttle: number | undefined): ArrayChunk {
    const indices: number[] = [];
    for (const [a, b] of this.ranges) for (let i = a; i <= b; i++) indices.push(i);
    const text = this.ranges.map(formatRange).join(',');
    return {
      offset: this.offset,
      indices,
      arrayArg: throttle === undefined ? text : `${text}%${throttle}`,
      ...(throttle === undefined ? {} : { throttle }),
    };
  }
}

/** Chunks for a logical array spec such as `0-2499%50` or `3,7,1200-1300`. */
export function planArraySpec(
  spec: string,
  opts: Omit<ChunkOptions, 'throttle'> = {},
): ArrayChunk[] {
  const parsed = parseArraySpec(spec);
  return planArrayChunks(parsed.indices, {
    ...opts,
    ...(parsed.throttle === undefined ? {} : { throttle: parsed.throttle }),
  });
}

/** The logical task index of SLURM array index `slurmIndex` in `chunk`. */
export function logicalIndex(chunk: Pick<ArrayChunk, 'offset'>, slurmIndex: number): number {
  return chunk.offset + slurmIndex;
}

/** The logical indices a chunk covers. */
export function chunkLogicalIndices(chunk: ArrayChunk): number[] {
  return chunk.indices.map((i) => chunk.offset + i);
}

/** The spec to submit for one chunk: its `--array` and BERTH_ARRAY_OFFSET (also when 0). */
export function specForChunk(spec: JobSpec, chunk: ArrayChunk): JobSpec {
  return {
    ...spec,
    array: chunk.arrayArg,
    env: { ...spec.env, [ARRAY_OFFSET_ENV]: String(chunk.offset) },
  };
}
