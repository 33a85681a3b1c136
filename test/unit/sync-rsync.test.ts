import { describe, expect, it } from 'vitest';
import {
  decodeRsyncEscapes,
  defaultRemote,
  formatProgress,
  LineSplitter,
  normalizeRemotePath,
  parseIgnoreFile,
  parseItemLine,
  parseProgress,
  parseRsyncOutput,
  remoteArgument,
  remoteShellArgs,
  renderRsyncArgs,
  rsyncShellWord,
  sshConnection,
} from '../../src/sync/index.js';

const ssh = sshConnection({
  target: 'alice@hpc.example.org:2200',
  controlPath: '/home/a b/.local/state/berth/cm/0123456789ab',
  configFile: "/home/o'neil/ssh config",
  connectTimeoutS: 7,
});

describe('sshConnection', () => {
  it('uses the runner options: -F, -S ControlPath, no master, batch mode, port', () => {
    expect(ssh).toEqual({
      kind: 'ssh',
      destination: 'alice@hpc.example.org',
      ssh: [
        'ssh',
        '-F',
        "/home/o'neil/ssh config",
        '-S',
        '/home/a b/.local/state/berth/cm/0123456789ab',
        '-o',
        'ConnectTimeout=7',
        '-p',
        '2200',
        '-o',
        'ControlMaster=no',
        '-o',
        'BatchMode=yes',
      ],
    });
  });
});

describe('rsyncShellWord', () => {
  it('leaves plain words, quotes the rest the way rsync splits -e', () => {
    expect(rsyncShellWord('ControlMaster=no')).toBe('ControlMaster=no');
    expect(rsyncShellWord('a b')).toBe("'a b'");
    expect(rsyncShellWord("o'neil")).toBe("'o''neil'");
    expect(rsyncShellWord('')).toBe("''");
    expect(() => rsyncShellWord('a\nb')).toThrow(/control character/);
  });
});

describe('renderRsyncArgs', () => {
  it('push over ssh: -s, itemized, stats, excludes, --delete, -n, -c, progress', () => {
    const argv = renderRsyncArgs({
      direction: 'push',
      localPath: '/work/proj',
      remotePath: '~/runs/proj',
      connection: ssh,
      excludes: ['.git/', '-not-an-option'],
      delete: true,
      dryRun: true,
      checksum: true,
      progress: true,
    });
    expect(argv).toEqual([
      'rsync',
      '-a',
      '-s',
      '-8',
      '-i',
      '--out-format=%i %l %n',
      '--stats',
      '-n',
      '--delete',
      '-c',
      '--info=progress2',
      '--exclude=.git/',
      '--exclude=-not-an-option',
      '-e',
      "ssh -F '/home/o''neil/ssh config' -S '/home/a b/.local/state/berth/cm/0123456789ab' -o ConnectTimeout=7 -p 2200 -o ControlMaster=no -o BatchMode=yes",
      '--',
      '/work/proj/',
      'alice@hpc.example.org:runs/proj/',
    ]);
  });

  it('pull: remote first; hostile remote names stay one argument', () => {
    const argv = renderRsyncArgs({
      direction: 'pull',
      localPath: '/tmp/out/',
      remotePath: "/scratch/$(touch x) it's; rm -rf ~",
      connection: ssh,
    });
    expect(argv.slice(-3)).toEqual([
      '--',
      "alice@hpc.example.org:/scratch/$(touch x) it's; rm -rf ~/",
      '/tmp/out/',
    ]);
    expect(argv).toContain('-s');
    expect(argv).not.toContain('--delete');
    expect(argv).not.toContain('-n');
    expect(argv).not.toContain('-c');
  });

  it('local host: plain local rsync, no -e', () => {
    const argv = renderRsyncArgs({
      direction: 'push',
      localPath: '/a',
      remotePath: '/b',
      connection: { kind: 'local' },
    });
    expect(argv).not.toContain('-e');
    expect(argv.slice(-3)).toEqual(['--', '/a/', '/b/']);
    expect(() =>
      renderRsyncArgs({
        direction: 'push',
        localPath: '/a',
        remotePath: 'rel',
        connection: { kind: 'local' },
      }),
    ).toThrow(/absolute/);
  });

  it('brackets an IPv6 destination', () => {
    const argv = renderRsyncArgs({
      direction: 'push',
      localPath: '/a',
      remotePath: '/b',
      connection: { kind: 'ssh', destination: 'u@::1', ssh: ['ssh'] },
    });
    expect(argv.at(-1)).toBe('u@[::1]:/b/');
  });

  it('refuses relative local paths, newlines, ~user and empty excludes', () => {
    const base = { direction: 'push' as const, connection: ssh };
    expect(() => renderRsyncArgs({ ...base, localPath: 'a:b', remotePath: '/x' })).toThrow(
      /absolute/,
    );
    expect(() => renderRsyncArgs({ ...base, localPath: '/a', remotePath: '/x\ny' })).toThrow(
      /invalid path/,
    );
    expect(() => renderRsyncArgs({ ...base, localPath: '/a', remotePath: '~bob/x' })).toThrow(
      /~user/,
    );
    expect(() =>
      renderRsyncArgs({ ...base, localPath: '/a', remotePath: '/x', excludes: [''] }),
    ).toThrow(/exclude/);
  });
});

describe('paths and ignore files', () => {
  it('normalizes ~ to the remote home', () => {
    expect(normalizeRemotePath('~')).toBe('.');
    expect(normalizeRemotePath('~/a/b')).toBe('a/b');
    expect(normalizeRemotePath('/abs')).toBe('/abs');
  });
  it('default remote is <root>/<project>', () => {
    expect(defaultRemote({ root: '/scratch/me/' }, 'proj')).toBe('/scratch/me/proj');
    expect(defaultRemote({}, 'proj')).toBe('~/proj');
    expect(defaultRemote({ root: '/' }, 'proj')).toBe('/proj');
  });
  it('parses .berthignore', () => {
    expect(parseIgnoreFile('# c\n\n*.log\n  data/  \r\n#x\n')).toEqual(['*.log', 'data/']);
  });
});

describe('itemized output', () => {
  it('parses changes, deletions and escaped names', () => {
    expect(parseItemLine('>f+++++++++ 3 f1')).toEqual({
      item: '>f+++++++++',
      action: 'receive',
      type: 'file',
      created: true,
      size: 3,
      path: 'f1',
    });
    expect(parseItemLine('*deleting   0 old dir/x')).toEqual({
      item: '*deleting',
      action: 'delete',
      created: false,
      size: 0,
      path: 'old dir/x',
    });
    expect(parseItemLine('.d..t...... 4096 ./')?.action).toBe('attrs');
    expect(parseItemLine('cL+++++++++ 5 link')?.type).toBe('symlink');
    expect(parseItemLine('<f.st...... 10 a\\#012b')?.path).toBe('a\nb');
    expect(parseItemLine('Number of files: 5')).toBeUndefined();
  });
  it('decodes \\#ooo byte escapes as UTF-8', () => {
    expect(decodeRsyncEscapes('caf\\#303\\#251')).toBe('café');
    expect(decodeRsyncEscapes('no\\#x')).toBe('no\\#x');
  });
  it('parses a whole run: items, progress, stats', () => {
    const stdout = [
      '*deleting   0 old',
      '>f+++++++++ 3 f1',
      '\r              3   0%    0.00kB/s    0:00:00  \r              3   0%    0.00kB/s    0:00:00 (xfr#1, to-chk=3/5)',
      'cd+++++++++ 4096 sub dir/',
      '>f+++++++++ 100000 sub dir/big',
      '\r        100,003 100%   95.37MB/s    0:00:00 (xfr#3, to-chk=0/5)',
      '',
      'Number of files: 5 (reg: 3, dir: 2)',
      'Number of created files: 4 (reg: 3, dir: 1)',
      'Number of deleted files: 1 (reg: 1)',
      'Number of regular files transferred: 3',
      'Total file size: 100,003 bytes',
      'Total transferred file size: 100,003 bytes',
      'Literal data: 100,003 bytes',
      'Matched data: 0 bytes',
      'File list size: 0',
      'File list generation time: 0.001 seconds',
      'File list transfer time: 0.000 seconds',
      'Total bytes sent: 100,305',
      'Total bytes received: 95',
      '',
      'sent 100,305 bytes  received 95 bytes  200,800.00 bytes/sec',
      'total size is 100,003  speedup is 1.00',
      '',
    ].join('\n');
    const r = parseRsyncOutput(stdout);
    expect(r.changes.map((c) => [c.action, c.path])).toEqual([
      ['delete', 'old'],
      ['receive', 'f1'],
      ['create', 'sub dir/'],
      ['receive', 'sub dir/big'],
    ]);
    expect(r.stats).toEqual({
      files: 5,
      createdFiles: 4,
      deletedFiles: 1,
      regularFilesTransferred: 3,
      totalFileSize: 100003,
      transferredFileSize: 100003,
      bytesSent: 100305,
      bytesReceived: 95,
    });
    expect(r.other).toEqual([]);
  });
});

describe('progress2', () => {
  it('parses progress lines with and without the file counts', () => {
    expect(
      parseProgress('        100,003 100%   95.37MB/s    0:00:00 (xfr#3, to-chk=0/5)'),
    ).toEqual({
      bytes: 100003,
      percent: 100,
      rate: '95.37MB/s',
      eta: '0:00:00',
      transferred: 3,
      toCheck: 0,
      total: 5,
      incremental: false,
    });
    expect(
      parseProgress('  32,768  12%  1.2MB/s  0:01:02 (xfr#1, ir-chk=1000/1234)'),
    ).toMatchObject({ bytes: 32768, percent: 12, incremental: true, toCheck: 1000, total: 1234 });
    expect(parseProgress('              3   0%    0.00kB/s    0:00:00  ')).toEqual({
      bytes: 3,
      percent: 0,
      rate: '0.00kB/s',
      eta: '0:00:00',
    });
    expect(parseProgress('>f+++++++++ 3 f1')).toBeUndefined();
    expect(parseProgress('Total bytes sent: 100,305')).toBeUndefined();
  });
  it('splits \\r-separated chunks across pushes', () => {
    const s = new LineSplitter();
    expect(s.push('\r  1 0% 1.00kB/s 0:00:01\r  2 ')).toEqual(['', '  1 0% 1.00kB/s 0:00:01']);
    expect(s.push('50% 1.00kB/s 0:00:01\n')).toEqual(['  2 50% 1.00kB/s 0:00:01']);
    expect(s.end()).toEqual([]);
  });
  it('formats a progress line', () => {
    expect(
      formatProgress({
        bytes: 2048,
        percent: 50,
        rate: '1.00MB/s',
        eta: '0:00:02',
        transferred: 1,
        toCheck: 1,
        total: 4,
      }),
    ).toBe(' 50%  2.0 KiB  1.00MB/s  0:00:02  1 files  3/4 checked');
  });
});

describe('connection pieces (shared with job fetch)', () => {
  it('remoteShellArgs and remoteArgument', () => {
    expect(remoteShellArgs({ kind: 'local' })).toEqual([]);
    expect(remoteArgument({ kind: 'local' }, '/x y')).toBe('/x y');
    expect(remoteShellArgs(ssh)).toEqual(['-e', expect.stringMatching(/^ssh -F '/)]);
    expect(remoteArgument(ssh, "/a b/$(x)'")).toBe("alice@hpc.example.org:/a b/$(x)'");
  });
});
