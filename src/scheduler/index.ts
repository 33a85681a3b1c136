/**
 * scheduler/: the Scheduler contract (contract.ts), the job spec (spec.ts) and the two
 * implementations, `slurm` and `none`. `schedulerFor` picks one for a host profile:
 * `scheduler: auto` asks the host once whether `sbatch` is on its login PATH (cached).
 */
import type { HostProfile } from '../config/schema.js';
import { UnreachableError } from '../core/errors.js';
import type { Runner } from '../transport/runner.js';
import type { Scheduler } from './contract.js';
import { NoneScheduler } from './none/scheduler.js';
import { SlurmScheduler } from './slurm/scheduler.js';

export type {
  ForegroundIo,
  Observation,
  ObserveHint,
  Scheduler,
  SchedulerKind,
  Submission,
} from './contract.js';
export { hintFromExtra } from './contract.js';
export { NoneScheduler } from './none/scheduler.js';
export { SlurmScheduler } from './slurm/scheduler.js';

export interface SchedulerForOptions {
  /** berth's local state dir: the default root of jobs on the local host. */
  stateDir: string;
  /** Per-command timeout of scheduler queries (default 60 s). */
  timeoutMs?: number;
}

/** The default work root: the state dir on this machine, `~/berth` on a remote host. */
export function defaultRoot(runner: Runner, stateDir: string): string {
  return runner.kind === 'local' ? stateDir : '~/berth';
}

const detected = new Map<string, Promise<'slurm' | 'none'>>();

/** slurm when `sbatch` is on the host's login PATH, else none; asked once per host. */
export function detectScheduler(runner: Runner): Promise<'slurm' | 'none'> {
  const key = `${runner.kind}:${runner.host}`;
  let found = detected.get(key);
  if (!found) {
    found = runner
      .sh('command -v sbatch >/dev/null && echo @@slurm || echo @@none', { timeoutMs: 30_000 })
      .then((r) => {
        if (r.timedOut || !/@@(slurm|none)/.test(r.stdout)) {
          throw new UnreachableError(`cannot tell which scheduler host ${runner.host} has`, {
            hint: 'set hosts.<name>.scheduler to slurm or none, or check the host with berth host check',
          });
        }
        return r.stdout.includes('@@slurm') ? 'slurm' : 'none';
      });
    detected.set(key, found);
    found.catch(() => detected.delete(key));
  }
  return found;
}

export async function schedulerFor(
  runner: Runner,
  profile: Pick<HostProfile, 'scheduler' | 'root'>,
  opts: SchedulerForOptions,
): Promise<Scheduler> {
  const kind = profile.scheduler === 'auto' ? await detectScheduler(runner) : profile.scheduler;
  const root = profile.root ?? defaultRoot(runner, opts.stateDir);
  const timeout = opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs };
  return kind === 'slurm'
    ? new SlurmScheduler(runner, { root, ...timeout })
    : new NoneScheduler(runner, { root, ...timeout });
}
