export { taskSeed } from './hash.js';
export { parseMarkerListing, renderMarkerListing, type TaskMarker } from './markers.js';
export { explainLines, type Plan, type PlannedUnit, planPipeline } from './plan.js';
export { type RunRecord, readSubmissions, type SubmittedUnit } from './run-files.js';
export { type LocalOutcome, runLocal } from './run-local.js';
export { runSlurm, type SlurmOutcome, type SlurmTarget, type UnitProgress } from './run-slurm.js';
export {
  type CancelResult,
  cancelRun,
  type ExecuteResult,
  listRuns,
  planSpec,
  type RunContext,
  type RunStatus,
  readMarkers,
  resumeRun,
  runDirOf,
  runStatus,
  type Staged,
  startRun,
} from './runs.js';
export { renderWriteFiles, unitJobSpec } from './slurm-render.js';
export { applySets, loadPipelineSpec, type PipelineSpec, parsePipelineSpec } from './spec.js';
