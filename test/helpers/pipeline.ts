/**
 * What the pipeline tests on the SLURM test cluster share: the built CLI run in a sandbox
 * (asynchronously, so a test can poll while another command runs), a command on the
 * login node, polling with a deadline, a tree's files, and a copy of the example.
 */
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cluster } from './cluster.js';
import type { Sandbox } from './sandbox.js';

const BIN = join(import.meta.dirname, '../../bin/berth.js');
const EXAMPLE = join(import.meta.dirname, '../../examples/rg');

export interface Cli {
  code: number | null;
  out: string;
  err: string;
}

/** `berth ARGS` in the sandbox (bin/berth.js over dist/). */
export function berthIn(sb: Sandbox, args: string[], timeoutMs = 380_000): Promise<Cli> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: sb.cwd, env: sb.env, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, out, err) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, out, err });
      },
    );
  });
}

/** `berth --json ARGS`, parsed; another exit code than `want` throws with the output. */
export async function berthJson<T>(
  sb: Sandbox,
  args: string[],
  opts: { want?: number; timeoutMs?: number } = {},
): Promise<T> {
  const want = opts.want ?? 0;
  const r = await berthIn(sb, ['--json', ...args], opts.timeoutMs);
  if (r.code !== want) {
    throw new Error(
      `berth ${args.join(' ')}: exit ${r.code} (wanted ${want})\nstderr:\n${r.err}\nstdout:\n${r.out}`,
    );
  }
  return JSON.parse(r.out) as T;
}

/** A command on the cluster's login node as the test user. */
export function onHost(script: string): string {
  const c = cluster();
  const r = spawnSync('ssh', ['-F', c.sshConfig, c.sshAlias, script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh ${script}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Poll `fn` every second until it gives a value; past `ms`, fail naming `what`. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 240_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Every file under dir (relative paths), sorted. */
export function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** The example's scripts copied to `dir` with `yaml` as its pipeline.yaml; the spec's path. */
export function exampleSpec(dir: string, yaml: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ['gen.mjs', 'hist.mjs']) copyFileSync(join(EXAMPLE, f), join(dir, f));
  writeFileSync(join(dir, 'pipeline.yaml'), yaml);
  return join(dir, 'pipeline.yaml');
}
