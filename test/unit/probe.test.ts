import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { problemsOf } from '../../src/host/check.js';
import { parseProbe } from '../../src/host/probe.js';

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '../fixtures/host', name), 'utf8');

describe('parseProbe', () => {
  it('reads SLURM version, MaxArraySize and accounting from the real cluster output', () => {
    const r = parseProbe(fixture('probe-slurm-22.05.txt'));
    expect(r.complete).toBe(true);
    expect(r.slurm).toEqual({
      present: true,
      version: '22.05.8',
      clusterName: 'berth',
      maxArraySize: 1001,
      maxJobCount: 10000,
      minJobAgeS: 300,
      accountingStorage: 'accounting_storage/slurmdbd',
    });
    expect(r.accounting.available).toBe(true);
    expect(r.tmux).toEqual({ present: true, version: '3.3a' });
    expect(r.rsync).toEqual({ present: true, version: '3.5.0' });
    expect(problemsOf('slurm', r)).toEqual([]);
  });

  it('ignores banner noise and reports accounting off with the reason', () => {
    const r = parseProbe(fixture('probe-noacct-noise.txt'));
    expect(r.slurm.version).toBe('22.05.8');
    expect(r.accounting.available).toBe(false);
    expect(r.accounting.detail).toMatch(/AccountingStorageType is none/);
    expect(problemsOf('slurm', r)[0]).toMatch(/accounting unavailable/);
  });

  it('reports a host without SLURM or tmux', () => {
    const r = parseProbe(fixture('probe-no-slurm.txt'));
    expect(r.slurm.present).toBe(false);
    expect(r.slurm.version).toBeNull();
    expect(r.tmux.present).toBe(false);
    expect(r.rsync.present).toBe(true);
    expect(problemsOf('none', r)).toEqual([
      'tmux is missing: leases with --tmux and sessions need it',
    ]);
    expect(problemsOf('slurm', r)[0]).toMatch(/sbatch is not on the login PATH/);
  });

  it('marks output cut short as incomplete', () => {
    const text = fixture('probe-slurm-22.05.txt');
    expect(parseProbe(text.slice(0, text.indexOf('@@berth-probe:tmux'))).complete).toBe(false);
  });
});
