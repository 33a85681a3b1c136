import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MarkerFilter, type MarkerRecord } from '../../src/transport/markers.js';
import {
  killCommand,
  newNonce,
  withEnvAndCwd,
  wrappedCommand,
} from '../../src/transport/remote.js';

/** Run the remote command line locally, the way sshd would (`$SHELL -c`), and decode it. */
function runWrapped(script: string, input = '') {
  const nonce = newNonce();
  const r = spawnSync('bash', ['-c', wrappedCommand(script, false, nonce)], { input });
  const records: MarkerRecord[] = [];
  const f = new MarkerFilter(nonce, (rec) => records.push(rec));
  const stderr = Buffer.concat([f.push(r.stderr), f.end()]).toString('utf8');
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr, records };
}

describe('the remote wrapper', () => {
  it('passes stdout, stderr, stdin and the exit status through, and announces the process group', () => {
    const r = runWrapped('cat; echo out; echo err >&2; exit 3', 'in\n');
    expect(r).toMatchObject({ status: 3, stdout: 'in\nout\n', stderr: 'err\n' });
    expect(r.records).toHaveLength(1);
    expect(r.records[0]).toMatchObject({ key: 'pid' });
    expect(r.records[0]!.value).toMatch(/^[0-9]+$/);
  });

  it('reports a death by signal, and tells it apart from exit 128+N', () => {
    expect(runWrapped('kill -9 $$').records.at(-1)).toEqual({ key: 'sig', value: 'KILL' });
    expect(runWrapped('kill -TERM $$').records.at(-1)).toEqual({ key: 'sig', value: 'TERM' });
    const exit137 = runWrapped('exit 137');
    expect(exit137.status).toBe(137);
    expect(exit137.records.map((r) => r.key)).toEqual(['pid']);
  });

  it('tells signal from exit reliably (100 runs each)', () => {
    for (let i = 0; i < 100; i++) {
      expect(runWrapped(i % 2 ? 'exit 143' : 'kill -TERM $$').records.length).toBe(i % 2 ? 1 : 2);
    }
  });

  it('gives the command the same open file descriptors as a plain bash -c', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    const list = 'for f in /proc/$$/fd/*; do printf "%s " "${f##*/}"; done; true';
    const plain = spawnSync('bash', ['-c', list], { encoding: 'utf8' }).stdout;
    expect(runWrapped(list).stdout).toBe(plain);
  });

  it('puts quoted exports and a cd in front of the script', () => {
    const text = withEnvAndCwd('echo "$A|$PWD"', { A: "x'y $(z)" }, '/tmp');
    expect(text).toBe(`export A='x'\\''y $(z)'\ncd -- /tmp || exit 1\necho "$A|$PWD"`);
    expect(runWrapped(text).stdout).toBe("x'y $(z)|/tmp\n");
    expect(withEnvAndCwd('true', {})).toBe('true');
  });

  it('builds a kill for a whole process group', () => {
    expect(killCommand(1234, 'TERM')).toBe('kill -TERM -- -1234 2>/dev/null; true');
  });
});
