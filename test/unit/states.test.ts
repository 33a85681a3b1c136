import { describe, expect, it } from 'vitest';
import {
  describeState,
  fromSlurmState,
  isTerminal,
  type JobEvent,
  type JobState,
  parseExitCode,
  SLURM_STATES,
  transition,
} from '../../src/core/states.js';

const T = 1_795_461_140_000;

describe('fromSlurmState', () => {
  it('maps every SLURM code and long name to the same berth state', () => {
    for (const s of SLURM_STATES) {
      const byName = fromSlurmState(s.name);
      expect(byName.kind).toBe(s.berth);
      expect(fromSlurmState(s.code)).toEqual(byName);
      expect(fromSlurmState(s.name.toLowerCase())).toEqual(byName);
    }
  });

  it('knows every state code SLURM 22.05 documents', () => {
    const names = SLURM_STATES.map((s) => s.name);
    for (const n of [
      'PENDING',
      'RUNNING',
      'SUSPENDED',
      'COMPLETING',
      'COMPLETED',
      'FAILED',
      'CANCELLED',
      'TIMEOUT',
      'OUT_OF_MEMORY',
      'NODE_FAIL',
      'PREEMPTED',
      'BOOT_FAIL',
      'DEADLINE',
      'REQUEUED',
      'RESIZING',
      'REVOKED',
      'SPECIAL_EXIT',
      'CONFIGURING',
      'STOPPED',
      'SIGNALING',
      'RESV_DEL_HOLD',
      'REQUEUE_FED',
      'REQUEUE_HOLD',
      'STAGE_OUT',
    ]) {
      expect(names).toContain(n);
    }
    const codes = SLURM_STATES.map((s) => s.code);
    for (const c of ['PD', 'R', 'S', 'CG', 'CD', 'F', 'CA', 'TO', 'OOM', 'NF', 'PR', 'BF', 'DL']) {
      expect(codes).toContain(c);
    }
  });

  it('carries each state its own data', () => {
    expect(fromSlurmState('PENDING', { reason: 'Priority' })).toEqual({
      kind: 'pending',
      reason: 'Priority',
    });
    expect(fromSlurmState('PD', { reason: 'None' })).toEqual({ kind: 'pending', reason: null });
    expect(fromSlurmState('RUNNING', { nodes: ['n1', 'n2'], startedAt: T })).toEqual({
      kind: 'running',
      nodes: ['n1', 'n2'],
      startedAt: T,
    });
    expect(fromSlurmState('COMPLETED', { exitCode: '0:0', endedAt: T })).toEqual({
      kind: 'completed',
      exitCode: 0,
      endedAt: T,
    });
    expect(fromSlurmState('FAILED', { exitCode: '3:0', endedAt: T })).toEqual({
      kind: 'failed',
      exitCode: 3,
      endedAt: T,
    });
    expect(fromSlurmState('FAILED', { exitCode: '0:9', endedAt: T })).toEqual({
      kind: 'failed',
      exitCode: 0,
      signal: 9,
      endedAt: T,
    });
    expect(fromSlurmState('F', { reason: 'NonZeroExitCode' })).toEqual({
      kind: 'failed',
      exitCode: null,
      endedAt: null,
      reason: 'NonZeroExitCode',
    });
    expect(fromSlurmState('TIMEOUT', { endedAt: T })).toEqual({
      kind: 'timeout',
      limit: 'walltime',
      endedAt: T,
    });
    expect(fromSlurmState('DEADLINE')).toEqual({
      kind: 'timeout',
      limit: 'deadline',
      endedAt: null,
    });
    expect(fromSlurmState('BOOT_FAIL')).toEqual({
      kind: 'node_fail',
      reason: 'boot failure',
      endedAt: null,
    });
  });

  it('reads "CANCELLED by <uid>" and sacct truncation marks', () => {
    expect(fromSlurmState('CANCELLED by 1001', { endedAt: T })).toEqual({
      kind: 'cancelled',
      by: '1001',
      endedAt: T,
    });
    expect(fromSlurmState('CANCELLED', {})).toEqual({ kind: 'cancelled', endedAt: null });
    expect(fromSlurmState('CANCELLED+').kind).toBe('cancelled');
  });

  it('maps requeue and configuring states to pending with a reason', () => {
    expect(fromSlurmState('REQUEUED')).toEqual({ kind: 'pending', reason: 'requeued' });
    expect(fromSlurmState('CONFIGURING', { reason: 'None' })).toEqual({
      kind: 'pending',
      reason: 'configuring',
    });
    expect(fromSlurmState('REQUEUE_HOLD', { reason: 'JobHeldAdmin' })).toEqual({
      kind: 'pending',
      reason: 'held after requeue: JobHeldAdmin',
    });
  });

  it('makes an unrecognised state unknown, never a guess', () => {
    expect(fromSlurmState('WIBBLE')).toEqual({
      kind: 'unknown',
      reason: 'unrecognised SLURM state "WIBBLE"',
      since: null,
    });
  });
});

describe('parseExitCode', () => {
  it('reads N:S', () => {
    expect(parseExitCode('3:0')).toEqual({ exitCode: 3, signal: 0 });
    expect(parseExitCode('0:9')).toEqual({ exitCode: 0, signal: 9 });
    expect(parseExitCode('')).toBeNull();
    expect(parseExitCode('x')).toBeNull();
  });
});

const pending: JobState = { kind: 'pending', reason: 'Priority' };
const running: JobState = { kind: 'running', nodes: ['n1'], startedAt: T };
const completed: JobState = { kind: 'completed', exitCode: 0, endedAt: T + 5000 };
const failed: JobState = { kind: 'failed', exitCode: 3, endedAt: T + 5000 };
const observed = (state: JobState, at = T + 10_000): JobEvent => ({ type: 'observed', state, at });

describe('transition', () => {
  it('follows observations through a normal life', () => {
    let s: JobState = transition(running, { type: 'submitted', at: T });
    expect(s).toEqual({ kind: 'pending', reason: null });
    for (const next of [
      pending,
      running,
      { kind: 'completing', nodes: ['n1'] } as JobState,
      completed,
    ]) {
      s = transition(s, observed(next));
      expect(s).toEqual(next);
    }
    expect(isTerminal(s)).toBe(true);
  });

  it('turns a failed query into unknown with the reason, keeping the last known state', () => {
    const s = transition(running, { type: 'query_failed', reason: 'squeue: timed out', at: T });
    expect(s).toEqual({ kind: 'unknown', reason: 'squeue: timed out', since: T, last: running });
    const again = transition(s, { type: 'query_failed', reason: 'ssh: refused', at: T + 1 });
    expect(again).toEqual({ kind: 'unknown', reason: 'ssh: refused', since: T, last: running });
    expect(transition(again, observed(running))).toEqual(running);
  });

  it('keeps a terminal state when a query fails or the job vanishes (cached terminal)', () => {
    for (const terminal of [completed, failed]) {
      expect(transition(terminal, { type: 'query_failed', reason: 'x', at: T })).toBe(terminal);
      expect(transition(terminal, { type: 'vanished', at: T })).toBe(terminal);
    }
  });

  it('calls a live job that vanished lost, naming what it last was', () => {
    expect(transition(running, { type: 'vanished', at: T })).toEqual({
      kind: 'lost',
      reason: 'left the queue with no accounting record (last seen running)',
      since: T,
    });
    const unknown = transition(pending, { type: 'query_failed', reason: 'x', at: T });
    expect(transition(unknown, { type: 'vanished', at: T + 1 })).toMatchObject({
      kind: 'lost',
      reason: expect.stringContaining('last seen pending'),
    });
  });

  it('ignores a stale non-terminal observation of a finished job', () => {
    expect(transition(completed, observed(running))).toBe(completed);
    expect(transition(failed, observed({ kind: 'completing', nodes: [] }))).toBe(failed);
  });

  it('follows a requeue: terminal → pending', () => {
    const nodeFail: JobState = { kind: 'node_fail', endedAt: T };
    expect(transition(nodeFail, observed(pending))).toEqual(pending);
  });

  it('lets a later terminal observation refine a terminal state', () => {
    const cancelled: JobState = { kind: 'cancelled', endedAt: null };
    const byUser: JobState = { kind: 'cancelled', by: '1001', endedAt: T };
    expect(transition(cancelled, observed(byUser))).toEqual(byUser);
  });

  it('lets any observation replace lost (a conclusion, not a fact)', () => {
    const lost = transition(running, { type: 'vanished', at: T });
    expect(transition(lost, observed(completed))).toEqual(completed);
    expect(transition(lost, observed(running))).toEqual(running);
  });

  it('treats an unrecognised observed state as unknown but keeps terminal states', () => {
    const weird: JobState = {
      kind: 'unknown',
      reason: 'unrecognised SLURM state "X"',
      since: null,
    };
    expect(transition(running, observed(weird, T))).toEqual({ ...weird, since: T, last: running });
    expect(transition(completed, observed(weird))).toBe(completed);
  });
});

describe('isTerminal and describeState', () => {
  it('says which states end a job', () => {
    expect(isTerminal(pending)).toBe(false);
    expect(isTerminal(running)).toBe(false);
    expect(isTerminal({ kind: 'unknown', reason: 'x', since: null })).toBe(false);
    expect(isTerminal({ kind: 'suspended', since: null })).toBe(false);
    expect(isTerminal(failed)).toBe(true);
    expect(isTerminal({ kind: 'lost', reason: 'x', since: null })).toBe(true);
  });

  it('labels states for people', () => {
    expect(describeState(pending)).toBe('pending (Priority)');
    expect(describeState(running)).toBe('running on n1');
    expect(describeState(failed)).toBe('failed (exit 3)');
    expect(describeState({ kind: 'failed', exitCode: 0, signal: 9, endedAt: null })).toBe(
      'failed (exit 0, signal 9)',
    );
    expect(describeState({ kind: 'cancelled', by: '1001', endedAt: null })).toBe(
      'cancelled by 1001',
    );
    expect(describeState(completed)).toBe('completed');
  });
});
