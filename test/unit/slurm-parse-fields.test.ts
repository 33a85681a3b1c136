import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  expandHostlist,
  parseCount,
  parseSlurmDuration,
  parseSlurmTime,
} from '../../src/scheduler/slurm/parse-fields.js';
import {
  maxArraySize,
  parseScontrolConfig,
  parseScontrolShowJob,
} from '../../src/scheduler/slurm/parse-scontrol.js';

const CAPTURED = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'slurm', 'captured');
const read = (name: string) => readFileSync(join(CAPTURED, name), 'utf8');
const jobs = JSON.parse(read('jobs.json')) as Record<string, number>;
const NOISE = 'Last login: Mon Nov 23 18:59:02 2026\nLmod: loading default modules\n(base) \n';

describe('parseSlurmTime', () => {
  it('reads epoch seconds (SLURM_TIME_FORMAT=%s)', () => {
    expect(parseSlurmTime('1795461140')).toBe(1_795_461_140_000);
  });

  it('reads ISO local time with the cluster offset', () => {
    expect(parseSlurmTime('2026-11-23T19:12:20', { utcOffsetMinutes: 0 })).toBe(
      Date.UTC(2026, 10, 23, 19, 12, 20),
    );
    expect(parseSlurmTime('2026-11-23T19:12:20', { utcOffsetMinutes: 60 })).toBe(
      Date.UTC(2026, 10, 23, 18, 12, 20),
    );
    expect(parseSlurmTime('2026-11-23T19:12:20', { utcOffsetMinutes: -300 })).toBe(
      Date.UTC(2026, 10, 24, 0, 12, 20),
    );
  });

  it('reads ISO local time in this process time zone by default', () => {
    expect(parseSlurmTime('2026-11-23T19:12:20')).toBe(
      new Date(2026, 10, 23, 19, 12, 20).getTime(),
    );
  });

  it('reads no-value words as null', () => {
    for (const t of ['Unknown', 'None', 'NONE', 'N/A', '', '(null)', 'garbage', '0']) {
      expect(parseSlurmTime(t)).toBeNull();
    }
  });
});

describe('parseSlurmDuration and parseCount', () => {
  it('reads elapsed times and limits as squeue and sacct print them', () => {
    expect(parseSlurmDuration('0:02')).toBe(2);
    expect(parseSlurmDuration('1:23')).toBe(83);
    expect(parseSlurmDuration('00:01:23')).toBe(83);
    expect(parseSlurmDuration('1-00:00:05')).toBe(86_405);
    for (const t of ['UNLIMITED', 'Partition_Limit', 'INVALID', 'N/A', '']) {
      expect(parseSlurmDuration(t)).toBeNull();
    }
  });

  it('reads counts', () => {
    expect(parseCount('4')).toBe(4);
    expect(parseCount('N/A')).toBeNull();
  });
});

describe('expandHostlist', () => {
  it('expands SLURM host lists', () => {
    expect(expandHostlist('n1')).toEqual(['n1']);
    expect(expandHostlist('n[1-3]')).toEqual(['n1', 'n2', 'n3']);
    expect(expandHostlist('n[1-2,7],login')).toEqual(['n1', 'n2', 'n7', 'login']);
    expect(expandHostlist('gpu[08-10]')).toEqual(['gpu08', 'gpu09', 'gpu10']);
    expect(expandHostlist('r[1-2]n[1-2]')).toEqual(['r1n1', 'r1n2', 'r2n1', 'r2n2']);
    expect(expandHostlist('a-b.example,c')).toEqual(['a-b.example', 'c']);
  });

  it('reads no nodes as an empty list', () => {
    for (const t of ['', 'None assigned', '(null)']) expect(expandHostlist(t)).toEqual([]);
  });
});

describe('parseScontrolShowJob', () => {
  it('reads the multi-line form of a real running job', () => {
    const [job, ...rest] = parseScontrolShowJob(read('scontrol-show-job.txt'));
    expect(rest).toEqual([]);
    expect(job).toMatchObject({
      JobId: String(jobs.run),
      JobName: 'golden-run',
      JobState: 'RUNNING',
      UserId: 'berthtest(1001)',
      'AllocNode:Sid': expect.any(String),
      'NtasksPerN:B:S:C': '0:0:*:*',
      ExitCode: '0:0',
      Power: '',
    });
    expect(job!.StdOut).toMatch(/slurm-\d+\.out$/);
  });

  it('reads the one-line form, here the pending array', () => {
    const records = parseScontrolShowJob(read('scontrol-show-job-oneline.txt'));
    expect(records).toHaveLength(1);
    expect(records.every((r) => r.ArrayJobId === String(jobs.array))).toBe(true);
    expect(records[0]).toMatchObject({
      ArrayTaskId: '0-5%2',
      ArrayTaskThrottle: '2',
      JobState: 'PENDING',
    });
  });

  it('keeps values with spaces and skips noise', () => {
    const text = `${NOISE}JobId=5 JobName=two words here\n   JobState=PENDING Reason=None\n\nnot a pair\nJobId=6 JobName=x\n`;
    expect(parseScontrolShowJob(text)).toEqual([
      { JobId: '5', JobName: 'two words here', JobState: 'PENDING', Reason: 'None' },
      { JobId: '6', JobName: 'x' },
    ]);
  });
});

describe('parseScontrolConfig', () => {
  it('reads the real config and MaxArraySize', () => {
    const config = parseScontrolConfig(NOISE + read('scontrol-show-config.txt'));
    expect(config.MaxArraySize).toBe('1001');
    expect(config.MinJobAge).toBe('300 sec');
    expect(config.SLURM_VERSION).toMatch(/^22\.05/);
    expect(maxArraySize(config)).toBe(1001);
  });

  it('falls back to SLURM default 1001', () => {
    expect(maxArraySize({})).toBe(1001);
    expect(maxArraySize({ MaxArraySize: '40001' })).toBe(40_001);
  });
});
