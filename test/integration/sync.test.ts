/**
 * berth sync push|pull against the test cluster over ssh (and a local host).
 *
 * The sandbox gets its own ssh_config: the cluster's, plus `BindAddress 127.x.y.z` for
 * berth-test, so "Accepted publickey … from <that address>" lines in the sshd log count
 * exactly this file's logins (one: the master; rsync rides it). Every test syncs into a
 * remote directory of its own under workRoot and removes it.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPathFor } from '../../src/transport/ssh-args.js';
import { berth, json } from '../helpers/cli.js';
import { cluster } from '../helpers/cluster.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

interface Change {
  item: string;
  action: string;
  path: string;
}
interface Result {
  direction: string;
  local: string;
  remote: string;
  dryRun: boolean;
  filesTransferred: number;
  bytesTransferred: number;
  durationMs: number;
  changes: Change[];
  deleted: string[];
}

/** Names from the hostile corpus: quotes, spaces, unicode, substitutions, a newline. */
const HOSTILE = [
  'plain.txt',
  'with space.txt',
  "it's.txt",
  'double"quote.txt',
  '$(touch CANARY_subst)',
  '`touch CANARY_backtick`',
  '; touch CANARY_semi;',
  '-rf',
  '--delete',
  'émoji 🚀 日本語.dat',
  'back\\slash',
  'new\nline',
  'dir with space/$HOME/x.bin',
  'd\'q/nested "deep"/z',
];

const addressByte = () => 1 + Math.floor(Math.random() * 250);
const address = `127.${addressByte()}.${addressByte()}.${addressByte()}`;

let sb: Sandbox;
let sshConfig: string;
let sshdLogStart = 0;
const remotes: string[] = [];

function remoteSh(script: string): { status: number | null; stdout: string; stderr: string } {
  const c = cluster();
  const r = spawnSync('ssh', ['-F', c.sshConfig, c.sshAlias, script], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

function newRemote(): string {
  const dir = `${cluster().workRoot}/sync-${randomBytes(6).toString('hex')}`;
  remotes.push(dir);
  return dir;
}

/** Files under a local dir → content (paths relative, with '/'). */
function localTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** Files under a remote dir → sha256 (NUL-separated, so any name survives). */
function remoteTree(dir: string): Map<string, string> {
  const r = remoteSh(
    `cd ${q(dir)} && find . -type f -print0 | sort -z | xargs -0 -r sha256sum -z --`,
  );
  expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
  const out = new Map<string, string>();
  for (const rec of r.stdout.split('\0')) {
    if (!rec) continue;
    const m = /^([0-9a-f]{64}) {2}\.\/(.*)$/s.exec(rec);
    if (!m) throw new Error(`unexpected sha256sum record ${JSON.stringify(rec)}`);
    out.set(m[2] as string, m[1] as string);
  }
  return out;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function hashes(tree: Map<string, Buffer>): Map<string, string> {
  return new Map([...tree].map(([k, v]) => [k, sha(v)]));
}

const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

/** A project tree with hostile names, random binary content, and things to exclude. */
function makeTree(root: string, names = HOSTILE): Map<string, Buffer> {
  const want = new Map<string, Buffer>();
  for (const name of names) {
    const p = join(root, name);
    mkdirSync(join(p, '..'), { recursive: true });
    const content = randomBytes(1 + Math.floor(Math.random() * 5000));
    writeFileSync(p, content);
    want.set(name, content);
  }
  return want;
}

function run(args: string[]) {
  return berth(args, { cwd: sb.cwd, env: sb.env });
}

function sshdAuthentications(): number {
  const c = cluster();
  return readFileSync(c.sshdLog)
    .subarray(sshdLogStart)
    .toString('utf8')
    .split('\n')
    .filter(
      (l) =>
        l.startsWith(`Accepted publickey for ${c.sshUser} `) &&
        l.includes(` from ${address} port `),
    ).length;
}

function noCanaries(): void {
  expect(readdirSync(sb.cwd).filter((n) => n.startsWith('CANARY'))).toEqual([]);
  expect(readdirSync(sb.dir).filter((n) => n.startsWith('CANARY'))).toEqual([]);
  const r = remoteSh(`ls -A ~ ${q(cluster().workRoot)} | grep -c '^CANARY' || true`);
  expect(r.stdout.trim()).toBe('0');
}

beforeAll(() => {
  const c = cluster();
  sshdLogStart = readFileSync(c.sshdLog).length;
  sb = sandbox('berth-sync-');
  sshConfig = join(sb.dir, 'ssh_config');
  writeFileSync(
    sshConfig,
    readFileSync(c.sshConfig, 'utf8').replace(
      `Host ${c.sshAlias}\n`,
      `Host ${c.sshAlias}\n  BindAddress ${address}\n`,
    ),
  );
  sb.writeProject(
    [
      'hosts:',
      '  cluster:',
      `    ssh: ${c.sshAlias}`,
      `    sshConfig: ${sshConfig}`,
      '    scheduler: none',
      `    root: ${c.workRoot}`,
      '  here:',
      '    scheduler: none',
      '',
    ].join('\n'),
  );
});

afterAll(() => {
  if (remotes.length) remoteSh(`rm -rf -- ${remotes.map(q).join(' ')}`);
  if (sb) {
    const cp = controlPathFor(sb.env.BERTH_STATE_DIR as string, cluster().sshAlias, sshConfig);
    spawnSync('ssh', ['-F', sshConfig, '-S', cp, '-O', 'exit', cluster().sshAlias]);
    sb.cleanup();
  }
});

describe('berth sync over ssh', () => {
  it('push: hostile names arrive byte-exact, nothing executes; pull brings them back', () => {
    const src = join(sb.dir, 'src-hostile');
    const want = makeTree(src);
    const remote = newRemote();
    const r = run(['sync', 'push', src, '--host', 'cluster', '--to', remote, '--json']);
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    const res = json<Result>(r);
    expect(res.remote).toBe(remote);
    expect(res.dryRun).toBe(false);
    expect(res.filesTransferred).toBe(HOSTILE.length);
    expect(res.bytesTransferred).toBe([...want.values()].reduce((a, b) => a + b.length, 0));
    const sent = res.changes.filter((c) => c.item.startsWith('<f')).map((c) => c.path);
    expect(sent.sort()).toEqual([...HOSTILE].sort());
    expect(sorted(remoteTree(remote))).toEqual(sorted(hashes(want)));
    noCanaries();

    // Again: nothing to send.
    const again = json<Result>(
      run(['sync', 'push', src, '--host', 'cluster', '--to', remote, '--json']),
    );
    expect(again.filesTransferred).toBe(0);
    expect(again.changes.filter((c) => c.item.startsWith('<f'))).toEqual([]);

    // Pull back into a new local dir.
    const back = join(sb.dir, 'back-hostile');
    const p = run(['sync', 'pull', remote, '--host', 'cluster', '--to', back, '--json']);
    expect(p.status, p.stderr).toBe(0);
    const pr = json<Result>(p);
    expect(pr.direction).toBe('pull');
    expect(pr.filesTransferred).toBe(HOSTILE.length);
    expect(sorted(hashes(localTree(back)))).toEqual(sorted(hashes(want)));
    noCanaries();
  });

  it('excludes: defaults, .berthignore and --exclude are honoured both ways', () => {
    const src = join(sb.dir, 'src-excl');
    makeTree(src, [
      'keep/a.txt',
      'b.txt',
      '.git/config',
      'node_modules/m/index.js',
      'pkg/__pycache__/x.pyc',
      'run.log',
      'data/big.bin',
      'notes.tmp',
    ]);
    writeFileSync(join(src, '.berthignore'), '# scratch\n*.log\n\ndata/\n');
    const remote = newRemote();
    const r = run([
      'sync',
      'push',
      src,
      '--host',
      'cluster',
      '--to',
      remote,
      '--exclude',
      '*.tmp',
      '--json',
    ]);
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    expect([...remoteTree(remote).keys()].sort()).toEqual(['.berthignore', 'b.txt', 'keep/a.txt']);

    // --no-default-excludes sends everything but the explicit --exclude.
    const remote2 = newRemote();
    const r2 = run([
      'sync',
      'push',
      src,
      '--host',
      'cluster',
      '--to',
      remote2,
      '--no-default-excludes',
      '--exclude',
      'data/',
      '--json',
    ]);
    expect(r2.status, r2.stderr).toBe(0);
    expect([...remoteTree(remote2).keys()].sort()).toEqual([
      '.berthignore',
      '.git/config',
      'b.txt',
      'keep/a.txt',
      'node_modules/m/index.js',
      'notes.tmp',
      'pkg/__pycache__/x.pyc',
      'run.log',
    ]);

    // Pull: the local side's excludes keep remote junk out.
    const back = join(sb.dir, 'back-excl');
    mkdirSync(back);
    writeFileSync(join(back, '.berthignore'), '*.log\n');
    const p = run(['sync', 'pull', remote2, '--host', 'cluster', '--to', back, '--json']);
    expect(p.status, p.stderr).toBe(0);
    expect([...localTree(back).keys()].sort()).toEqual([
      '.berthignore',
      'b.txt',
      'keep/a.txt',
      'notes.tmp',
    ]);
  });

  it('--dry-run changes nothing and lists what would change; --delete removes', () => {
    const src = join(sb.dir, 'src-delete');
    makeTree(src, ['a.txt', 'gone.txt', 'sub/gone too.txt', 'sub/stay.txt']);
    const remote = newRemote();

    const dry = run([
      'sync',
      'push',
      src,
      '--host',
      'cluster',
      '--to',
      remote,
      '--dry-run',
      '--json',
    ]);
    expect(dry.status, dry.stderr).toBe(0);
    const dr = json<Result>(dry);
    expect(dr.dryRun).toBe(true);
    expect(dr.filesTransferred).toBe(4);
    expect(
      dr.changes
        .filter((c) => c.item.startsWith('<f'))
        .map((c) => c.path)
        .sort(),
    ).toEqual(['a.txt', 'gone.txt', 'sub/gone too.txt', 'sub/stay.txt']);
    expect(remoteSh(`test -e ${q(remote)}`).status).toBe(1);

    // Human output of a dry run names the files.
    const human = run(['sync', 'push', src, '--host', 'cluster', '--to', remote, '--dry-run']);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toContain('sub/gone too.txt');
    expect(human.stdout).toContain('(dry run)');

    expect(run(['sync', 'push', src, '--host', 'cluster', '--to', remote]).status).toBe(0);
    rmSync(join(src, 'gone.txt'));
    rmSync(join(src, 'sub', 'gone too.txt'));

    // Without --delete nothing is removed.
    expect(run(['sync', 'push', src, '--host', 'cluster', '--to', remote]).status).toBe(0);
    expect(remoteTree(remote).size).toBe(4);

    // --delete --dry-run lists the deletions, deletes nothing.
    const dd = json<Result>(
      run([
        'sync',
        'push',
        src,
        '--host',
        'cluster',
        '--to',
        remote,
        '--delete',
        '--dry-run',
        '--json',
      ]),
    );
    expect(dd.deleted.sort()).toEqual(['gone.txt', 'sub/gone too.txt']);
    expect(remoteTree(remote).size).toBe(4);

    const del = json<Result>(
      run(['sync', 'push', src, '--host', 'cluster', '--to', remote, '--delete', '--json']),
    );
    expect(del.deleted.sort()).toEqual(['gone.txt', 'sub/gone too.txt']);
    expect([...remoteTree(remote).keys()].sort()).toEqual(['a.txt', 'sub/stay.txt']);

    // Pull --delete removes local files the host does not have; --dry-run first keeps them.
    const back = join(sb.dir, 'back-delete');
    makeTree(back, ['local-only.txt']);
    const pd = json<Result>(
      run([
        'sync',
        'pull',
        remote,
        '--host',
        'cluster',
        '--to',
        back,
        '--delete',
        '--dry-run',
        '--json',
      ]),
    );
    expect(pd.deleted).toEqual(['local-only.txt']);
    expect(existsSync(join(back, 'local-only.txt'))).toBe(true);
    expect(existsSync(join(back, 'a.txt'))).toBe(false);
    expect(
      run(['sync', 'pull', remote, '--host', 'cluster', '--to', back, '--delete']).status,
    ).toBe(0);
    expect([...localTree(back).keys()].sort()).toEqual(['a.txt', 'sub/stay.txt']);
  });

  it('defaults: the project dir goes to <root>/<project name>', () => {
    const name = `sync-proj-${randomBytes(6).toString('hex')}`;
    const project = join(sb.dir, name);
    mkdirSync(join(project, 'sub'), { recursive: true });
    writeFileSync(join(project, 'berth.yaml'), readFileSync(join(sb.cwd, 'berth.yaml')));
    writeFileSync(join(project, 'main.py'), 'print(1)\n');
    const remote = `${cluster().workRoot}/${name}`;
    remotes.push(remote);
    // From a subdirectory: the project is where berth.yaml is.
    const r = berth(['sync', 'push', '--host', 'cluster', '--json'], {
      cwd: join(project, 'sub'),
      env: sb.env,
    });
    expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
    const res = json<Result>(r);
    expect(res.local).toBe(project);
    expect(res.remote).toBe(remote);
    expect([...remoteTree(remote).keys()].sort()).toEqual(['berth.yaml', 'main.py']);
  });

  it('--checksum sends an edit that kept the size and modification time', () => {
    const name = `sync-sum-${randomBytes(6).toString('hex')}`;
    const dir = join(sb.dir, name);
    mkdirSync(dir);
    const file = join(dir, 'step.sh');
    writeFileSync(file, 'exit 3\n');
    const remote = `${cluster().workRoot}/${name}`;
    remotes.push(remote);
    const push = (...more: string[]) => {
      const r = berth(
        ['sync', 'push', dir, '--host', 'cluster', '--to', remote, '--json', ...more],
        {
          cwd: sb.cwd,
          env: sb.env,
        },
      );
      expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
      return json<Result>(r);
    };
    expect(push().filesTransferred).toBe(1);
    const { mtime } = statSync(file);
    writeFileSync(file, 'exit 0\n');
    utimesSync(file, mtime, mtime);
    // Size and time say unchanged: rsync's quick check skips the file ...
    expect(push().filesTransferred).toBe(0);
    expect(remoteTree(remote).get('step.sh')).toBe(sha(Buffer.from('exit 3\n')));
    // ... and --checksum reads the contents and sends it.
    expect(push('--checksum').filesTransferred).toBe(1);
    expect(remoteTree(remote).get('step.sh')).toBe(sha(Buffer.from('exit 0\n')));
  });

  it('a missing remote dir on pull fails with E_SYNC', () => {
    const r = run([
      'sync',
      'pull',
      `${cluster().workRoot}/sync-does-not-exist-${randomBytes(4).toString('hex')}`,
      '--host',
      'cluster',
      '--to',
      join(sb.dir, 'nowhere'),
      '--json',
    ]);
    expect(r.status).not.toBe(0);
    expect(json<{ error: string }>(r).error).toBe('E_SYNC');
  });

  it('library: syncPush/syncPull report progress2 updates and the itemized result', async () => {
    const { loadConfig } = await import('../../src/config/index.js');
    const { syncPull, syncPush } = await import('../../src/sync/index.js');
    const config = loadConfig({ cwd: sb.cwd, env: sb.env });
    const src = join(sb.dir, 'src-lib');
    mkdirSync(src);
    writeFileSync(join(src, 'big.bin'), randomBytes(8 * 1024 * 1024));
    writeFileSync(join(src, 'small.txt'), 'x\n');
    const remote = newRemote();
    const seen: Array<{ bytes: number; percent: number }> = [];
    const r = await syncPush(config, {
      host: 'cluster',
      local: src,
      remote,
      cwd: sb.cwd,
      onProgress: (p) => seen.push(p),
    });
    expect(r.filesTransferred).toBe(2);
    expect(r.bytesTransferred).toBe(8 * 1024 * 1024 + 2);
    expect(r.argv).toContain('--info=progress2');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toMatchObject({ bytes: 8 * 1024 * 1024 + 2, percent: 100 });
    const back = join(sb.dir, 'back-lib');
    const p = await syncPull(config, { host: 'cluster', remote, local: back, cwd: sb.cwd });
    expect(
      p.changes
        .filter((c) => c.action === 'receive')
        .map((c) => c.path)
        .sort(),
    ).toEqual(['big.bin', 'small.txt']);
    expect(readFileSync(join(back, 'big.bin')).equals(readFileSync(join(src, 'big.bin')))).toBe(
      true,
    );
  });

  it('rides the master: one login for all of the above, and the ControlPath answers -O check', () => {
    const src = join(sb.dir, 'src-master');
    makeTree(src, ['one.txt']);
    const remote = newRemote();
    for (let i = 0; i < 3; i++) {
      expect(run(['sync', 'push', src, '--host', 'cluster', '--to', remote]).status).toBe(0);
    }
    expect(
      run(['sync', 'pull', remote, '--host', 'cluster', '--to', join(sb.dir, 'back-master')])
        .status,
    ).toBe(0);
    const cp = controlPathFor(sb.env.BERTH_STATE_DIR as string, cluster().sshAlias, sshConfig);
    const check = spawnSync('ssh', ['-F', sshConfig, '-S', cp, '-O', 'check', cluster().sshAlias], {
      encoding: 'utf8',
    });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stderr).toMatch(/Master running/);
    expect(statSync(cp).isSocket()).toBe(true);
    expect(sshdAuthentications()).toBe(1);
  });
});

describe('berth sync on a local host (no ssh)', () => {
  it('push and pull with plain local rsync', () => {
    const src = join(sb.dir, 'src-local');
    const want = makeTree(src, ['a b.txt', "q'x/$(touch CANARY_local)"]);
    const dest = mkdtempSync(join(tmpdir(), 'berth-sync-local-'));
    try {
      const r = run(['sync', 'push', src, '--host', 'here', '--to', dest, '--json']);
      expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
      expect(json<Result>(r).filesTransferred).toBe(2);
      expect(sorted(hashes(localTree(dest)))).toEqual(sorted(hashes(want)));
      const back = join(sb.dir, 'back-local');
      const p = run(['sync', 'pull', dest, '--host', 'here', '--to', back, '--json']);
      expect(p.status, p.stderr).toBe(0);
      expect(sorted(hashes(localTree(back)))).toEqual(sorted(hashes(want)));
      const rel = run(['sync', 'push', src, '--host', 'here', '--to', 'relative/dir']);
      expect(rel.status).toBe(2);
      noCanaries();
    } finally {
      rmSync(dest, { recursive: true, force: true });
    }
  });
});

describe('berth sync progress on a terminal', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)(
    'draws one progress line on stderr under a pty, none with --no-progress',
    () => {
      const src = join(sb.dir, 'src-tty');
      mkdirSync(src);
      writeFileSync(join(src, 'big.bin'), randomBytes(2 * 1024 * 1024));
      const dest = mkdtempSync(join(tmpdir(), 'berth-sync-tty-'));
      try {
        const bin = join(import.meta.dirname, '..', '..', 'bin', 'berth.js');
        const cmd = (extra: string) =>
          `${q(process.execPath)} ${q(bin)} sync push ${q(src)} --host here --to ${q(dest)}${extra}`;
        const tty = spawnSync('script', ['-qec', cmd(''), '/dev/null'], {
          cwd: sb.cwd,
          env: sb.env,
          encoding: 'utf8',
        });
        expect(tty.status, tty.stdout).toBe(0);
        expect(tty.stdout).toContain('\r\x1b[K');
        const pieces = tty.stdout.split('\r\x1b[K');
        expect(
          pieces.some((x) => /^100%\s+2\.0 MiB\s+\S+\/s\s+\d+:\d\d:\d\d\s+1 files/.test(x)),
          JSON.stringify(pieces),
        ).toBe(true);
        expect(tty.stdout).toContain('transferred 1 file(s)');
        const quiet = spawnSync('script', ['-qec', cmd(' --no-progress'), '/dev/null'], {
          cwd: sb.cwd,
          env: sb.env,
          encoding: 'utf8',
        });
        expect(quiet.status, quiet.stdout).toBe(0);
        expect(quiet.stdout).not.toContain('\x1b[K');
      } finally {
        rmSync(dest, { recursive: true, force: true });
      }
    },
  );
});
