import { homedir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/core/errors.js';
import { expandHome, HomeCache } from '../../src/scheduler/home.js';
import { LocalRunner } from '../../src/transport/local.js';
import type { RunResult } from '../../src/transport/runner.js';
import { scriptedRunner } from '../helpers/scripted-runner.js';

const scripted = (replies: Array<Partial<RunResult>>) => scriptedRunner(replies);

describe('expandHome', () => {
  it('expands ~ on the host through the shell, quoting the rest', async () => {
    const runner = new LocalRunner();
    expect(await expandHome(runner, '~')).toBe(homedir());
    expect(await expandHome(runner, "~/runs/it's $(here)")).toBe(`${homedir()}/runs/it's $(here)`);
  });

  it('leaves an absolute path alone without a round trip', async () => {
    const runner = scripted([]);
    expect(await expandHome(runner, '/scratch/me')).toBe('/scratch/me');
    expect(runner.scripts).toEqual([]);
  });

  it('reads the marker line past login banners', async () => {
    const runner = scripted([{ stdout: 'Welcome to hpc\n/not/this\n@@berth-home /home/me/x\n' }]);
    expect(await expandHome(runner, '~/x')).toBe('/home/me/x');
  });

  it('fails with the host, the last stderr line and a hint', async () => {
    const runner = scripted([{ exitCode: 255, stderr: 'banner\nConnection refused\n' }]);
    const e = await expandHome(runner, '~/x', { hint: 'give --root' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as RemoteError).message).toBe('cannot resolve ~/x on hpc: Connection refused');
    expect((e as RemoteError).hint).toBe('give --root');
  });
});

describe('HomeCache', () => {
  it('asks once, and asks again after a failure', async () => {
    const runner = scripted([
      { exitCode: 1 },
      { stdout: '@@berth-home /home/me/berth\n' },
      { stdout: '@@berth-home /elsewhere\n' },
    ]);
    const cache = new HomeCache(runner, '~/berth', 1000);
    await expect(cache.get()).rejects.toThrow(/cannot resolve ~\/berth on hpc/);
    expect(await cache.get()).toBe('/home/me/berth');
    expect(await cache.get()).toBe('/home/me/berth');
    expect(runner.scripts).toHaveLength(2);
  });
});
