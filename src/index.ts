/**
 * hpc-berth: the library behind the `berth` CLI. Every CLI command calls these functions and
 * prints the objects they return (`--json` prints them as they are).
 *
 * Each group below re-exports an explicit list from its module's index.
 */

// sessions, tmux and checkpoints
export * from './checkpoint/index.js';
// configuration
export * from './config/index.js';
// durations, job ids, job states
export { formatMemory, formatSlurmTime, parseDuration, parseMemory } from './core/duration.js';
// errors, names, versions
export {
  BerthError,
  ConfigError,
  ConflictError,
  EXIT,
  isBerthError,
  NotFoundError,
  RemoteError,
  TimeoutError,
  UnreachableError,
  UsageError,
} from './core/errors.js';
export type { ArraySpec, JobId, StepId } from './core/jobid.js';
export { formatArraySpec, formatJobId, parseArraySpec, parseJobId } from './core/jobid.js';
export { NAME_PATTERN, type NameKind, validateName } from './core/names.js';
export {
  fromSlurmState,
  isTerminal,
  type JobEvent,
  type JobState,
  parseExitCode,
  TERMINAL_KINDS,
  transition,
} from './core/states.js';
export { VERSION } from './core/version.js';
// dispatch: one-shot jobs (berth job ...) and file sync (berth sync ...)
export {
  type CancelOptions,
  cancelJob,
  type Dispatch,
  type DispatchOptions,
  type FetchOptions,
  type FetchResult,
  fetchJob,
  type JobListFilter,
  type JobView,
  jobLogs,
  jobStatus,
  type LogsOptions,
  type LogsResult,
  listJobRecords,
  /** Jobs berth dispatched (the store's `listJobs` lists every job row). */
  listJobs as listDispatchedJobs,
  openDispatch,
  type PlanView,
  planJob,
  runJob,
  type SubmitInput,
  stateExitCode,
  submitJob,
  waitExitCode,
  waitJobs,
} from './dispatch/index.js';
// hosts
export { type CheckOptions, checkHost, type HostCheck } from './host/check.js';
export { runnerFor } from './host/connect.js';
export { type ProbeReport, parseProbe, renderProbeScript } from './host/probe.js';
// leases: held allocations (berth lease ...)
export * from './lease/index.js';
// monitor: run wrapper, events, outbox, sinks, timeline
export * from './monitor/index.js';
// pipelines: staged array workflows (berth pipeline ...)
export {
  type CancelResult as PipelineCancelResult,
  cancelRun as cancelPipelineRun,
  type ExecuteResult as PipelineExecuteResult,
  listRuns as listPipelineRuns,
  loadPipelineSpec,
  type PipelineSpec,
  type Plan as PipelinePlan,
  parsePipelineSpec,
  planPipeline,
  planSpec as planPipelineSpec,
  type RunContext as PipelineRunContext,
  type RunStatus as PipelineRunStatus,
  readMarkers as readPipelineMarkers,
  resumeRun as resumePipelineRun,
  runLocal as runPipelineLocal,
  runSlurm as runPipelineSlurm,
  runStatus as pipelineRunStatus,
  type SlurmTarget as PipelineSlurmTarget,
  type SubmittedUnit as PipelineSubmittedUnit,
  startRun as startPipelineRun,
} from './pipeline/index.js';
// schedulers: contract, job spec, SLURM renderers and parsers
export type {
  ForegroundIo,
  Observation,
  Scheduler,
  SchedulerKind,
  Submission,
} from './scheduler/contract.js';
// schedulers (slurm | none) and the per-host status watcher
export { detectScheduler, NoneScheduler, SlurmScheduler, schedulerFor } from './scheduler/index.js';
export {
  type ArrayChunk,
  logicalIndex,
  planArrayChunks,
  specForChunk,
} from './scheduler/slurm/arrays.js';
export {
  parseSacct,
  parseSbatchReply,
  parseSqueue,
  type SacctRow,
  type SqueueRow,
  sacctArgs,
  squeueArgs,
} from './scheduler/slurm/parse.js';
export { renderSbatchArgs, renderSbatchScript, renderSrunArgs } from './scheduler/slurm/render.js';
export {
  type JobSpec,
  type JobSpecInput,
  mergeSpec,
  parseJobSpec,
  SPEC_KEYS,
} from './scheduler/spec.js';
export {
  closeWatchers,
  HostWatcher,
  type HostWatcherOptions,
  type TrackOptions,
  watcherFor,
} from './scheduler/watcher.js';
export { storePersist, trackOptionsOf } from './scheduler/watcher-store.js';
// the HTTP API server (berth serve)
export * from './server/index.js';
export * from './sessions/index.js';
// store
export * from './store/index.js';
export * from './sync/index.js';
export * from './tmux/index.js';
// machine access
export * from './transport/index.js';
