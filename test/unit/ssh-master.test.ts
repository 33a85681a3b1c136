/**
 * SshMaster with a scripted `ssh` (the sshBinary option): how it reads `-O check` and when
 * it asks again to open a master. The real master against the test sshd is covered by
 * test/integration/ssh-master.test.ts; these are the answers a busy server gives rarely.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UnreachableError } from '../../src/core/errors.js';
import type { SshEndpoint } from '../../src/transport/ssh-args.js';
import { droppedBeforeAuth } from '../../src/transport/ssh-failure.js';
import { SshMaster, socketAccepts } from '../../src/transport/ssh-master.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fake ssh in a fresh directory; its calls are counted in `<dir>/calls`. */
function fakeSsh(body: string): { dir: string; bin: string; calls: () => number } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fake-ssh-'));
  dirs.push(dir);
  const bin = join(dir, 'ssh');
  writeFileSync(
    bin,
    [
      '#!/bin/bash',
      `echo x >> ${dir}/calls`,
      `n=$(wc -l < ${dir}/calls)`,
      // The control path is the argument after -S.
      'cp=; prev=; for a in "$@"; do [ "$prev" = -S ] && cp=$a; prev=$a; done',
      body,
    ].join('\n'),
  );
  chmodSync(bin, 0o755);
  const calls = () => readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean).length;
  return { dir, bin, calls };
}

function master(dir: string, bin: string): SshMaster {
  const endpoint: SshEndpoint = {
    destination: 'alice@login.example.org',
    controlPath: join(dir, 'cm', 'abc123'),
    connectTimeoutS: 2,
    extraOptions: [],
  };
  return new SshMaster(endpoint, { host: 'h', target: 'alice@login.example.org', sshBinary: bin });
}

/** Shell that starts a listener on $cp in the background (like a forked master) and exits 0. */
const LISTEN = [
  `node -e "const s=require('net').createServer(c=>c.destroy()).listen(process.argv[1]);setTimeout(()=>s.close(),5000)" "$cp" </dev/null >/dev/null 2>&1 &`,
  'for i in $(seq 100); do [ -S "$cp" ] && exit 0; sleep 0.05; done',
  'exit 1',
].join('\n');

describe('SshMaster.check', () => {
  it('a master that answers is running even when its words arrive after ssh exited', async () => {
    // The words come from a process that outlives ssh and holds its stderr (late output).
    const f = fakeSsh('(sleep 0.4; echo "Master running (pid=4242)" >&2) & exit 0');
    const status = await master(f.dir, f.bin).check();
    expect(status).toEqual({
      running: true,
      pid: 4242,
      detail: 'Master running (pid=4242)',
    });
  });

  it('a non-zero exit is not running, with ssh words as the detail', async () => {
    const f = fakeSsh(
      'echo "Control socket connect($cp): No such file or directory" >&2; exit 255',
    );
    const status = await master(f.dir, f.bin).check();
    expect(status.running).toBe(false);
    expect(status.detail).toMatch(/No such file or directory/);
  });
});

describe('SshMaster.ensure (opening)', () => {
  it('asks again when the server dropped the connection before authentication', async () => {
    const f = fakeSsh(
      [
        'case "$*" in *" -O "*) exit 255;; esac',
        'if [ "$n" -eq 1 ]; then echo "kex_exchange_identification: read: Connection reset by peer" >&2; exit 255; fi',
        LISTEN,
      ].join('\n'),
    );
    const m = master(f.dir, f.bin);
    await m.ensure();
    expect(await socketAccepts(m.controlPath)).toBe(true);
    expect(f.calls()).toBe(2);
  });

  it('does not ask again when authentication failed; the error says why', async () => {
    const f = fakeSsh(
      'echo "alice@login.example.org: Permission denied (publickey)." >&2; exit 255',
    );
    const err = await master(f.dir, f.bin)
      .ensure()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toMatch(/authentication failed/);
    expect(f.calls()).toBe(1);
  });

  it('gives up after three dropped connections', async () => {
    const f = fakeSsh(
      'echo "kex_exchange_identification: Connection closed by remote host" >&2; exit 255',
    );
    const err = await master(f.dir, f.bin)
      .ensure()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toMatch(/connection was closed/);
    expect(f.calls()).toBe(3);
  }, 20_000);
});

describe('droppedBeforeAuth', () => {
  it('knows the words of a connection shed before authentication, and only those', () => {
    expect(droppedBeforeAuth('kex_exchange_identification: read: Connection reset by peer')).toBe(
      true,
    );
    expect(droppedBeforeAuth('ssh_exchange_identification: Connection closed by remote host')).toBe(
      true,
    );
    // A hung server is not asked again (that would triple the wait).
    expect(droppedBeforeAuth('Connection timed out during banner exchange')).toBe(false);
    expect(droppedBeforeAuth('ssh: connect to host x port 22: Connection refused')).toBe(false);
    expect(droppedBeforeAuth('Permission denied (publickey).')).toBe(false);
    expect(droppedBeforeAuth('Host key verification failed.')).toBe(false);
  });
});
