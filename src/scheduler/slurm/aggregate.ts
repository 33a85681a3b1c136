/**
 * One logical state for an array job from the states of its tasks, and the per-state
 * counts `job status` shows. Pure; shared by the slurm and none schedulers so that both
 * summarise arrays the same way.
 *
 * - any task still live (pending, running, suspended, completing, unknown): the array is
 *   live: running when a task runs, else unknown when a task is unknown, else pending;
 * - every task ended: completed when all completed, else the "worst" ending, ordered
 *   failed > out_of_memory > timeout > node_fail > preempted > cancelled > lost, and of
 *   those the task with the lowest logical index (its exit code is the array's).
 */
import { isTerminal, type JobState, type StateKind } from '../../core/states.js';

export interface TaskState {
  /** Logical task index. */
  index: number;
  state: JobState;
}

const WORST: readonly StateKind[] = [
  'failed',
  'out_of_memory',
  'timeout',
  'node_fail',
  'preempted',
  'cancelled',
  'lost',
];

/** `{ completed: 7, running: 2 }`: how many tasks are in each state kind. */
export function countTasks(tasks: readonly TaskState[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of tasks) counts[t.state.kind] = (counts[t.state.kind] ?? 0) + 1;
  return counts;
}

export function aggregateTasks(tasks: readonly TaskState[]): JobState {
  const sorted = [...tasks].sort((a, b) => a.index - b.index);
  const live = sorted.filter((t) => !isTerminal(t.state));
  if (sorted.length === 0) {
    return { kind: 'unknown', reason: 'the array has no tasks in view', since: null };
  }
  if (live.length > 0) return liveState(live.map((t) => t.state));
  const ends = sorted.map((t) => t.state);
  for (const kind of WORST) {
    const first = ends.find((s) => s.kind === kind);
    if (first) return first;
  }
  const endedAt = ends.reduce<number | null>((max, s) => {
    const at = 'endedAt' in s ? s.endedAt : null;
    return at !== null && (max === null || at > max) ? at : max;
  }, null);
  return { kind: 'completed', exitCode: 0, endedAt };
}

function liveState(states: JobState[]): JobState {
  const running = states.filter(
    (s): s is Extract<JobState, { kind: 'running' | 'completing' }> =>
      s.kind === 'running' || s.kind === 'completing',
  );
  if (running.length > 0) {
    const nodes = [...new Set(running.flatMap((s) => s.nodes))].sort();
    const starts = running
      .map((s) => (s.kind === 'running' ? s.startedAt : null))
      .filter((t): t is number => t !== null);
    return { kind: 'running', nodes, startedAt: starts.length ? Math.min(...starts) : null };
  }
  const unknown = states.find((s) => s.kind === 'unknown');
  if (unknown) return unknown;
  const suspended = states.find((s) => s.kind === 'suspended');
  if (suspended) return suspended;
  const pending = states.find((s) => s.kind === 'pending');
  return pending ?? states[0]!;
}
