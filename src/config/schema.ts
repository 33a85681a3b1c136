/**
 * The shape of berth's configuration: TypeScript types of the resolved configuration and
 * the zod schemas that check each layer (a config file, the env overlay, flags). Every
 * object is strict, so a misspelt key is an error that lists the valid keys.
 */
import { z } from 'zod';
import { validateName } from '../core/names.js';
import { EVENT_TYPES, type EventType, isEventType } from '../monitor/events.js';
import { WEBHOOK_KINDS, type WebhookKind } from '../monitor/sinks/webhook.js';
import { isSshTarget, SSH_TARGET_HELP } from './ssh-target.js';

export const SCHEDULERS = ['slurm', 'none', 'auto'] as const;
export type SchedulerChoice = (typeof SCHEDULERS)[number];

export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Status-watcher intervals, in seconds (see docs/configuration.md). */
export interface PollSettings {
  minIntervalS: number;
  submitIntervalS: number;
  runningIntervalS: number;
  maxIntervalS: number;
  backoffFactor: number;
  jitter: number;
}

export interface SshSettings {
  connectTimeoutS: number;
  controlPersist: string;
}

/** Defaults for every job berth submits to a SLURM host. */
export interface SlurmDefaults {
  partition?: string;
  account?: string;
  qos?: string;
  time?: string;
  constraint?: string;
  extraArgs?: string[];
}

/** A host as written in the configuration (after the layers are merged). */
export interface HostConfig {
  ssh?: string;
  sshConfig?: string;
  scheduler: SchedulerChoice;
  root?: string;
  slurm?: SlurmDefaults;
  poll?: Partial<PollSettings>;
}

/** A host ready to use: its name, and its poll settings merged over the top-level ones. */
export interface HostProfile extends HostConfig {
  name: string;
  slurm: SlurmDefaults;
  poll: PollSettings;
}

/** Where the monitor's `api` sink posts events (a `berth serve` elsewhere); '' = off. */
export interface ApiClientSettings {
  url: string;
  /** Bearer token from `berth token create` (a secret: redacted when shown). */
  token: string;
}

/** `berth serve`: where it listens and its limits (docs/api.md). */
export interface ServeSettings {
  bind: string;
  port: number;
  /** Largest request body: bytes, or `512K`, `1M`. */
  bodyLimit: string;
  maxBatch: number;
  /** Requests per second per token, sustained; 0 = no limit. */
  rate: number;
  burst: number;
  publicMetrics: boolean;
  shutdownTimeoutS: number;
}

/** One webhook of the monitor (docs/webhooks.md); unset keys take the sink's defaults. */
export interface WebhookConfig {
  url?: string;
  kind?: WebhookKind;
  /** HMAC key (json) or ntfy access token (a secret: redacted when shown). */
  secret?: string;
  /** Event types to send, or `all`; default every type but HEARTBEAT. */
  events?: 'all' | EventType[];
  /** Glob over job keys; default every job. */
  jobs?: string;
}

export interface BerthConfig {
  stateDir: string;
  dbUrl: string;
  defaultHost: string;
  logLevel: LogLevel;
  ssh: SshSettings;
  poll: PollSettings;
  hosts: Record<string, HostConfig>;
  api: ApiClientSettings;
  serve: ServeSettings;
  webhooks: Record<string, WebhookConfig>;
}

export { SECRET_KEYS } from './keys.js';

/** One layer (a file, the env overlay, the flags) before merging: every key optional. */
export type ConfigLayer = z.infer<typeof layerSchema>;

const seconds = z.number().positive().max(86_400);
const word = z.string().regex(/^\S+$/, 'must be one word (no spaces or newlines)');
const oneLine = z
  .string()
  .min(1)
  .regex(/^[^\n\r]*$/, 'must be a single line');

const hostName = z.string().superRefine((name, ctx) => {
  try {
    validateName('host', name);
  } catch (e) {
    const err = e as Error & { hint?: string };
    ctx.addIssue({ code: 'custom', message: `${err.message}; ${err.hint ?? ''}`.trim() });
  }
});

export const pollSchema = z.strictObject({
  minIntervalS: seconds.optional(),
  submitIntervalS: seconds.optional(),
  runningIntervalS: seconds.optional(),
  maxIntervalS: seconds.optional(),
  backoffFactor: z.number().min(1).max(10).optional(),
  jitter: z.number().min(0).max(1).optional(),
});

export const sshSchema = z.strictObject({
  connectTimeoutS: z.number().int().min(1).max(3600).optional(),
  controlPersist: z
    .string()
    .regex(
      /^(yes|no|([0-9]+[smhdwSMHDW]?)+)$/,
      'expected an OpenSSH time like 10m, 600, 1h30m, or yes/no',
    )
    .optional(),
});

export const slurmSchema = z.strictObject({
  partition: word.optional(),
  account: word.optional(),
  qos: word.optional(),
  time: z
    .string()
    .regex(
      /^(([0-9]+-)?[0-9]+(:[0-9]{1,2}){0,2}|UNLIMITED|INFINITE)$/i,
      'expected a SLURM time like 30, 2:00:00 or 1-12:00:00',
    )
    .optional(),
  constraint: word.optional(),
  extraArgs: z
    .array(
      z
        .string()
        .regex(
          /^--[A-Za-z][A-Za-z0-9-]*(=[^\n\r]*)?$/,
          'each entry must be --option or --option=value',
        ),
    )
    .optional(),
});

export const hostSchema = z.strictObject({
  ssh: z.string().refine(isSshTarget, `expected ${SSH_TARGET_HELP}`).optional(),
  sshConfig: oneLine.optional(),
  scheduler: z.enum(SCHEDULERS).optional(),
  root: oneLine.optional(),
  slurm: slurmSchema.optional(),
  poll: pollSchema.optional(),
});

export const hostsSchema = z.record(hostName, hostSchema).superRefine((hosts, ctx) => {
  if (hosts.local?.ssh !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['local', 'ssh'],
      message:
        'the local host is this machine and cannot have ssh; give the remote host its own name',
    });
  }
});

const URL_TEXT = 'https?:\\/\\/[^\\s/?#]+\\S*';
const httpUrl = z
  .string()
  .regex(new RegExp(`^${URL_TEXT}$`), 'expected an http:// or https:// URL');

const secretText = z
  .string()
  .min(1)
  .regex(/^[^\n\r]*$/, 'must be a single line');

export const apiSchema = z.strictObject({
  url: z
    .string()
    .regex(new RegExp(`^(${URL_TEXT})?$`), 'expected an http:// or https:// URL, or "" for none')
    .optional(),
  token: z
    .string()
    .regex(/^[^\n\r]*$/, 'must be a single line')
    .optional(),
});

/** `1048576`, `512K`, `1M`, `2MiB`: a size in bytes (undefined when not one). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  return Math.floor(Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1));
}

export const serveSchema = z.strictObject({
  bind: z
    .string()
    .regex(/^[A-Za-z0-9.:_-]+$/, 'expected an address such as 127.0.0.1, ::1 or 0.0.0.0')
    .optional(),
  port: z.number().int().min(0).max(65535).optional(),
  bodyLimit: z
    .string()
    .refine(
      (t) => (parseSize(t) ?? 0) >= 1024,
      'expected a size of at least 1K: bytes, or 512K, 1M',
    )
    .optional(),
  maxBatch: z.number().int().min(1).max(100_000).optional(),
  rate: z.number().int().min(0).optional(),
  burst: z.number().int().min(1).optional(),
  publicMetrics: z.boolean().optional(),
  shutdownTimeoutS: seconds.optional(),
});

export const webhookSchema = z.strictObject({
  url: httpUrl.optional(),
  kind: z.enum(WEBHOOK_KINDS).optional(),
  secret: secretText.optional(),
  events: z
    .custom<'all' | EventType[]>(
      (v) => v === 'all' || (Array.isArray(v) && v.length > 0 && v.every((t) => isEventType(t))),
      `expected all, or a list of event types from ${EVENT_TYPES.join(', ')}`,
    )
    .optional(),
  jobs: oneLine.optional(),
});

const webhookName = z.string().superRefine((name, ctx) => {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,55}$/.test(name)) return;
  ctx.addIssue({
    code: 'custom',
    message: `invalid webhook name ${JSON.stringify(name)}; webhook names are up to 56 letters, digits, '.', '_' and '-'`,
  });
});

export const layerSchema = z.strictObject({
  stateDir: oneLine.optional(),
  dbUrl: z
    .string()
    .regex(
      /^([A-Za-z][A-Za-z0-9+.-]*:\S+)?$/,
      'expected a database URL (postgres://…, mysql://…, sqlite:/path/file.db) or "" for SQLite in stateDir',
    )
    .optional(),
  defaultHost: hostName.optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  ssh: sshSchema.optional(),
  poll: pollSchema.optional(),
  hosts: hostsSchema.optional(),
  api: apiSchema.optional(),
  serve: serveSchema.optional(),
  webhooks: z.record(webhookName, webhookSchema).optional(),
});

/** The keys valid at a path of the layer schema (for "valid keys are …" messages). */
export function validKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = layerSchema;
  for (const key of path) {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) schema = inner.shape[String(key)] ?? z.never();
    else if (inner instanceof z.ZodRecord) schema = inner.valueType as z.ZodType;
    else return [];
  }
  const inner = unwrap(schema);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}
