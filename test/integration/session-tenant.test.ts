/**
 * Runtime `slurm-tenant` on the test cluster: a session in a persistent lease's tmux
 * server survives two hops of the lease (it comes back in each successor job as a new run,
 * resuming from its checkpoint), and stops cleanly. Its name has a '.', which tmux keeps as
 * '_': the lease's jobs start it, and hand it over, by that name. A tenant that ended for
 * good (exit 0, restart: never) is not started again by the lease's later jobs, and reads
 * as exited there. A lease without a tmux server is refused with the fix in the hint.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartResult, StatusDetail } from '../../src/sessions/index.js';
import {
  bookTmuxLease,
  known,
  type SessionSandbox,
  sessionSandbox,
  until,
} from '../fixtures/sessions/harness.js';

const counter = readFileSync(
  join(import.meta.dirname, '../../examples/checkpoint/count.sh'),
  'utf8',
);

describe('sessions, runtime slurm-tenant', () => {
  let sb: SessionSandbox;
  let lease: string;
  let name: string;
  const status = () => sb.json<StatusDetail>(['session', 'status', name, '--json']);
  /** `lease tenant list` as `name alive|dead` lines (undefined while srun cannot reach the node). */
  const tenantList = () => {
    const r = sb.run(['lease', 'tenant', 'list', lease, '--json']);
    if (r.status !== 0) return undefined;
    const list = JSON.parse(r.stdout) as Array<{ name: string; alive: boolean }>;
    return list.map((t) => `${t.name} ${t.alive ? 'alive' : 'dead'}`).join('\n');
  };
  const leaseJob = () => {
    sb.run(['lease', 'refresh', lease]); // follow the lease's chain to its newest job
    return sb.json<{ jobId: string }>(['lease', 'get', lease, '--json']).jobId;
  };

  beforeAll(async () => {
    sb = sessionSandbox('ssh');
    lease = `tl-${sb.tag}`;
    name = `tenant.v1-${sb.tag}`; // a '.': tmux keeps it as '_' in every job of the lease
    await bookTmuxLease(sb, lease, ['--persistent', '--time', '2m', '--lead', '60s']);
    const script = `${sb.root}/count-${sb.tag}.sh`;
    expect(sb.sh(`cat > ${script} <<'BERTH_EOF'\n${counter}BERTH_EOF`).status).toBe(0);
  }, 400_000);

  afterAll(async () => {
    sb.run(['session', 'stop', '--all', '--grace', '2']);
    for (const l of [lease, `tp-${sb.tag}`]) sb.run(['lease', 'release', l, '--missing-ok']);
    const ours = () =>
      sb.sh(`squeue -h -u "$USER" -t PENDING,RUNNING -o %j`).stdout.includes(sb.tag);
    await until('the lease jobs to end', () => !ours(), 60_000);
    sb.sh(
      `rm -rf ${sb.root}/sessions/${name} ${sb.root}/sessions/once-${sb.tag} ${sb.root}/count-${sb.tag}.sh`,
    );
    sb.cleanup();
  });

  it('refuses a lease without a tmux server (exit 2, the fix in the hint) and an unknown lease (exit 3)', () => {
    const plain = `tp-${sb.tag}`;
    expect(
      sb.run(['lease', 'book', plain, '--host', 'cluster', '--time', '5m', '--no-wait']).status,
    ).toBe(0);
    sb.spec(
      `nt-${sb.tag}`,
      `  runtime: slurm-tenant\n  command: 'sleep 60'\n  slurm: { lease: ${plain} }`,
    );
    const r = sb.run(['session', 'start', `nt-${sb.tag}.yaml`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/has no tmux server/);
    expect(r.stderr).toMatch(/^hint: book the lease with --tmux/m);
    sb.spec(
      `nl-${sb.tag}`,
      `  runtime: slurm-tenant\n  command: 'sleep 60'\n  slurm: { lease: nosuch-${sb.tag} }`,
    );
    expect(sb.run(['session', 'start', `nl-${sb.tag}.yaml`]).status).toBe(3);
    sb.run(['lease', 'release', plain]);
  });

  it('runs in the lease and survives two hops, resuming from its checkpoint each time', async () => {
    sb.spec(
      name,
      [
        '  runtime: slurm-tenant',
        `  command: [bash, ${sb.root}/count-${sb.tag}.sh]`,
        '  env: { COUNT_INTERVAL: 0.2 }',
        `  slurm: { lease: ${lease} }`,
      ].join('\n'),
    );
    const [started] = sb.json<StartResult[]>(['session', 'start', `${name}.yaml`, '--json']);
    expect(started).toMatchObject({ runtime: 'slurm-tenant', started: true });
    await until('the session to run', () => status().state === 'running', 120_000);
    const first = await known(status);
    expect(first.socket).toBe(`berth-lease-${first.jobId}`);
    await until(
      'the lease to list the tenant alive',
      () => tenantList() === `${name} alive`,
      60_000,
    );
    await until(
      'the screen',
      () => /count \d+/.test(sb.run(['session', 'logs', name, '--screen']).stdout),
      60_000,
    );
    // A tenant that ends with exit 0 (restart: never) leaves the lease: no later job starts it.
    const once = `once-${sb.tag}`;
    const onceStatus = () => sb.json<StatusDetail>(['session', 'status', once, '--json']);
    sb.spec(
      once,
      `  runtime: slurm-tenant\n  command: 'echo "once in $SLURM_JOB_ID"'\n  slurm: { lease: ${lease} }`,
    );
    expect(sb.run(['session', 'start', `${once}.yaml`]).status).toBe(0);
    await until('the short tenant to end', () => onceStatus().state === 'exited', 120_000);
    await until(
      'two hops',
      () => status().runs.length >= 3 && status().state === 'running',
      420_000,
    );
    const ended = await known(onceStatus);
    expect(ended).toMatchObject({ state: 'exited', exitCode: 0 });
    expect(ended.runs).toHaveLength(1);
    const s = await known(status);
    expect(s.jobId).toBe(leaseJob());
    expect(new Set(s.runs.map((r) => r.jobId)).size).toBe(s.runs.length);
    expect(s.runs.at(-1)?.reason).toBe('start');
    for (const r of s.runs.slice(0, -1)) expect(r.reason).toBe('resubmit');
    // every later run resumes where a checkpoint left off (never from zero)
    for (const r of s.runs.slice(0, -1)) {
      const log = sb.run(['session', 'logs', name, '--run', r.runId, '-n', '100000']).stdout;
      const first = Number(/^count (\d+)$/m.exec(log)?.[1]);
      expect(log).toMatch(/^resuming after \d+ /m);
      expect(first).toBeGreaterThan(1);
    }
    const stopped = sb.json<Array<{ ended: boolean; exitCode: number | null }>>([
      'session',
      'stop',
      name,
      '--json',
    ]);
    expect(stopped[0]).toMatchObject({ ended: true, exitCode: 0 });
    expect(await known(status)).toMatchObject({ state: 'stopped', desired: 'stopped' });
    expect(sb.json<Array<{ ended: boolean }>>(['session', 'stop', once, '--json'])).toEqual([
      expect.objectContaining({ ended: false, exitCode: 0 }),
    ]);
    let left: string | undefined;
    await until(
      'the lease to answer',
      () => {
        left = tenantList();
        return left !== undefined;
      },
      60_000,
    );
    expect(left).toBe('');
  }, 600_000);
});
