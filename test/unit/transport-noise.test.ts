import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  extractBetweenSentinels,
  lastNonEmptyLine,
  newSentinel,
  pickLines,
  wrapWithSentinels,
} from '../../src/transport/noise.js';

/** What a login shell on a busy cluster prints around a command's own output. */
const MOTD = [
  '#############################################################',
  '#  Welcome to hpc-login01 — scheduled maintenance 2025-03-01  #',
  '#############################################################',
  'Lmod has detected the following error: The following module(s) are unknown: "gcc/99"',
  '',
  'The following have been reloaded with a version change:',
  '  1) python/3.10 => python/3.11',
  '(base) conda activate: done',
  'pyenv: version `3.9.1` is not installed (set by /home/u/.python-version)',
].join('\n');
const LOGOUT = 'Goodbye from hpc-login01\n';

describe('wrapWithSentinels / extractBetweenSentinels', () => {
  it('finds exactly the output between rc-file noise and logout noise', () => {
    const m = newSentinel();
    const real = '12345\n12346\n';
    const stdout = `${MOTD}\n${m}:begin\n${real}\n${m}:end\n${LOGOUT}`;
    expect(extractBetweenSentinels(stdout, m)).toBe(real);
  });

  it('keeps output that has no trailing newline byte-exact', () => {
    const m = newSentinel();
    expect(extractBetweenSentinels(`noise\n${m}:begin\nabc\n${m}:end\n`, m)).toBe('abc');
    expect(extractBetweenSentinels(`${m}:begin\n\n${m}:end\n`, m)).toBe('');
  });

  it('is undefined when a marker is missing (the command never ran or was cut short)', () => {
    const m = newSentinel();
    expect(extractBetweenSentinels(MOTD, m)).toBeUndefined();
    expect(extractBetweenSentinels(`${m}:begin\npartial output`, m)).toBeUndefined();
  });

  it('round-trips through a real bash with noise printed before and after, keeping the exit status', () => {
    const m = newSentinel();
    const script = `echo 'rc noise'; ${wrapWithSentinels("printf 'a\\nb'; exit 3", m)}`;
    const r = spawnSync('bash', ['-c', `${script}`], { encoding: 'utf8' });
    expect(r.status).toBe(3);
    expect(extractBetweenSentinels(r.stdout, m)).toBe('a\nb');
  });

  it('makes a fresh marker each time', () => {
    expect(newSentinel()).not.toBe(newSentinel());
    expect(newSentinel()).toMatch(/^__berth_[0-9a-f]{12}__$/);
  });
});

describe('lastNonEmptyLine', () => {
  it('skips trailing blank lines and white space', () => {
    expect(lastNonEmptyLine(`${MOTD}\n4242\n\n  \r\n`)).toBe('4242');
    expect(lastNonEmptyLine('')).toBeUndefined();
    expect(lastNonEmptyLine('\n\n')).toBeUndefined();
  });
});

describe('pickLines', () => {
  it('keeps the lines that match, without carriage returns', () => {
    const text = `${MOTD}\r\nJOBID=101\r\nnoise\nJOBID=102\n`;
    expect(pickLines(text, /^JOBID=\d+$/)).toEqual(['JOBID=101', 'JOBID=102']);
  });

  it('is not confused by a global regex (no lastIndex state)', () => {
    expect(pickLines('a1\na2\nb\na3', /^a\d/g)).toEqual(['a1', 'a2', 'a3']);
  });
});
