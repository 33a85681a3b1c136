/**
 * ssh-exec: latency of one trivial command through berth's SshRunner (one multiplexed
 * master, the remote wrapper, `bash -lc` by default) against plain `ssh` without
 * multiplexing (a fresh connection and authentication per command), interleaved in one run.
 * Also: `sh('true')` with and without a login shell and through the persistent login shell
 * (shell-session.ts), the raw ControlMaster round trip (what berth adds on top of it), and
 * the same for the local machine, whose root login shell runs pyenv init (DESIGN rule 1).
 * Needs the test cluster (scripts/dev-cluster up). Run: npx tsx bench/ssh-exec.ts [runs]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRunner } from '../src/transport/local.js';
import type { RunResult } from '../src/transport/runner.js';
import { SshRunner } from '../src/transport/ssh.js';
import { cluster } from '../test/helpers/cluster.js';
import { median, percentile, round } from './stats.js';

const runs = Number(process.argv[2] ?? 100);
const warmup = 5;
const c = cluster();
const stateDir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
const ssh = new SshRunner({
  host: 'cluster',
  target: c.sshAlias,
  configFile: c.sshConfig,
  stateDir,
});
const sshSession = new SshRunner({
  host: 'cluster',
  target: c.sshAlias,
  configFile: c.sshConfig,
  stateDir,
  persistentShell: true,
});
const local = new LocalRunner();
const localSession = new LocalRunner({ persistentShell: true });

function plainSsh(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-F', c.sshConfig, ...args, c.sshAlias, 'true'], {
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh exited ${code}`))));
  });
}

async function ok(p: Promise<RunResult>): Promise<void> {
  const r = await p;
  if (r.exitCode !== 0) throw new Error(`${r.command} exited ${r.exitCode}: ${r.stderr}`);
}

const cases: Record<string, () => Promise<void>> = {
  'berth ssh run(true)': () => ok(ssh.run(['true'])),
  'berth ssh run(true) login:false': () => ok(ssh.run(['true'], { login: false })),
  'berth ssh sh(true) login': () => ok(ssh.sh('true', { login: true })),
  'berth ssh sh(true) no login': () => ok(ssh.sh('true', { login: false })),
  'berth ssh sh(true) persistent shell': () => ok(sshSession.sh('true', { login: true })),
  'plain ssh over the master': () => plainSsh(['-S', ssh.controlPath, '-o', 'ControlMaster=no']),
  'plain ssh, no multiplexing': () =>
    plainSsh(['-o', 'ControlMaster=no', '-o', 'ControlPath=none']),
  'local sh(true) login': () => ok(local.sh('true', { login: true })),
  'local sh(true) no login': () => ok(local.sh('true')),
  'local sh(true) persistent shell': () => ok(localSession.sh('true', { login: true })),
};

async function time(f: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

try {
  for (let i = 0; i < warmup; i++) for (const f of Object.values(cases)) await f();
  const samples: Record<string, number[]> = Object.fromEntries(
    Object.keys(cases).map((k) => [k, []]),
  );
  for (let i = 0; i < runs; i++) {
    for (const [k, f] of Object.entries(cases)) samples[k]!.push(await time(f));
  }
  const stats = Object.fromEntries(
    Object.entries(samples).map(([k, v]) => [
      k,
      { median: round(median(v)), p90: round(percentile(v, 90)) },
    ]),
  );
  for (const [k, s] of Object.entries(stats)) {
    console.log(
      `${k.padEnd(36)} median ${String(s.median).padStart(6)} ms   p90 ${String(s.p90).padStart(6)} ms`,
    );
  }
  const berth = stats['berth ssh run(true)']!;
  const plain = stats['plain ssh, no multiplexing']!;
  const ratio = round(plain.median / berth.median, 1);
  console.log(
    `plain ssh (fresh connection) / berth run(true) = ${ratio}x (median, ${runs} runs each)`,
  );
  const s = (k: string) => stats[k]!;
  console.log(
    JSON.stringify({
      bench: 'ssh-exec',
      runs,
      berthRunMs: berth.median,
      berthRunP90Ms: berth.p90,
      berthRunNoLoginMs: s('berth ssh run(true) login:false').median,
      berthShLoginMs: s('berth ssh sh(true) login').median,
      berthShNoLoginMs: s('berth ssh sh(true) no login').median,
      berthShPersistentMs: s('berth ssh sh(true) persistent shell').median,
      rawMasterMs: s('plain ssh over the master').median,
      plainSshMs: plain.median,
      plainSshP90Ms: plain.p90,
      ratio,
      localShLoginMs: s('local sh(true) login').median,
      localShNoLoginMs: s('local sh(true) no login').median,
      localShPersistentMs: s('local sh(true) persistent shell').median,
    }),
  );
} finally {
  await localSession.close();
  await sshSession.close();
  await ssh.close({ master: true });
  rmSync(stateDir, { recursive: true, force: true });
}
