/** berth's configuration: one defaults object, one cascade, host profiles. */
export { defaultConfig } from './defaults.js';
export { type ConfigFileInfo, configFiles, findProjectFile, PROJECT_FILE } from './files.js';
export { findOnPath, getHost, hasSbatchOnPath, resolveScheduler } from './hosts.js';
export { loadConfigFile, parseConfigText } from './load.js';
export { flagAttribute, OVERRIDES, type Override } from './overlay.js';
export { defaultDbFile, stateDir, userConfigFile } from './paths.js';
export { redactConfig, redactUrl } from './redact.js';
export {
  type LoadOptions,
  loadConfig,
  plainConfig,
  type ResolvedConfig,
  type Source,
} from './resolve.js';
export {
  type ApiClientSettings,
  type BerthConfig,
  type ConfigLayer,
  type HostConfig,
  type HostProfile,
  LOG_LEVELS,
  type LogLevel,
  type PollSettings,
  parseSize,
  SCHEDULERS,
  type SchedulerChoice,
  SECRET_KEYS,
  type ServeSettings,
  type SlurmDefaults,
  type SshSettings,
  type WebhookConfig,
} from './schema.js';
export { isSshTarget, parseSshTarget, type SshTarget } from './ssh-target.js';
