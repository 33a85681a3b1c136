import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTaskScript } from '../../src/pipeline/wrapper.js';

const base = {
  runDir: "/runs/my run's",
  runName: 'rg',
  stage: 'gen',
  step: 2,
  task: 5,
  seed: 123,
  hash: 'abcdef0123456789',
  command: "gen 'a b'",
  dir: 'gen/step-2/5',
  scratch: false,
  aggregate: false,
  inputs: [],
  jobIds: [],
};

describe('task wrapper script', () => {
  it('leaves RUNNING (host name and its pid) while the task runs, gone after READY or FAILED', () => {
    const runDir = mkdtempSync(join(tmpdir(), 'berth-wrap-'));
    try {
      const run = (command: string, task: number) =>
        spawnSync(
          'bash',
          ['-c', renderTaskScript({ ...base, runDir, command, task, dir: `gen/step-2/${task}` })],
          { encoding: 'utf8' },
        );
      const ok = run('cat "$BERTH_TASK_DIR/RUNNING" > seen', 0);
      expect(ok.status).toBe(0);
      const dir0 = join(runDir, 'gen/step-2/0');
      const [host, pid] = readFileSync(join(dir0, 'seen'), 'utf8').trim().split(' ');
      expect(host).toBe(hostname());
      expect(pid).toBe(String(ok.pid));
      expect(existsSync(join(dir0, 'RUNNING'))).toBe(false);
      expect(readFileSync(join(dir0, 'READY'), 'utf8')).toBe('abcdef0123456789\n');
      const bad = run('exit 3', 1);
      expect(bad.status).toBe(3);
      const dir1 = join(runDir, 'gen/step-2/1');
      expect(readFileSync(join(dir1, 'FAILED'), 'utf8')).toBe('abcdef0123456789 3\n');
      expect(existsSync(join(dir1, 'RUNNING'))).toBe(false);
      expect(readdirSync(dir1).sort()).toEqual(['FAILED', 'berth.log']);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('sets the task variables, quoted, and writes READY last through a rename', () => {
    const s = renderTaskScript(base);
    expect(s).toContain(`cd '/runs/my run'\\''s' || exit 70`);
    expect(s).toContain('export BERTH_STEP=2 BERTH_TASK_ID=5 BERTH_TASK_SEED=123');
    expect(s).toContain('( gen \'a b\'\n) > "$dir/berth.log" 2>&1');
    const lines = s.trim().split('\n');
    expect(lines.at(-3)).toBe(`printf '%s\\n' abcdef0123456789 > "$dir/.READY.tmp" || fail 74`);
    expect(lines.at(-2)).toBe('mv "$dir/.READY.tmp" "$dir/READY" || fail 74');
    expect(lines.at(-1)).toBe('rm -f "$dir/RUNNING"');
    expect(s).not.toContain('mktemp');
  });

  it('works in $TMPDIR for scratch stages and copies back before READY', () => {
    const s = renderTaskScript({ ...base, scratch: true });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    expect(s).toContain('work=$(mktemp -d "${TMPDIR:-/tmp}/berth-task.XXXXXX") || fail 70');
    expect(s.indexOf('cp -R "$work/." "$dir/"')).toBeLessThan(s.indexOf('.READY.tmp'));
  });

  it('checks every input READY for an aggregate and writes DONE.json', () => {
    const s = renderTaskScript({
      ...base,
      aggregate: true,
      inputs: [{ dir: 'gen/step-2', count: 8 }],
      jobIds: ['local:gen@2'],
    });
    expect(s).toContain('n=$(find gen/step-2 -mindepth 2 -maxdepth 2 -name READY | wc -l)');
    expect(s).toContain('[ "$n" -eq 8 ] ||');
    expect(s).toContain(`'["local:gen@2"]'`);
    expect(s).toContain('mv "$dir/.DONE.json.tmp" "$dir/DONE.json" || fail 74');
  });
});
