/**
 * detectScheduler (`scheduler: auto`): what the host's login shell answers, asked again once
 * when it does not answer, and an error that says why when it still does not.
 */
import { describe, expect, it } from 'vitest';
import { UnreachableError } from '../../src/core/errors.js';
import { detectScheduler } from '../../src/scheduler/index.js';
import type { RunResult } from '../../src/transport/runner.js';
import { scriptedRunner } from '../helpers/scripted-runner.js';

/** Each test names its own host: detectScheduler caches per host. */
const scripted = (host: string, replies: Array<Partial<RunResult>>) =>
  scriptedRunner(replies, host);

describe('detectScheduler', () => {
  it('reads the answer through login-shell noise, once per host', async () => {
    const r = scripted('detect-a', [{ stdout: 'Welcome to the cluster\n@@slurm\n' }]);
    expect(await detectScheduler(r)).toBe('slurm');
    expect(await detectScheduler(r)).toBe('slurm');
    expect(r.scripts.length).toBe(1);
  });

  it('asks again when the first try gave no answer', async () => {
    const r = scripted('detect-b', [
      { exitCode: 255, stderr: 'bash: fork: retry: Resource temporarily unavailable\n' },
      { stdout: '@@none\n' },
    ]);
    expect(await detectScheduler(r)).toBe('none');
    expect(r.scripts.length).toBe(2);
  });

  it('says why when no try answered, and forgets the failure', async () => {
    const r = scripted('detect-c', [
      { timedOut: true, exitCode: null, signal: 'SIGKILL' },
      { exitCode: 1, stderr: 'motd\n/etc/profile: line 3: module: command not found\n' },
      { stdout: '@@slurm\n' },
    ]);
    const err = await detectScheduler(r).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toBe(
      'cannot tell which scheduler host detect-c has: the login shell exited 1: /etc/profile: line 3: module: command not found',
    );
    expect(r.scripts.length).toBe(2);
    // Not cached: the next command asks again.
    expect(await detectScheduler(r)).toBe('slurm');
  });

  it('names a timeout as such', async () => {
    const r = scripted('detect-d', [{ timedOut: true }, { timedOut: true }]);
    await expect(detectScheduler(r)).rejects.toThrow(/detect-d has: no answer within 30 s/);
  });
});
