/**
 * SshRunner when the server refuses a session before the command started (a busy sshd or
 * MaxSessions): the command is run again, and only then. A scripted `ssh` on PATH plays the
 * server: it runs the remote command with the local bash once it "accepts" the session.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnreachableError } from '../../src/core/errors.js';
import { SshRunner } from '../../src/transport/ssh.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-ssh-refused-'));
const savedPath = process.env.PATH;

/** How the fake server answers command N (1-based): REFUSE, DROP or RUN. */
function plan(answers: string[]): void {
  writeFileSync(join(dir, 'plan'), `${answers.join('\n')}\n`);
  writeFileSync(join(dir, 'calls'), '');
}
const calls = () => readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean).length;

beforeAll(() => {
  const fake = join(dir, 'ssh');
  writeFileSync(
    fake,
    [
      '#!/bin/bash',
      'cp=; prev=; for a in "$@"; do [ "$prev" = -S ] && cp=$a; prev=$a; done',
      'case "$*" in',
      '  *" -O check "*) echo "Master running (pid=$$)" >&2; exit 0;;',
      '  *ControlMaster=yes*)',
      `    node -e "const s=require('net').createServer(c=>c.destroy()).listen(process.argv[1]);setTimeout(()=>s.close(),20000)" "$cp" </dev/null >/dev/null 2>&1 &`,
      '    for i in $(seq 100); do [ -S "$cp" ] && exit 0; sleep 0.05; done; exit 1;;',
      'esac',
      `echo x >> ${dir}/calls`,
      `n=$(wc -l < ${dir}/calls)`,
      `answer=$(sed -n "\${n}p" ${dir}/plan)`,
      'case $answer in',
      '  REFUSE) echo "mux_client_request_session: session request failed: Session open refused by peer" >&2; exit 255;;',
      '  DROP) echo "kex_exchange_identification: read: Connection reset by peer" >&2; exit 255;;',
      '  CLOSED) echo "Connection to 127.0.0.1 closed by remote host." >&2; exit 255;;',
      'esac',
      // The remote command is the last argument; run it as sshd would.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion
      'exec bash -c "${@: -1}"',
    ].join('\n'),
  );
  chmodSync(fake, 0o755);
  process.env.PATH = `${dir}:${savedPath}`;
});

afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

function runner(): SshRunner {
  return new SshRunner({ host: 'h', target: 'alice@example.org', stateDir: join(dir, 'state') });
}

describe('SshRunner and a refused session', () => {
  it('runs the command again when the session was refused or the connection shed', async () => {
    plan(['REFUSE', 'DROP', 'RUN']);
    const r = await runner().run(['echo', 'it ran']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('it ran\n');
    expect(calls()).toBe(3);
  });

  it('gives up after three refusals with an UnreachableError that says so', async () => {
    plan(['REFUSE', 'REFUSE', 'REFUSE', 'RUN']);
    const err = await runner()
      .run(['true'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toMatch(/refused another session/);
    expect(calls()).toBe(3);
  }, 20_000);

  it('never runs again a command whose connection closed without such words (it may have run)', async () => {
    plan(['CLOSED', 'RUN']);
    const err = await runner()
      .run(['true'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect(calls()).toBe(1);
  });
});
