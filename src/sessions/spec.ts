/**
 * The session spec (YAML, `apiVersion: berth/v1`, `kind: Session`): one strict zod schema,
 * so a misspelt key is an error that names the valid keys. Reading a file and placing
 * problems at `file:line:col` is spec-file.ts. See docs/sessions.md for every key.
 */
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { validateName } from '../core/names.js';
import { jobSpecSchema } from '../scheduler/spec.js';

export const RUNTIMES = ['direct', 'slurm', 'slurm-tenant'] as const;
export type Runtime = (typeof RUNTIMES)[number];
export const RESTART_POLICIES = ['never', 'on-failure', 'always'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

const named = (kind: 'session' | 'host' | 'lease') =>
  z.string().superRefine((v, ctx) => {
    try {
      validateName(kind, v);
    } catch (e) {
      const err = e as Error & { hint?: string };
      ctx.addIssue({ code: 'custom', message: `${err.message}; ${err.hint ?? ''}`.trim() });
    }
  });

const oneLine = (what: string) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .refine((v) => !/[\n\r\0]/.test(v), `${what} must be a single line`);

/** A path on the host: absolute, or `~/…` in the host user's home. */
const hostPath = (what: string) =>
  oneLine(what).refine(
    (v) => v.startsWith('/') || v === '~' || v.startsWith('~/'),
    `${what} must be absolute or start with ~/ (a path on the host)`,
  );

/** Shell text: anything but a NUL byte (it is written to a file and run by bash). */
const shellText = (what: string) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .refine((v) => !v.includes('\0'), `${what} contains a NUL byte`);

/** A duration with its unit (`30s`, `5m`, `2h`): a bare number would be ambiguous here. */
const interval = () =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    if (typeof v !== 'string' || !/^\s*(\d+(\.\d+)?[dhms])+\s*$/i.test(v)) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(v)} has no unit; write a duration like 30s, 5m or 2h`,
      });
      return z.NEVER;
    }
    const s = parseDuration(v);
    if (s <= 0) ctx.addIssue({ code: 'custom', message: 'must be more than zero' });
    return s;
  });

const envSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
  .superRefine((env, ctx) => {
    for (const [name, value] of Object.entries(env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        ctx.addIssue({
          code: 'invalid_key',
          origin: 'record',
          path: [name],
          issues: [],
          input: name,
          message: `env names are like MY_VAR, not ${JSON.stringify(name)}`,
        });
      } else if (value.includes('\0')) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'contains a NUL byte' });
      }
    }
  });

const labels = z.record(
  z
    .string()
    .regex(/^[A-Za-z0-9._/-]{1,63}$/, 'label names are letters, digits, ".", "_", "/", "-"'),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
);

/** SLURM's resources as the job spec has them (partition, cpus, mem, gpus, time, …). */
const resources = jobSpecSchema.shape.resources;

const slurmSchema = z.strictObject({
  resources: resources.optional(),
  time: resources.unwrap().shape.time,
  autoResubmit: z.boolean().default(false),
  lead: interval().optional(),
  lease: named('lease').optional(),
});

const hooksSchema = z.strictObject({
  preSubmit: shellText('hooks.preSubmit').optional(),
  preStart: shellText('hooks.preStart').optional(),
  walltimeSignal: shellText('hooks.walltimeSignal').optional(),
  postStop: shellText('hooks.postStop').optional(),
});

export const sessionBodySchema = z.strictObject({
  host: named('host').optional(),
  runtime: z.enum(RUNTIMES).default('direct'),
  command: z.union(
    [
      shellText('command'),
      z.array(z.string().refine((v) => !v.includes('\0'), 'contains a NUL byte')).min(1),
    ],
    {
      error: (issue) =>
        issue.input === undefined
          ? 'command is required: shell text (a string) or a program and its arguments (a list)'
          : 'command is shell text (a string) or a program and its arguments (a list)',
    },
  ),
  workdir: oneLine('workdir').optional(),
  env: envSchema.default({}),
  slurm: slurmSchema.optional(),
  hooks: hooksSchema.default({}),
  heartbeat: z
    .strictObject({
      interval: interval(),
      command: shellText('heartbeat.command'),
    })
    .optional(),
  restart: z.enum(RESTART_POLICIES).default('never'),
  logs: z
    .strictObject({
      dir: hostPath('logs.dir').optional(),
      staleAfter: interval().optional(),
    })
    .default({}),
  checkpoint: z.strictObject({ dir: hostPath('checkpoint.dir').optional() }).default({}),
});

export const sessionManifestSchema = z
  .strictObject({
    apiVersion: z.literal('berth/v1'),
    kind: z.literal('Session'),
    metadata: z.strictObject({ name: named('session'), labels: labels.default({}) }),
    spec: sessionBodySchema,
  })
  .superRefine((m, ctx) => {
    if (m.spec.runtime === 'slurm-tenant' && !m.spec.slurm?.lease) {
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'runtime'],
        message:
          'runtime slurm-tenant needs spec.slurm.lease: the lease whose tmux server hosts it',
      });
    }
  });

export type SessionManifest = z.output<typeof sessionManifestSchema>;
export type SessionBody = z.output<typeof sessionBodySchema>;

/** A checked spec, flattened: the name and labels next to the body. */
export interface SessionSpec extends SessionBody {
  name: string;
  labels: Record<string, string>;
  /** The file it was read from, when it came from one. */
  source?: string;
}

export function fromManifest(m: SessionManifest, source?: string): SessionSpec {
  return {
    name: m.metadata.name,
    labels: m.metadata.labels,
    ...m.spec,
    ...(source === undefined ? {} : { source }),
  };
}

/** The valid keys of the mapping at `path` (for "unknown key" messages). */
export function validSpecKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = sessionManifestSchema;
  for (const seg of path) {
    const obj = objectOf(schema);
    const next = obj?.shape[String(seg)];
    if (!next) return [];
    schema = next as z.ZodType;
  }
  return Object.keys(objectOf(schema)?.shape ?? {});
}

function objectOf(schema: z.ZodType): z.ZodObject | undefined {
  let s: unknown = schema;
  for (let i = 0; i < 6; i++) {
    if (s instanceof z.ZodObject) return s;
    const inner = (s as { unwrap?: () => unknown }).unwrap;
    if (typeof inner !== 'function') return undefined;
    s = inner.call(s);
  }
  return undefined;
}
