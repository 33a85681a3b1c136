/**
 * renderWrapper (src/monitor/submit.ts): the batch script `berth submit` sends. Its exec line
 * is run by a real bash with a stand-in for berth that prints the argv it got, so the
 * script's arguments are checked byte for byte after the shell has read them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderWrapper } from '../../src/monitor/submit.js';

const HOSTILE = [
  'two words',
  "it's",
  'say "hi"',
  '$(touch pwned)',
  '`touch pwned2`',
  'line1\nline2',
  '*',
  '',
  '--epochs=10',
  '-x',
  '\\back\\slash',
  '#SBATCH --time=1',
  'tab\there',
  'ünï €',
];

const dir = mkdtempSync(join(tmpdir(), 'berth-wrapper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run a wrapper with a berth that writes its argv as JSON; returns that argv. */
function runWrapper(text: string, extra: string[] = []): string[] {
  const out = join(dir, `argv-${Math.random().toString(36).slice(2)}.json`);
  const fake = [
    process.execPath,
    '-e',
    `require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.argv.slice(1)))`,
  ];
  const script = text.replace(/^exec \S+ /m, `exec ${fake.map(shq).join(' ')} `);
  execFileSync('bash', ['-c', script, 'wrapper', ...extra], {
    cwd: dir,
    env: { PATH: process.env.PATH, BERTH_JOB_DIR: dir },
  });
  return JSON.parse(readFileSync(out, 'utf8'));
}

function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

describe('renderWrapper: the script arguments', () => {
  it('has no arguments on the exec line when none are given', () => {
    const text = renderWrapper({ script: 'echo hi\n', berth: ['berth'], host: 'h', root: '/r' });
    expect(text).toMatch(/\nexec berth run -- \/bin\/bash "\$body" "\$@"\n$/);
  });

  it('quotes each argument into one shell word after the body', () => {
    const text = renderWrapper({
      script: '#!/bin/sh\necho hi\n',
      berth: ['berth'],
      host: 'h',
      root: '/r',
      args: ['a b', "it's"],
    });
    expect(text).toContain(`\nexec berth run -- "$body" 'a b' 'it'\\''s' "$@"\n`);
  });

  it('hands hostile arguments to berth run byte for byte, and nothing in them runs', () => {
    const text = renderWrapper({
      script: '#!/bin/bash\necho body\n',
      berth: ['berth'],
      host: 'h',
      root: '/r',
      runArgs: ['--grace', '20'],
      args: HOSTILE,
    });
    const argv = runWrapper(text);
    expect(argv).toEqual(['run', '--grace', '20', '--', join(dir, 'body'), ...HOSTILE]);
    expect(() => readFileSync(join(dir, 'pwned'))).toThrow();
    expect(() => readFileSync(join(dir, 'pwned2'))).toThrow();
  });

  it('keeps arguments given to the batch script itself after the baked-in ones', () => {
    const text = renderWrapper({
      script: 'echo body\n',
      berth: ['berth'],
      host: 'h',
      root: '/r',
      args: ['first'],
    });
    expect(runWrapper(text, ['later one'])).toEqual([
      'run',
      '--',
      '/bin/bash',
      join(dir, 'body'),
      'first',
      'later one',
    ]);
  });
});
