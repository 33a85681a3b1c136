/**
 * cancelJob: cancel a job (every chunk of a split array), one array task (`123_7`, mapped
 * into its chunk) or one SLURM step (`123.4`); then observe it once and record that.
 */
import {
  extraOf,
  type JobView,
  observedView,
  recordObservation,
  resolveRef,
  schedulerIdOf,
} from './jobs.js';
import type { Dispatch } from './session.js';

export interface CancelOptions {
  host?: string;
  /** Only send this signal (scancel --signal; kill for none). */
  signal?: string;
}

export async function cancelJob(
  d: Dispatch,
  id: string,
  opts: CancelOptions = {},
): Promise<JobView> {
  const ref = await resolveRef(d, id, opts.host);
  const sid = schedulerIdOf(ref);
  const whole = ref.task === undefined && ref.step === undefined;
  const ids = whole ? extraOf(ref.record).schedulerIds : undefined;
  await ref.host.scheduler.cancel(sid, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(ids?.length ? { schedulerIds: ids } : {}),
  });
  const hint = whole && ref.record ? extraOf(ref.record) : undefined;
  const hints = new Map(
    hint?.schedulerIds
      ? [
          [
            sid,
            {
              schedulerIds: hint.schedulerIds,
              ...(hint.taskCount ? { taskCount: hint.taskCount } : {}),
            },
          ],
        ]
      : [],
  );
  const obs = (await ref.host.scheduler.observe([sid], hints)).get(sid)!;
  const state = await recordObservation(d, ref, obs);
  return observedView(ref, obs, state);
}
