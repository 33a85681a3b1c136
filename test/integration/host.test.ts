import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostCheck } from '../../src/host/check.js';
import { berth, json } from '../helpers/cli.js';
import { cluster } from '../helpers/cluster.js';
import { clusterProjectYaml, type Sandbox, sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;

beforeAll(() => {
  sb = sandbox('berth-host-');
  sb.writeProject(clusterProjectYaml());
});
afterAll(() => sb.cleanup());

describe('berth host check', () => {
  it('reports SLURM 22.05, MaxArraySize and accounting on the test cluster over ssh', () => {
    const r = berth(['host', 'check', 'cluster', '--json'], sb);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const c = json<HostCheck>(r);
    expect(c.transport).toBe('ssh');
    expect(c.scheduler).toBe('slurm');
    expect(c.schedulerSource).toBe('detected');
    expect(c.slurm.version).toMatch(/^22\.05\./);
    expect(c.slurm.maxArraySize).toBe(cluster().maxArraySize);
    expect(c.accounting.available).toBe(true);
    expect(c.tmux.present).toBe(true);
    expect(c.rsync.present).toBe(true);
    expect(c.rttMs).toBeGreaterThan(0);
    // A sanity bound (milliseconds, a local sshd), loose: a loaded machine can stall seconds.
    expect(c.rttMs).toBeLessThan(30_000);
  });

  it('prints a readable report without --json', () => {
    const r = berth(['host', 'check', 'cluster'], sb);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^scheduler\s+slurm \(detected\)$/m);
    expect(r.stdout).toMatch(/^MaxArraySize\s+\d+$/m);
    expect(r.stdout).toMatch(/^accounting\s+yes/m);
  });

  it('checks the local host with the embedded defaults', () => {
    const r = berth(['host', 'check', '--json'], sb);
    expect(r.status).toBe(0);
    const c = json<HostCheck>(r);
    expect(c.host).toBe('local');
    expect(c.transport).toBe('local');
    expect(['slurm', 'none']).toContain(c.scheduler);
  });

  it('fails within a bounded time with exit 5 and a hint when the host is down', () => {
    const r = berth(['host', 'check', 'down'], sb);
    expect(r.status).toBe(5);
    expect(r.stderr).toMatch(/^berth: error: .*down/m);
    expect(r.stderr).toMatch(/^hint: /m);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // Bounded (the connection is refused at once): loose, as a loaded machine stalls seconds.
    expect(r.ms).toBeLessThan(60_000);
    const j = json(berth(['host', 'check', 'down', '--json'], sb));
    expect(j.error).toBe('E_UNREACHABLE');
  });

  it('refuses an unknown host with exit 3 and lists the known ones', () => {
    const r = berth(['host', 'check', 'nosuch'], sb);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/cluster/);
  });
});

describe('berth host list', () => {
  it('lists local and configured hosts without connecting', () => {
    const r = berth(['host', 'list', '--json'], sb);
    expect(r.status).toBe(0);
    const rows = json<Array<{ name: string; transport: string }>>(r);
    expect(rows.map((h) => h.name).sort()).toEqual(['cluster', 'down', 'local']);
    expect(rows.find((h) => h.name === 'cluster')?.transport).toBe('ssh');
  });
});
