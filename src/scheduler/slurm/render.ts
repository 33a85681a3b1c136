/**
 * Job spec → SLURM text, as pure functions: the batch script (`#SBATCH` directives in a
 * fixed order, env exports, `cd`, then the command or the script body), and argv lists
 * for `sbatch` and `srun`. Every user value goes through `quote()`; sbatch's `#SBATCH`
 * tokenizer honours the same single quotes (spec.ts keeps out what it would misread).
 */
import { formatMemory, formatSlurmTime } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';
import { quote, quoteArgs } from '../../transport/quote.js';
import type { JobSpec } from '../spec.js';

/** One sbatch option: `--name=value`, or a bare flag when value is null. */
export type Directive = readonly [option: string, value: string | null];

/** The spec's sbatch options, always in this order; unset keys are left out. */
export function sbatchDirectives(spec: JobSpec): Directive[] {
  const r = spec.resources;
  const out: Array<Directive | undefined> = [
    ['--job-name', spec.name],
    opt('--partition', r.partition),
    opt('--account', r.account),
    opt('--qos', r.qos),
    opt('--nodes', r.nodes),
    opt('--ntasks', r.ntasks),
    opt('--cpus-per-task', r.cpus),
    opt('--mem', r.mem === undefined ? undefined : formatMemory(r.mem)),
    opt('--gpus', r.gpus === 0 || r.gpus === '0' ? undefined : r.gpus),
    opt('--time', r.time === undefined ? undefined : formatSlurmTime(r.time)),
    opt('--nodelist', r.nodelist),
    opt('--constraint', r.constraint),
    opt('--chdir', spec.workdir),
    opt('--output', spec.output),
    opt('--error', spec.error),
    opt('--array', spec.array),
    opt('--dependency', dependencyText(spec.dependencies)),
    opt('--signal', signalText(spec.signal, true)),
    spec.requeue === undefined ? undefined : [spec.requeue ? '--requeue' : '--no-requeue', null],
    ...(r.extraArgs ?? []).map(splitArg),
  ];
  return out.filter((d): d is Directive => d !== undefined);
}

function opt(option: string, value: string | number | undefined): Directive | undefined {
  return value === undefined ? undefined : [option, String(value)];
}

function splitArg(arg: string): Directive {
  const eq = arg.indexOf('=');
  return eq < 0 ? [arg, null] : [arg.slice(0, eq), arg.slice(eq + 1)];
}

function dependencyText(deps: JobSpec['dependencies']): string | undefined {
  if (!deps) return undefined;
  const parts = (['afterok', 'afterany', 'afternotok'] as const)
    .filter((type) => (deps[type]?.length ?? 0) > 0)
    .map((type) => `${type}:${deps[type]!.join(':')}`);
  return parts.length ? parts.join(',') : undefined;
}

function signalText(signal: JobSpec['signal'], batch: boolean): string | undefined {
  if (!signal) return undefined;
  const prefix = batch && signal.batchOnly ? 'B:' : '';
  return `${prefix}${signal.name}@${signal.beforeS}`;
}

/** The full batch script for `sbatch` (on stdin or as a file). Deterministic. */
export function renderSbatchScript(spec: JobSpec): string {
  const user = spec.script === undefined ? undefined : splitScript(spec.script);
  const shell = user?.shebang === undefined || isShellShebang(user.shebang);
  // A script run by python (say) cannot take export lines; --chdir still sets its workdir.
  if (!shell && Object.keys(spec.env).length > 0) {
    throw new UsageError('env needs a shell script, but this script is not run by a shell', {
      hint: 'use a #!/bin/bash script (or no #! line), or drop env from the spec',
    });
  }
  const lines = [user?.shebang ?? '#!/bin/bash'];
  if (user?.header.length) lines.push(...user.header);
  lines.push('# berth: directives from the job spec (later lines win over earlier ones)');
  for (const [option, value] of sbatchDirectives(spec)) {
    lines.push(value === null ? `#SBATCH ${option}` : `#SBATCH ${option}=${quote(value)}`);
  }
  lines.push('');
  for (const name of Object.keys(spec.env).sort()) {
    lines.push(`export ${name}=${quote(spec.env[name]!)}`);
  }
  if (spec.workdir !== undefined && shell) lines.push(`cd -- ${quote(spec.workdir)} || exit`);
  if (spec.command) lines.push(`exec ${quoteArgs(spec.command)}`);
  else lines.push(user!.body);
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

interface ScriptParts {
  shebang?: string;
  header: string[];
  body: string;
}

// sbatch reads directives only up to the first command line, so berth's own directives go
// right after the script's comment header (its #SBATCH lines), before any command.
function splitScript(script: string): ScriptParts {
  const lines = script.replace(/\r\n/g, '\n').split('\n');
  const shebang = lines[0]?.startsWith('#!') ? lines.shift() : undefined;
  let i = 0;
  while (i < lines.length && /^\s*(#.*)?$/.test(lines[i]!)) i++;
  const header = lines.slice(0, i);
  while (header.length && header.at(-1)!.trim() === '') header.pop();
  return { ...(shebang ? { shebang } : {}), header, body: lines.slice(i).join('\n') };
}

function isShellShebang(shebang: string): boolean {
  return /^#!\s*(\S*\/)?(env\s+)?(ba|da|k|z)?sh(\s|$)/.test(shebang);
}

/** argv after `sbatch` to submit a script that carries no directives: `--parsable` and every option. */
export function renderSbatchArgs(spec: JobSpec): string[] {
  return ['--parsable', ...sbatchDirectives(spec).map(joinDirective)];
}

function joinDirective([option, value]: Directive): string {
  return value === null ? option : `${option}=${value}`;
}

const SRUN_SKIPS = new Set(['--array', '--requeue', '--no-requeue', '--signal']);

/**
 * argv to run the spec's command in the foreground with `srun` (`job run -- CMD`). The
 * env goes in front as `env NAME=value … srun …` (srun exports the whole environment).
 */
export function renderSrunArgs(spec: JobSpec): string[] {
  if (!spec.command) {
    throw new UsageError('srun runs a command, but this spec has a script', {
      hint: 'give the command as an argv list, or submit the script with sbatch',
    });
  }
  if (spec.array !== undefined) {
    throw new UsageError('srun cannot run an array', {
      hint: 'submit arrays with sbatch (job submit)',
    });
  }
  const env = Object.keys(spec.env)
    .sort()
    .map((name) => `${name}=${spec.env[name]}`);
  const flags = sbatchDirectives(spec).filter(([option]) => !SRUN_SKIPS.has(option));
  const signal = signalText(spec.signal, false);
  if (signal) flags.push(['--signal', signal]);
  return [
    ...(env.length ? ['env', ...env] : []),
    'srun',
    ...flags.map(joinDirective),
    '--',
    ...spec.command,
  ];
}
