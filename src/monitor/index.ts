/**
 * monitor/: monitored runs and their lifecycle events. Events are written to an outbox
 * (append-only JSONL, fsync) before they are delivered to sinks (store, HTTP API,
 * webhooks); whatever a sink missed is replayed later. See docs/monitor.md.
 */
export { Deliverer, type DeliverOptions, deliverOutbox, type SinkReport } from './deliver.js';
export {
  defaultJobKey,
  EVENT_TYPES,
  type EventType,
  FAIL_REASONS,
  type FailReason,
  isEventType,
  isTerminalEvent,
  JOB_KEY_PATTERN,
  type MachineFacts,
  type MonitorEvent,
  makeEvent,
  type RunContext,
  runContext,
  type SlurmIds,
  slurmIds,
  slurmResources,
  validateJobKey,
} from './events.js';
export {
  defaultOutboxDirs,
  type FlushReport,
  type FlushSinkTotal,
  findOutboxes,
  flushOutboxes,
} from './flush.js';
export { applyEvent, jobFromEvents, stateForFailure } from './fold.js';
export {
  collectOutboxes,
  eventLine,
  jobKeyFileName,
  Outbox,
  outboxDir,
  outboxPath,
  parseEventLine,
} from './outbox.js';
export {
  lookupSlurmState,
  oomFileFor,
  parseOomKills,
  parseSacctState,
  parseScontrolReason,
  parseScontrolState,
  readOomKills,
  reasonFromSlurm,
  reasonFromSlurmState,
} from './reason.js';
export {
  defaultRefine,
  procState,
  type Refined,
  type RefineInput,
  type RunMonitoredOptions,
  type RunOutcome,
  runMonitored,
} from './run.js';
export {
  createSinks,
  type SinkSettings,
  sinkSettingsFromConfig,
  sinkSettingsFromEnv,
  webhookSinkName,
} from './sinks/config.js';
export { eventsEndpoint, HttpSink, type HttpSinkOptions } from './sinks/http.js';
export { displayUrl, redact, urlSecrets } from './sinks/redact.js';
export { backoffMs, type PostResult, postWithRetry, type RetryOptions } from './sinks/retry.js';
export type { DeliverCallOptions, DeliveryResult, Sink } from './sinks/sink.js';
export { StoreSink, type StoreSinkOptions } from './sinks/store.js';
export {
  DEFAULT_WEBHOOK_TYPES,
  globToRegExp,
  matchesFilter,
  parseEventTypes,
  renderWebhook,
  signBody,
  summary,
  verifySignature,
  WEBHOOK_KINDS,
  type WebhookFilter,
  type WebhookKind,
  type WebhookOptions,
  WebhookSink,
} from './sinks/webhook.js';
export {
  jobNameFrom,
  planScript,
  renderWrapper,
  type ScriptParts,
  type SubmitScriptInput,
  type SubmitScriptResult,
  splitUserScript,
  submitScript,
  type WrapperInput,
} from './submit.js';
export {
  type ChildExit,
  forwardedSignal,
  HANDLED_SIGNALS,
  initialState,
  type Outcome,
  outcome,
  type RefinedReason,
  type SupervisorState,
  step,
} from './supervise.js';
export { formatDuration, renderTimeline, type TimelineOptions } from './timeline.js';
