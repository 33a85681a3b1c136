/**
 * `berth submit SCRIPT`: submit a user's batch script through the dispatch layer so that its
 * body runs under `berth run`, without editing the user's file.
 *
 * The batch script sent to sbatch is a wrapper: the user's comment header (their `#SBATCH`
 * lines, so their directives apply), then berth's directives (flags and host defaults, which
 * win as later lines do), then a few lines that set BERTH_JOB_HOST / BERTH_JOB_DIR, write the
 * user's body into the job directory (a quoted heredoc with an unguessable delimiter) and
 * `exec berth run -- <body> <args…> "$@"` (the script's arguments, each through quote(), so they
 * arrive byte for byte), so the wrapper is SLURM's task and gets its signals.
 * SUBMITTED is recorded (outbox first, then the sinks) once the scheduler's id is known.
 * See docs/monitor.md ("berth submit").
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { UsageError } from '../core/errors.js';
import { NAME_PATTERN } from '../core/names.js';
import type { JobView } from '../dispatch/jobs.js';
import type { Dispatch } from '../dispatch/session.js';
import { type PlanView, planJob, submitJob } from '../dispatch/submit.js';
import { rootWord } from '../scheduler/slurm/submit-script.js';
import { quote, quoteArgs } from '../transport/quote.js';
import { deliverOutbox, type SinkReport } from './deliver.js';
import { type MonitorEvent, makeEvent, validateJobKey } from './events.js';
import { Outbox, outboxPath } from './outbox.js';
import type { Sink } from './sinks/sink.js';

type Env = Record<string, string | undefined>;

/** A user's script cut where sbatch stops reading directives. */
export interface ScriptParts {
  /** The `#!` line, if any. */
  shebang: string | null;
  /** Comment and blank lines before the first command (the `#SBATCH` header). */
  header: string[];
  /** Everything from the first command on. */
  body: string;
  /** The value of the header's last `--job-name` / `-J`, if any. */
  jobName: string | null;
}

export function splitUserScript(text: string): ScriptParts {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const shebang = lines[0]?.startsWith('#!') ? lines.shift()! : null;
  let i = 0;
  while (i < lines.length && /^\s*(#.*)?$/.test(lines[i]!)) i++;
  const header = lines.slice(0, i);
  while (header.length && header.at(-1)!.trim() === '') header.pop();
  let jobName: string | null = null;
  for (const line of header) {
    const m = /^#SBATCH\s+(?:--job-name(?:=|\s+)|-J\s*)(?:"([^"]*)"|'([^']*)'|(\S+))/.exec(line);
    if (m) jobName = m[1] ?? m[2] ?? m[3] ?? null;
  }
  return { shebang, header, body: lines.slice(i).join('\n'), jobName };
}

/** A job name berth accepts: other characters become `_` (berth names are `[A-Za-z0-9._-]+`). */
export function jobNameFrom(text: string): string {
  const name = text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
  return NAME_PATTERN.test(name) ? name : 'berth';
}

export interface WrapperInput {
  /** The user's script text (never modified; its body is carried in a heredoc). */
  script: string;
  /** How to start berth on the host, as argv (e.g. ['berth'] or [node, /path/bin/berth.js]). */
  berth: readonly string[];
  /** The berth host name (BERTH_JOB_HOST: the first part of the default job key). */
  host: string;
  /** The host's work root (`<root>/jobs/<id>/` is the job dir); `~/` is the host's home. */
  root: string;
  /** A job key for every event (default: `<host>:<scheduler id>`, as dispatch stores it). */
  jobKey?: string;
  /** Extra `berth run` options (e.g. ['--grace', '20']). */
  runArgs?: readonly string[];
  /** Arguments for the script (`berth submit SCRIPT ARGS…`), passed on exactly. */
  args?: readonly string[];
  /** Heredoc delimiter (default: random); must not be a line of the body. */
  delimiter?: string;
}

/** The wrapper batch script. Pure apart from the random delimiter. */
export function renderWrapper(input: WrapperInput): string {
  const parts = splitUserScript(input.script);
  if (input.jobKey !== undefined) validateJobKey(input.jobKey);
  const bodyText = `${parts.shebang ? `${parts.shebang}\n` : ''}${parts.body.replace(/\n*$/, '\n')}`;
  let delim = input.delimiter ?? `BERTH_BODY_${randomBytes(12).toString('hex')}`;
  const bodyLines = new Set(bodyText.split('\n'));
  if (bodyLines.has(delim)) {
    if (input.delimiter !== undefined)
      throw new UsageError('the heredoc delimiter is a line of the script');
    while (bodyLines.has(delim)) delim = `BERTH_BODY_${randomBytes(12).toString('hex')}`;
  }
  const runner = parts.shebang ? ['"$body"'] : ['/bin/bash', '"$body"'];
  if (input.args?.length) runner.push(quoteArgs([...input.args]));
  const lines = [
    '#!/bin/bash',
    ...parts.header,
    '# berth submit: the script body below runs under `berth run` (docs/monitor.md)',
    `export BERTH_JOB_HOST=${quote(input.host)}`,
    // Under SLURM the job dir is <root>/jobs/<job id>; without a scheduler the wrapper sets it.
    'if [ -n "$SLURM_JOB_ID" ]; then',
    `  export BERTH_JOB_DIR=${rootWord(input.root)}/jobs/"\${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}"`,
    '  unset BERTH_JOB_ID',
    'fi',
    // sbatch exports the submitter's environment: a key inherited from it is not this job's.
    'unset BERTH_JOB_KEY',
    // Array tasks share the job dir: each gets its own outbox file there.
    `[ -z "$SLURM_ARRAY_TASK_ID" ] || export BERTH_OUTBOX_DIR="\${BERTH_OUTBOX_DIR:-$BERTH_JOB_DIR/outbox}"`,
    input.jobKey !== undefined
      ? `export BERTH_JOB_KEY=${quote(input.jobKey)}`
      : // A host without a scheduler: the key dispatch stores, `<host>:n-…`.
        `[ -z "$BERTH_JOB_ID" ] || export BERTH_JOB_KEY=${quote(input.host)}:"$BERTH_JOB_ID"`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'body="$BERTH_JOB_DIR/body${SLURM_ARRAY_TASK_ID:+.$SLURM_ARRAY_TASK_ID}"',
    `cat > "$body.$$" <<'${delim}' || exit 1`,
    bodyText.replace(/\n$/, ''),
    delim,
    `chmod +x "$body.$$" && mv -f "$body.$$" "$body" || exit 1`,
    `exec ${quoteArgs([...input.berth])} run ${input.runArgs?.length ? `${quoteArgs([...input.runArgs])} ` : ''}-- ${runner.join(' ')} "$@"`,
  ];
  return `${lines.join('\n')}\n`;
}

export interface SubmitScriptInput {
  /** Host name (default: the configured defaultHost). */
  host?: string;
  /** The user's script text. */
  script: string;
  /** Where it was read from (recorded in SUBMITTED; the default job name is its base name). */
  scriptPath?: string;
  /** Spec keys from flags (resources, env, workdir, name, dependencies, …), as for job submit. */
  spec?: Record<string, unknown>;
  /** How to start berth on the host (default ['berth']). */
  berth?: readonly string[];
  jobKey?: string;
  runArgs?: readonly string[];
  /** Arguments for the script, passed on exactly (`berth submit SCRIPT ARGS…`). */
  args?: readonly string[];
}

export interface SubmitScriptResult {
  job: JobView;
  jobKey: string;
  event: MonitorEvent;
  outbox: string;
  delivery: SinkReport[];
}

/** The spec layer (name: flag > the script's own --job-name > the file's base name). */
function layerFor(input: SubmitScriptInput, host: string, root: string): Record<string, unknown> {
  const { script: _s, command: _c, ...rest } = input.spec ?? {};
  const parts = splitUserScript(input.script);
  const name =
    rest.name ??
    jobNameFrom(parts.jobName ?? (input.scriptPath ? basename(input.scriptPath) : 'berth'));
  const wrapper = renderWrapper({
    script: input.script,
    berth: input.berth ?? ['berth'],
    host,
    root,
    ...(input.jobKey !== undefined ? { jobKey: input.jobKey } : {}),
    ...(input.runArgs ? { runArgs: input.runArgs } : {}),
    ...(input.args ? { args: input.args } : {}),
  });
  return { ...rest, name, script: wrapper };
}

async function hostAndRoot(d: Dispatch, name?: string) {
  const host = await d.host(name);
  const root = (host.scheduler as unknown as { root?: string }).root;
  if (!root) throw new UsageError(`host ${host.name} has no work root`);
  return { host, root };
}

/** The wrapper and the submit commands, submitting nothing (`--dry-run`). */
export async function planScript(d: Dispatch, input: SubmitScriptInput): Promise<PlanView> {
  const { host, root } = await hostAndRoot(d, input.host);
  return planJob(d, { host: host.name, spec: layerFor(input, host.name, root) });
}

/**
 * Submit the wrapped script, then record SUBMITTED (with the scheduler id) in the outbox of
 * this machine and deliver it to the sinks. A sink failing leaves the event in the outbox.
 */
export async function submitScript(
  d: Dispatch,
  input: SubmitScriptInput,
  opts: { sinks: readonly Sink[]; env: Env; stateDir: string; cwd?: string },
): Promise<SubmitScriptResult> {
  const { host, root } = await hostAndRoot(d, input.host);
  const layer = layerFor(input, host.name, root);
  const job = await submitJob(d, { host: host.name, spec: layer });
  const jobKey = input.jobKey ?? job.key;
  const event = makeEvent('SUBMITTED', jobKey, {
    host: host.name,
    scheduler: job.scheduler,
    jobId: job.jobId,
    schedulerIds: job.schedulerIds,
    name: job.name,
    script: input.scriptPath ?? null,
    args: [...(input.args ?? [])],
    workDir: job.workDir,
    resources: (layer.resources as Record<string, unknown> | undefined) ?? {},
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  const path = outboxPath({
    env: { ...opts.env, BERTH_JOB_DIR: undefined },
    jobKey,
    stateDir: opts.stateDir,
  });
  const outbox = new Outbox(path);
  outbox.append(event);
  const delivery = await deliverOutbox(outbox, opts.sinks);
  return { job, jobKey, event, outbox: path, delivery };
}
