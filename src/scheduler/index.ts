/**
 * scheduler/: the Scheduler contract (contract.ts), the job spec (spec.ts) and the two
 * implementations, `slurm` and `none`. `schedulerFor` picks one for a host profile:
 * `scheduler: auto` asks the host once whether `sbatch` is on its login PATH (cached).
 */
import type { HostProfile } from '../config/schema.js';
import { UnreachableError } from '../core/errors.js';
import { lastNonEmptyLine } from '../transport/noise.js';
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

/** Tries of the detection before berth says it cannot tell (a busy login node is slow). */
const DETECT_ATTEMPTS = 2;
const DETECT_TIMEOUT_MS = 30_000;

/** slurm when `sbatch` is on the host's login PATH, else none; asked once per host. */
export function detectScheduler(runner: Runner): Promise<'slurm' | 'none'> {
  const key = `${runner.kind}:${runner.host}`;
  let found = detected.get(key);
  if (!found) {
    found = detectOnce(runner);
    detected.set(key, found);
    found.catch(() => detected.delete(key));
  }
  return found;
}

async function detectOnce(runner: Runner): Promise<'slurm' | 'none'> {
  let why = '';
  for (let attempt = 1; attempt <= DETECT_ATTEMPTS; attempt++) {
    const r = await runner.sh('command -v sbatch >/dev/null && echo @@slurm || echo @@none', {
      timeoutMs: DETECT_TIMEOUT_MS,
    });
    const answer = /@@(slurm|none)/.exec(r.stdout)?.[1];
    if (!r.timedOut && answer) return answer as 'slurm' | 'none';
    const said = lastNonEmptyLine(r.stderr)?.slice(0, 300);
    why = r.timedOut
      ? `no answer within ${DETECT_TIMEOUT_MS / 1000} s`
      : `the login shell exited ${r.exitCode ?? r.signal}${said ? `: ${said}` : ''}`;
  }
  throw new UnreachableError(`cannot tell which scheduler host ${runner.host} has: ${why}`, {
    hint: 'set hosts.<name>.scheduler to slurm or none, or check the host with berth host check',
  });
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
