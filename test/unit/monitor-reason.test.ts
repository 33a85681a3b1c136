import { describe, expect, it } from 'vitest';
import {
  oomFileFor,
  parseOomKills,
  parseSacctState,
  parseScontrolReason,
  parseScontrolState,
  reasonFromSlurm,
  reasonFromSlurmState,
} from '../../src/monitor/reason.js';

describe('reasonFromSlurmState', () => {
  it('maps SLURM states (long, short, "by uid", truncated) to reasons', () => {
    const cases: Array<[string, string | null]> = [
      ['CANCELLED by 0', 'cancelled'],
      ['CANCELLED', 'cancelled'],
      ['CA', 'cancelled'],
      ['TIMEOUT', 'timeout'],
      ['DEADLINE', 'timeout'],
      ['OUT_OF_MEMORY', 'out_of_memory'],
      ['OUT_OF_ME+', null],
      ['OOM', 'out_of_memory'],
      ['NODE_FAIL', 'node_fail'],
      ['BOOT_FAIL', 'node_fail'],
      ['PREEMPTED', 'preempted'],
      ['RUNNING', null],
      ['COMPLETING', null],
      ['FAILED', null],
      ['', null],
    ];
    for (const [text, want] of cases)
      expect([text, reasonFromSlurmState(text)]).toEqual([text, want]);
  });
});

describe('reasonFromSlurm', () => {
  it('reads the cause of a COMPLETING job from its Reason (what scontrol shows while we run)', () => {
    expect(reasonFromSlurm({ state: 'COMPLETING', reason: 'TimeLimit' })).toBe('timeout');
    expect(reasonFromSlurm({ state: 'COMPLETING', reason: null })).toBe('cancelled');
    expect(reasonFromSlurm({ state: 'COMPLETING', reason: 'Preemption' })).toBe('preempted');
    expect(reasonFromSlurm({ state: 'COMPLETING', reason: 'NodeDown' })).toBe('node_fail');
    expect(reasonFromSlurm({ state: 'TIMEOUT' })).toBe('timeout');
    expect(reasonFromSlurm({ state: 'RUNNING', reason: null })).toBeNull();
  });
});

describe('parsers', () => {
  it('reads JobState from scontrol -o and State from sacct -P', () => {
    const line =
      'JobId=51 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=1 Nice=0 Account=root QOS=normal JobState=CANCELLED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15';
    expect(parseScontrolState(line)).toBe('CANCELLED');
    expect(parseScontrolState('slurm_load_jobs error: Invalid job id specified')).toBeNull();
    expect(parseScontrolReason(line)).toBeNull();
    expect(parseScontrolReason('JobState=COMPLETING Reason=TimeLimit Dependency=(null)')).toBe(
      'TimeLimit',
    );
    expect(parseSacctState('CANCELLED by 0\n')).toBe('CANCELLED by 0');
    expect(parseSacctState('\n')).toBeNull();
  });

  it('finds the memory cgroup file for v1 and v2 and reads oom_kill', () => {
    const v1 =
      '12:pids:/slurm/uid_0/job_5/step_batch\n4:memory:/slurm/uid_0/job_5/step_batch/task_0\n1:name=systemd:/x\n';
    expect(oomFileFor(v1)).toBe(
      '/sys/fs/cgroup/memory/slurm/uid_0/job_5/step_batch/task_0/memory.oom_control',
    );
    expect(oomFileFor('0::/user.slice/user-1000.slice/session-2.scope\n')).toBe(
      '/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/memory.events',
    );
    expect(oomFileFor('')).toBeNull();
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n')).toBe(2);
    expect(parseOomKills('low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n')).toBe(1);
    expect(parseOomKills('oom_kill_disable 0\n')).toBeNull();
  });
});
