import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { berth } from '../helpers/cli.js';
import { sandbox } from '../helpers/sandbox.js';

const sb = sandbox('berth-cli-');
afterAll(() => sb.cleanup());
const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));

describe('berth CLI basics', () => {
  it('--version prints the package version', () => {
    const r = berth(['--version'], sb);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists the command groups', () => {
    const r = berth(['--help'], sb);
    expect(r.status).toBe(0);
    for (const group of ['config', 'host'])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${group}\\b`, 'm'));
    expect(r.stdout).toMatch(/--json/);
  });

  it('every command has its own help', () => {
    for (const args of [
      ['host', 'check'],
      ['host', 'list'],
      ['config', 'show'],
    ]) {
      const r = berth([...args, '--help'], sb);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: berth ${args.join(' ')}`));
    }
  });

  it('an unknown command or flag exits 2 with a pointer to --help', () => {
    const a = berth(['frobnicate'], sb);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/unknown command/);
    const b = berth(['host', 'list', '--nope'], sb);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/unknown option '--nope'/);
    expect(b.stderr).toMatch(/--help/);
  });

  it('a bad flag value is a usage error with a hint, exit 2', () => {
    const r = berth(['host', 'check', 'local', '--timeout', 'soon'], sb);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--timeout expects a positive number/);
    expect(r.stderr).toMatch(/^hint: /m);
  });
});
