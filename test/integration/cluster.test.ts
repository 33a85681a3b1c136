/**
 * The throwaway test cluster itself (scripts/dev-cluster, docs/test-cluster.md): the other
 * integration tests rely on what is checked here, so when this file fails, fix the cluster
 * first. Everything goes over the real sshd as the test user, with host key checking on.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cluster } from '../helpers/cluster.js';

const info = cluster();

function ssh(
  command: string,
  extra: string[] = [],
  alias = info.sshAlias,
): SpawnSyncReturns<string> {
  return spawnSync('ssh', ['-F', info.sshConfig, ...extra, alias, command], {
    encoding: 'utf8',
    timeout: 90_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs over ssh and fails the test with the remote stderr when the command fails. */
function sshOk(command: string): string {
  const r = ssh(command);
  expect(r.error, String(r.error)).toBeUndefined();
  expect(r.status, `${command}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** A loopback source address of this file's own, so other tests' logins are not counted. */
const SOURCE = '127.61.0.9';

function acceptedLogins(): number {
  return readFileSync(info.sshdLog, 'utf8')
    .split('\n')
    .filter((l) => l.includes('Accepted publickey') && l.includes(` from ${SOURCE} `)).length;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('test cluster (scripts/dev-cluster)', () => {
  it('cluster.json describes it', () => {
    expect(info.sshAlias).toBe('berth-test');
    expect(info.sshUser).toBe('berthtest');
    expect(info.partition).toBe('debug');
    expect(info.accounting).toBe(true);
    expect(info.maxArraySize).toBe(1001);
    expect(info.slurmVersion).toMatch(/^22\.05\./);
    expect(info.nodes.length).toBeGreaterThanOrEqual(1);
  });

  it('ssh reaches the test user, with host key checking on, and the sshd log counts it', () => {
    const before = acceptedLogins();
    const r = ssh('id -un', ['-b', SOURCE]);
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    expect(r.stdout.trim()).toBe(info.sshUser);
    expect(acceptedLogins()).toBe(before + 1);

    // Without the known_hosts entry the same connection must be refused, not trusted.
    const unknown = ssh('true', ['-o', 'UserKnownHostsFile=/dev/null']);
    expect(unknown.status).toBe(255);
    expect(unknown.stderr).toMatch(/Host key verification failed/);
  });

  it('the down alias fails fast', () => {
    const r = ssh('true', [], info.downAlias);
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/Connection refused/);
  });

  it('sbatch --wait runs a job as the test user and sacct shows it COMPLETED', async () => {
    const out = sshOk(
      `cd ${info.workRoot} && sbatch --wait --parsable -o /dev/null -J berth-cluster-test --wrap 'echo hello; id -un'`,
    );
    const jobId = out.trim().split(';')[0]!;
    expect(jobId).toMatch(/^\d+$/);

    // slurmctld sends the end of the job to slurmdbd asynchronously: give it a moment (the
    // deadline only bounds a failure; a loaded machine can take a while).
    let line = '';
    for (const end = Date.now() + 90_000; Date.now() < end; ) {
      line = sshOk(`sacct -n -X -P -j ${jobId} -o JobID,User,State,ExitCode`).trim();
      if (line.includes('COMPLETED')) break;
      await sleep(500);
    }
    expect(line).toBe(`${jobId}|${info.sshUser}|COMPLETED|0:0`);
  });

  it('a job with -N3 runs on three distinct nodes', () => {
    // CI brings the cluster up with --nodes 3; fewer nodes is a setup error, not a skip.
    expect(
      info.nodes.length,
      'start the cluster with: scripts/dev-cluster up --nodes 3',
    ).toBeGreaterThanOrEqual(3);
    const hosts = sshOk('srun -N3 -n3 -J berth-cluster-test hostname').trim().split('\n').sort();
    expect(hosts).toHaveLength(3);
    expect(new Set(hosts).size).toBe(3);
    for (const h of hosts) expect(info.nodes).toContain(h);
  });
});
