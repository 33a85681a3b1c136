/** The job spec of a lease's hold script. */
import { type JobSpec, mergeSpec } from '../scheduler/spec.js';
import { leaseJobName } from './layout.js';

/** The host's SLURM defaults overlaid by the requested resources (`{ cpus: 2, time: '2h' }`). */
export function leaseJobSpec(
  name: string,
  hostDefaults: Record<string, unknown>,
  resources: Record<string, unknown> = {},
): JobSpec {
  return mergeSpec(
    { script: 'true', name: leaseJobName(name), resources: hostDefaults },
    { resources },
  );
}
