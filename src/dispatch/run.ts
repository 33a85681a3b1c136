/**
 * runJob: run a command in the foreground on a host (srun on SLURM, the process itself
 * without a scheduler), output streamed line by line, exit code preserved. The run is
 * recorded in the store as `<host>:run-<ulid>` with its end state.
 */
import { ulid } from 'ulid';
import type { JobState } from '../core/states.js';
import type { ForegroundIo } from '../scheduler/contract.js';
import { mergeSpec } from '../scheduler/spec.js';
import { jobPatchOf } from '../scheduler/watcher-store.js';
import { patchJob, upsertJob } from '../store/index.js';
import { quoteArgs } from '../transport/quote.js';
import type { Dispatch } from './session.js';
import { hostLayer } from './submit.js';

export interface RunInput {
  host?: string;
  spec: Record<string, unknown>;
  io?: ForegroundIo;
}

export interface RunResultView {
  key: string;
  host: string;
  exitCode: number;
  signal: string | null;
  state: JobState;
  durationMs: number;
}

export async function runJob(d: Dispatch, input: RunInput): Promise<RunResultView> {
  const host = await d.host(input.host);
  const spec = mergeSpec(hostLayer(host.profile.slurm), input.spec);
  const key = `${host.name}:run-${ulid().toLowerCase()}`;
  const db = (await d.store()).db;
  const t0 = Date.now();
  const running: JobState = { kind: 'running', nodes: [], startedAt: t0 };
  await upsertJob(db, {
    key,
    host: host.name,
    scheduler: host.scheduler.kind,
    name: spec.name,
    command: spec.command ? quoteArgs(spec.command) : '(script)',
    resources: spec.resources as Record<string, unknown>,
    state: 'running',
    submittedAt: t0,
    startedAt: t0,
    extra: { foreground: true, watch: { state: running } },
  });
  const r = await host.scheduler.runForeground(spec, input.io ?? {});
  const endedAt = Date.now();
  const state: JobState =
    r.exitCode === 0
      ? { kind: 'completed', exitCode: 0, endedAt }
      : { kind: 'failed', exitCode: r.exitCode, endedAt };
  await patchJob(db, key, { ...jobPatchOf(state), extra: { foreground: true, watch: { state } } });
  return {
    key,
    host: host.name,
    exitCode: r.exitCode,
    signal: r.signal,
    state,
    durationMs: endedAt - t0,
  };
}
