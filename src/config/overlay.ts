/**
 * The env and flag layers: an explicit allow-list of `BERTH_*` variables and flags, each
 * setting one configuration key. Values are typed and checked with the same schema as the
 * files; a bad value is a UsageError naming the variable or flag. Any other `BERTH_*`
 * variable is ignored by the configuration (and listed by `berth config show`).
 */
import { UsageError } from '../core/errors.js';
import { keyPath, setIn } from './keys.js';
import { issueText } from './load.js';
import { layerSchema } from './schema.js';

type Env = Record<string, string | undefined>;

export interface Override {
  key: readonly string[];
  env: string;
  flag?: string;
  /** lower: a word, lower-cased; events: `all` or a comma-separated list, upper-cased. */
  kind: 'string' | 'number' | 'path' | 'boolean' | 'lower' | 'events';
  /** The value is a secret: a message about a bad value never repeats it. */
  secret?: true;
}

// biome-ignore format: column-aligned so the allow-list reads as one table
export const OVERRIDES: readonly Override[] = [
  { key: ['stateDir'],                env: 'BERTH_STATE_DIR',             flag: '--state-dir',           kind: 'path' },
  { key: ['dbUrl'],                   env: 'BERTH_DB_URL',                flag: '--db-url',              kind: 'string' },
  { key: ['defaultHost'],             env: 'BERTH_HOST',                  flag: '--host',                kind: 'string' },
  { key: ['logLevel'],                env: 'BERTH_LOG_LEVEL',             flag: '--log-level',           kind: 'string' },
  { key: ['ssh', 'connectTimeoutS'],  env: 'BERTH_SSH_CONNECT_TIMEOUT',   flag: '--ssh-connect-timeout', kind: 'number' },
  { key: ['ssh', 'controlPersist'],   env: 'BERTH_SSH_CONTROL_PERSIST',                                  kind: 'string' },
  { key: ['poll', 'minIntervalS'],    env: 'BERTH_POLL_MIN_INTERVAL',                                    kind: 'number' },
  { key: ['poll', 'submitIntervalS'], env: 'BERTH_POLL_SUBMIT_INTERVAL',                                 kind: 'number' },
  { key: ['poll', 'runningIntervalS'],env: 'BERTH_POLL_RUNNING_INTERVAL',                                kind: 'number' },
  { key: ['poll', 'maxIntervalS'],    env: 'BERTH_POLL_MAX_INTERVAL',                                    kind: 'number' },
  { key: ['poll', 'backoffFactor'],   env: 'BERTH_POLL_BACKOFF_FACTOR',                                  kind: 'number' },
  { key: ['poll', 'jitter'],          env: 'BERTH_POLL_JITTER',                                          kind: 'number' },
  { key: ['api', 'url'],              env: 'BERTH_API_URL',                                              kind: 'string' },
  { key: ['api', 'token'],            env: 'BERTH_API_TOKEN',                                            kind: 'string', secret: true },
  { key: ['serve', 'bind'],           env: 'BERTH_SERVE_BIND',            flag: '--bind',                kind: 'string' },
  { key: ['serve', 'port'],           env: 'BERTH_SERVE_PORT',            flag: '--port',                kind: 'number' },
  { key: ['serve', 'bodyLimit'],      env: 'BERTH_SERVE_BODY_LIMIT',      flag: '--body-limit',          kind: 'string' },
  { key: ['serve', 'maxBatch'],       env: 'BERTH_SERVE_MAX_BATCH',       flag: '--max-batch',           kind: 'number' },
  { key: ['serve', 'rate'],           env: 'BERTH_SERVE_RATE',            flag: '--rate',                kind: 'number' },
  { key: ['serve', 'burst'],          env: 'BERTH_SERVE_BURST',           flag: '--burst',               kind: 'number' },
  { key: ['serve', 'publicMetrics'],  env: 'BERTH_SERVE_PUBLIC_METRICS',  flag: '--public-metrics',      kind: 'boolean' },
  { key: ['serve', 'shutdownTimeoutS'], env: 'BERTH_SERVE_SHUTDOWN_TIMEOUT', flag: '--shutdown-timeout', kind: 'number' },
  { key: ['webhooks', 'default', 'url'],    env: 'BERTH_WEBHOOK_URL',                                    kind: 'string' },
  { key: ['webhooks', 'default', 'kind'],   env: 'BERTH_WEBHOOK_KIND',                                   kind: 'lower' },
  { key: ['webhooks', 'default', 'secret'], env: 'BERTH_WEBHOOK_SECRET',                                 kind: 'string', secret: true },
  { key: ['webhooks', 'default', 'events'], env: 'BERTH_WEBHOOK_EVENTS',                                 kind: 'events' },
  { key: ['webhooks', 'default', 'jobs'],   env: 'BERTH_WEBHOOK_JOBS',                                   kind: 'string' },
];

/** One overlay: a partial configuration and, per leaf key, where it came from. */
export interface Overlay {
  layer: Record<string, unknown>;
  sources: Record<string, string>;
}

/** The env layer. Empty variables count as unset. */
export function envOverlay(env: Env, resolvePath: (p: string) => string): Overlay {
  const set: Array<[Override, unknown, string]> = [];
  for (const o of OVERRIDES) {
    const raw = env[o.env];
    if (raw !== undefined && raw !== '') set.push([o, raw, o.env]);
  }
  return build(set, (name) => `env:${name}`, resolvePath);
}

/**
 * The flag layer, from a command's parsed options (commander's camelCase names:
 * `--state-dir` → `stateDir`). Options that aren't configuration flags are ignored.
 */
export function flagOverlay(
  flags: Record<string, unknown>,
  resolvePath: (p: string) => string,
): Overlay {
  const set: Array<[Override, unknown, string]> = [];
  for (const o of OVERRIDES) {
    if (!o.flag) continue;
    const raw = flags[flagAttribute(o.flag)];
    if (raw !== undefined && raw !== '') set.push([o, raw, o.flag]);
  }
  return build(set, (name) => `flag:${name}`, resolvePath);
}

/**
 * `BERTH_*` variables that other modules read themselves: the monitor's outbox
 * (docs/monitor.md), the job, session, lease and pipeline runtime
 * variables berth sets for the commands it starts, and the session search path.
 */
export const READ_ELSEWHERE: readonly string[] = [
  'BERTH_OUTBOX_DIR',
  'BERTH_REMOTE_BIN',
  'BERTH_SESSION_DIRS',
  'BERTH_ARRAY_OFFSET',
  'BERTH_CHECKPOINT_DIR',
  'BERTH_JOB_DIR',
  'BERTH_JOB_HOST',
  'BERTH_JOB_ID',
  'BERTH_JOB_KEY',
  'BERTH_RESUME_FROM',
  'BERTH_RUN',
  'BERTH_TASK_ID',
  'BERTH_TASK_SEED',
];

/** `BERTH_*` variables that set nothing in the configuration and no module reads. */
export function ignoredEnv(env: Env): string[] {
  const known = new Set([...OVERRIDES.map((o) => o.env), ...READ_ELSEWHERE]);
  return Object.keys(env)
    .filter((k) => k.startsWith('BERTH_') && !known.has(k))
    .sort();
}

export function flagAttribute(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function build(
  set: Array<[Override, unknown, string]>,
  source: (name: string) => string,
  resolvePath: (p: string) => string,
): Overlay {
  const layer: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const [o, raw, name] of set) {
    setIn(layer, o.key, typed(o, raw, name, resolvePath));
    sources[keyPath(o.key)] = source(name);
  }
  const result = layerSchema.safeParse(layer);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const hit = set.find(([o]) => keyPath(o.key) === keyPath(issue.path)) ?? set[0]!;
    throw bad(hit[2], hit[0].secret ? undefined : hit[1], issueText(issue, layer));
  }
  return { layer, sources };
}

function typed(
  o: Override,
  raw: unknown,
  name: string,
  resolvePath: (p: string) => string,
): unknown {
  const text = String(raw).trim();
  switch (o.kind) {
    case 'number':
      if (typeof raw === 'number') return raw;
      if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(text)) {
        throw bad(name, raw, `expected number, got string ${JSON.stringify(raw)}`);
      }
      return Number(text);
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off)$/i.test(text)) return false;
      throw bad(name, raw, 'expected a boolean: true/false, yes/no, 1/0, on/off');
    case 'lower':
      return text.toLowerCase();
    case 'events':
      if (/^all$/i.test(text)) return 'all';
      return text
        .split(/[\s,]+/)
        .map((t) => t.toUpperCase())
        .filter(Boolean);
    case 'path':
      return resolvePath(String(raw));
    default:
      return String(raw);
  }
}

/** A usage error about one variable or flag; `raw` undefined: a secret, not repeated. */
function bad(name: string, raw: unknown, what: string): UsageError {
  const isEnv = name.startsWith('BERTH_');
  const shown = raw === undefined ? '(hidden)' : JSON.stringify(String(raw));
  return new UsageError(`${name}=${shown}: ${what}`, {
    hint: isEnv
      ? `fix or unset ${name}; docs/configuration.md lists the BERTH_* variables`
      : `give ${name} a valid value; see docs/configuration.md`,
  });
}
