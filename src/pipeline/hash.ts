/**
 * Stable hashes: a task's seed and a stage's config hash.
 *
 * BERTH_TASK_SEED = the first 4 bytes of sha256("<run seed>/<step>/<task>") as a
 * big-endian unsigned integer with the top bit cleared (0 … 2^31-1), so every tool
 * (awk's srand, numpy, C's rand) accepts it. The same seed, step and task always give
 * the same number, on any host.
 */
import { createHash } from 'node:crypto';

export function taskSeed(runSeed: number, step: number, task: number): number {
  const digest = createHash('sha256').update(`${runSeed}/${step}/${task}`).digest();
  return digest.readUInt32BE(0) & 0x7fffffff;
}

/** sha256 of JSON with sorted keys, first 16 hex digits. */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 16);
}

export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
