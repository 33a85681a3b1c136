/**
 * dispatch/: one-shot jobs on any configured host, SLURM or none, through one set of
 * operations. Each takes a session (`openDispatch`), records jobs in the store under
 * `<host>:<jobId>` and returns the objects `berth job … --json` prints (docs/dispatch.md).
 */
export { type CancelOptions, cancelJob } from './cancel.js';
export { type FetchOptions, type FetchResult, fetchJob } from './fetch.js';
export { type JobRef, type JobView, resolveRef, viewOf } from './jobs.js';
export { type JobListFilter, listJobRecords, stateNames } from './list.js';
export { jobLogs, type LogsOptions, type LogsResult } from './logs.js';
export { type RunInput, type RunResultView, runJob } from './run.js';
export { type Dispatch, type DispatchOptions, type HostHandle, openDispatch } from './session.js';
export { jobStatus, type ListOptions, listJobs, type StatusOptions } from './status.js';
export { hostLayer, type PlanView, planJob, type SubmitInput, submitJob } from './submit.js';
export {
  stateExitCode,
  type WaitJobsOptions,
  type WaitResult,
  waitExitCode,
  waitJobs,
} from './wait.js';
