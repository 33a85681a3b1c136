/**
 * lease/: held allocations that run many commands (DESIGN "leases"). Book once (optionally
 * persistent: resubmitted before walltime, with a tmux server whose tenant sessions follow
 * the chain), exec many, refresh, adopt, verify, release. See docs/leases.md.
 */
export { type AdoptOptions, adoptLease } from './adopt.js';
export { type AttachOptions, attachLease, renderAttach } from './attach.js';
export { type BookOptions, type BookResult, bookLease, DEFAULT_LEAD_S } from './book.js';
export { type ChainEvent, followChain, parseChain } from './chain.js';
export {
  createLeaseContext,
  type LeaseContext,
  type LeaseContextOptions,
  type LeaseHost,
  loadLease,
  openLeaseContext,
} from './context.js';
export { type ExecOptions, type ExecResult, execInLease } from './exec.js';
export { EXECUTOR, FrameReader, parseTaskFile, type TaskResult } from './executor.js';
export {
  checkHoldBody,
  type HoldScriptInput,
  MAX_HOLD_BODY,
  renderHoldScript,
} from './hold-script.js';
export { leaseDir, leaseFiles, leaseJobName, leaseSocket } from './layout.js';
export { type JobLiveness, livenessOf, observeLiveness } from './liveness.js';
export type { Lease, LeaseExtra, LeaseSpec, Liveness, TaskSummary, Tenant } from './record.js';
export { type RefreshResult, refreshLease } from './refresh.js';
export { type ReleaseResult, releaseLease } from './release.js';
export { ensureRunning } from './running.js';
export { leaseJobSpec } from './spec.js';
export { runTasks, type TasksOptions, type TasksReport } from './tasks.js';
export {
  addTenant,
  listTenants,
  removeTenant,
  type TenantInput,
  type TenantStatus,
} from './tenants.js';
export { type Check, type Granted, type VerifyReport, verifyLease } from './verify.js';
export { getLeaseView, listLeaseViews } from './view.js';
export type { WaitOutcome, WaitProgress } from './wait.js';
