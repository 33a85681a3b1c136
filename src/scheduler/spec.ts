/**
 * The job spec: what to run and with which resources, in scheduler-neutral names that map
 * to SLURM's (cpus → --cpus-per-task, mem → --mem, …). One strict zod schema checks it;
 * an unknown key is a UsageError that lists every valid key with its default.
 * `SPEC_KEYS` is the single table of keys, SLURM flags and defaults (docs/job-spec.md).
 */
import { z } from 'zod';
import { parseDuration, parseMemory } from '../core/duration.js';
import { UsageError } from '../core/errors.js';
import { formatArraySpec, parseArraySpec, parseJobId } from '../core/jobid.js';
import { validateName } from '../core/names.js';

export interface KeyDoc {
  key: string;
  flag: string;
  default: string;
  about: string;
}

/** Every key of the spec, in rendering order, with its SLURM flag and default. */
export const SPEC_KEYS: Record<'spec' | 'resources' | 'dependencies' | 'signal', KeyDoc[]> = {
  spec: [
    {
      key: 'command',
      flag: '(script body, exec)',
      default: '(none: give command or script)',
      about: 'argv array, run with exec',
    },
    {
      key: 'script',
      flag: '(script body)',
      default: '(none: give command or script)',
      about: 'batch script text',
    },
    {
      key: 'name',
      flag: '--job-name',
      default: 'berth',
      about: 'job name: letters, digits, . _ -',
    },
    { key: 'resources', flag: '(see resources)', default: '{}', about: 'cpus, mem, time, …' },
    { key: 'env', flag: '(export lines)', default: '{}', about: 'environment variables to export' },
    {
      key: 'workdir',
      flag: '--chdir, cd',
      default: '(submit directory)',
      about: 'working directory',
    },
    {
      key: 'output',
      flag: '--output',
      default: '(SLURM: slurm-%j.out)',
      about: 'stdout path; %j %A %a expand',
    },
    { key: 'error', flag: '--error', default: '(with output)', about: 'stderr path' },
    { key: 'array', flag: '--array', default: '(not an array)', about: '0-99%10, 1,3,5-7, 0-15:4' },
    {
      key: 'dependencies',
      flag: '--dependency',
      default: '(none)',
      about: 'afterok/afterany/afternotok job ids',
    },
    {
      key: 'signal',
      flag: '--signal',
      default: '(none)',
      about: 'signal sent before the time limit',
    },
    {
      key: 'requeue',
      flag: '--requeue / --no-requeue',
      default: '(site default)',
      about: 'requeue after node failure or preemption',
    },
  ],
  resources: [
    {
      key: 'partition',
      flag: '--partition',
      default: '(site default)',
      about: 'partition name(s)',
    },
    { key: 'account', flag: '--account', default: '(site default)', about: 'account to charge' },
    { key: 'qos', flag: '--qos', default: '(site default)', about: 'quality of service' },
    { key: 'nodes', flag: '--nodes', default: '(SLURM: 1)', about: 'node count or min-max' },
    { key: 'ntasks', flag: '--ntasks', default: '(SLURM: 1)', about: 'number of tasks' },
    { key: 'cpus', flag: '--cpus-per-task', default: '(SLURM: 1)', about: 'CPUs per task' },
    {
      key: 'mem',
      flag: '--mem',
      default: '(site default)',
      about: 'memory per node: 4G, 512M, 4000 (MB)',
    },
    { key: 'gpus', flag: '--gpus', default: '(none)', about: 'GPU count or type:count' },
    {
      key: 'time',
      flag: '--time',
      default: '(partition default)',
      about: 'walltime: 2h, 1d12h, 1:30:00, 30 (min)',
    },
    { key: 'nodelist', flag: '--nodelist', default: '(any node)', about: 'nodes to use, n[1-3]' },
    { key: 'constraint', flag: '--constraint', default: '(none)', about: 'node features' },
    {
      key: 'extraArgs',
      flag: '(as given)',
      default: '[]',
      about: 'more sbatch options, --opt or --opt=value',
    },
  ],
  dependencies: [
    {
      key: 'afterok',
      flag: '--dependency=afterok:…',
      default: '[]',
      about: 'start after these succeed',
    },
    {
      key: 'afterany',
      flag: '--dependency=afterany:…',
      default: '[]',
      about: 'start after these end',
    },
    {
      key: 'afternotok',
      flag: '--dependency=afternotok:…',
      default: '[]',
      about: 'start after these fail',
    },
  ],
  signal: [
    {
      key: 'name',
      flag: '--signal=[B:]NAME@S',
      default: '(required)',
      about: 'USR1, TERM, or a number',
    },
    {
      key: 'beforeS',
      flag: '--signal=…@S',
      default: '(required)',
      about: 'seconds before the time limit',
    },
    {
      key: 'batchOnly',
      flag: '--signal=B:…',
      default: 'true',
      about: 'signal only the batch shell (the exec-ed command)',
    },
  ],
};

// sbatch reads `#SBATCH` lines with its own tokenizer: quotes group, but a backslash
// escapes even inside single quotes, a newline ends the line, and a line mentioning
// "hetjob"/"packjob" starts a new het component. Values that reach those lines avoid them.
const sbatchText = (what: string) =>
  z
    .string()
    .min(1, `${what} is empty`)
    .refine((v) => !/[\n\r\0\\]/.test(v), `${what} must be one line without backslashes`)
    .refine((v) => !/hetjob|packjob/i.test(v), `${what} must not contain "hetjob" or "packjob"`);
const sbatchWord = (what: string) =>
  sbatchText(what).refine((v) => !/\s/.test(v), `${what} must be one word (no spaces)`);

const positiveInt = z.number().int().min(1);

const memory = z.union([z.string(), z.number()]).transform((v, ctx) => {
  return tryParse(ctx, () => parseMemory(v));
});

// Numbers mean what SLURM means: `time: 30` is 30 minutes, `mem: 4000` is 4000 MB.
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const seconds = tryParse(ctx, () => parseDuration(String(v)));
  if (seconds === 0) ctx.addIssue({ code: 'custom', message: 'time must be more than zero' });
  return seconds;
});

function tryParse<T>(ctx: z.RefinementCtx, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    const err = e as Error & { hint?: string };
    ctx.addIssue({
      code: 'custom',
      message: err.hint ? `${err.message}; ${err.hint}` : err.message,
    });
    return z.NEVER;
  }
}

const resourcesSchema = z.strictObject({
  partition: sbatchWord('partition').optional(),
  account: sbatchWord('account').optional(),
  qos: sbatchWord('qos').optional(),
  nodes: z
    .union([positiveInt, z.string().regex(/^\d+(-\d+)?$/, 'nodes is a count or min-max')])
    .optional(),
  ntasks: positiveInt.optional(),
  cpus: positiveInt.optional(),
  mem: memory.optional(),
  gpus: z
    .union([
      z.number().int().min(0),
      z.string().regex(/^([A-Za-z0-9_.-]+:)?\d+$/, 'gpus is a count or type:count'),
    ])
    .optional(),
  time: duration.optional(),
  nodelist: sbatchWord('nodelist').optional(),
  constraint: sbatchWord('constraint').optional(),
  extraArgs: z
    .array(
      sbatchText('extra argument').regex(
        /^--[A-Za-z][A-Za-z0-9-]*(=.*)?$/,
        'each extra argument is --option or --option=value',
      ),
    )
    .optional(),
});

const jobIdList = z.array(z.union([z.string(), z.number()])).transform((ids, ctx) =>
  ids.map((raw) =>
    tryParse(ctx, () => {
      const id = parseJobId(String(raw));
      if (id.kind === 'array_range' || ('step' in id && id.step)) {
        throw new UsageError(
          `dependency ${JSON.stringify(String(raw))} is not a job or array task id`,
        );
      }
      return String(raw).trim();
    }),
  ),
);

const signalSchema = z.strictObject({
  name: z
    .union([z.string(), z.number().int().min(1).max(64)])
    .transform((v) => String(v).toUpperCase().replace(/^SIG/, ''))
    .refine((v) => /^[A-Z0-9]+$/.test(v), 'signal name is like USR1, TERM or 10'),
  beforeS: z.number().int().min(0).max(65_535),
  batchOnly: z.boolean().default(true),
});

const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

export const jobSpecSchema = z
  .strictObject({
    command: z.array(z.string()).min(1, 'command needs at least the program name').optional(),
    script: z.string().min(1, 'script is empty').optional(),
    name: z
      .string()
      .refine((v) => isValidName(v), 'name may contain only letters, digits, ".", "_" and "-"')
      .default('berth'),
    resources: resourcesSchema.default({}),
    env: z
      .record(z.string(), envValue)
      .superRefine((env, ctx) => {
        for (const name of Object.keys(env)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: `env names are like MY_VAR, not ${JSON.stringify(name)}`,
            });
          }
        }
      })
      .default({}),
    workdir: sbatchText('workdir').optional(),
    output: sbatchText('output').optional(),
    error: sbatchText('error').optional(),
    array: z
      .union([z.string(), z.number()])
      .transform((v, ctx) =>
        tryParse(ctx, () => {
          const spec = parseArraySpec(String(v));
          return formatArraySpec(spec.indices, spec.throttle);
        }),
      )
      .optional(),
    dependencies: z
      .strictObject({
        afterok: jobIdList.optional(),
        afterany: jobIdList.optional(),
        afternotok: jobIdList.optional(),
      })
      .optional(),
    signal: signalSchema.optional(),
    requeue: z.boolean().optional(),
  })
  .superRefine((spec, ctx) => {
    if ((spec.command === undefined) === (spec.script === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of command (an argv list) or script (the script text)',
      });
    }
    for (const arg of spec.command ?? []) {
      if (arg.includes('\0'))
        ctx.addIssue({ code: 'custom', path: ['command'], message: 'command contains a NUL byte' });
    }
  });

export type JobSpec = z.output<typeof jobSpecSchema>;
export type JobSpecInput = z.input<typeof jobSpecSchema>;
export type Resources = JobSpec['resources'];

function isValidName(v: string): boolean {
  try {
    validateName('job name', v);
    return true;
  } catch {
    return false;
  }
}

/** Check a spec (from flags, YAML or the API) and fill in berth's defaults. */
export function parseJobSpec(input: unknown, source = 'job spec'): JobSpec {
  const result = jobSpecSchema.safeParse(input);
  if (result.success) return result.data;
  throw specError(result.error, source);
}

function specError(error: z.ZodError, source: string): UsageError {
  const unknown = error.issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown && unknown.code === 'unrecognized_keys') {
    const section = sectionAt(unknown.path);
    const where = unknown.path.length ? ` in ${unknown.path.join('.')}` : '';
    const keys = unknown.keys.map((k) => JSON.stringify(k)).join(', ');
    const valid = SPEC_KEYS[section].map((k) => `${k.key} (default ${k.default})`).join(', ');
    return new UsageError(`${source}: unknown key ${keys}${where}; valid keys are ${valid}`, {
      hint: 'see docs/job-spec.md for every key, its SLURM flag and its default',
      details: { unknown: unknown.keys, path: unknown.path, valid: SPEC_KEYS[section] },
    });
  }
  const lines = error.issues.map(
    (i) => `${i.path.length ? i.path.join('.') : '(spec)'}: ${i.message}`,
  );
  return new UsageError(`${source}: ${lines.join('; ')}`, {
    hint: 'see docs/job-spec.md for every key and the values it takes',
    details: { issues: lines },
  });
}

function sectionAt(path: readonly PropertyKey[]): keyof typeof SPEC_KEYS {
  const head = String(path[0] ?? '');
  return head === 'resources' || head === 'dependencies' || head === 'signal' ? head : 'spec';
}

type Layer = Record<string, unknown>;

/**
 * Overlay spec layers, later wins (host profile defaults, then flags), and check the
 * result. `resources`, `env` and `dependencies` merge key by key; `extraArgs` append
 * (sbatch lets a later option win); `command` and `script` replace each other.
 * A host's `slurm` settings fit as `{ resources: host.slurm }`.
 */
export function mergeSpec(...layers: Layer[]): JobSpec {
  const merged: Layer = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      if (key === 'command' || key === 'script') {
        delete merged.command;
        delete merged.script;
        merged[key] = value;
      } else if (key === 'resources' && isObject(value) && isObject(merged.resources)) {
        merged.resources = mergeResources(merged.resources, value);
      } else if (
        (key === 'env' || key === 'dependencies') &&
        isObject(value) &&
        isObject(merged[key])
      ) {
        merged[key] = { ...(merged[key] as Layer), ...dropUndefined(value) };
      } else {
        merged[key] = value;
      }
    }
  }
  return parseJobSpec(merged);
}

function mergeResources(base: Layer, over: Layer): Layer {
  const out = { ...base, ...dropUndefined(over) };
  if (Array.isArray(base.extraArgs) && Array.isArray(over.extraArgs)) {
    out.extraArgs = [...base.extraArgs, ...over.extraArgs];
  }
  return out;
}

function dropUndefined(o: Layer): Layer {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function isObject(v: unknown): v is Layer {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
