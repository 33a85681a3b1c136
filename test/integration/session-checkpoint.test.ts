/**
 * examples/checkpoint/count.sh as a session (runtime direct, locally and over ssh): stopped
 * (TERM) and started again twice, it resumes from its newest complete checkpoint each
 * time; across the three runs' logs the count never restarts at zero, never skips and
 * never repeats.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDetail } from '../../src/sessions/index.js';
import { type SessionSandbox, sessionSandbox, until } from '../fixtures/sessions/harness.js';

const counter = readFileSync(
  join(import.meta.dirname, '../../examples/checkpoint/count.sh'),
  'utf8',
);

describe.each(['local', 'ssh'] as const)('checkpoint and resume, %s', (where) => {
  let sb: SessionSandbox;
  let name: string;

  beforeAll(() => {
    sb = sessionSandbox(where);
    name = `count-${sb.tag}`;
    const script = `${sb.root}/count-${sb.tag}.sh`;
    expect(
      sb.sh(`mkdir -p ${sb.root} && cat > ${script} <<'BERTH_EOF'\n${counter}BERTH_EOF`).status,
    ).toBe(0);
    sb.spec(name, `  command: [bash, ${script}]\n  env: { COUNT_INTERVAL: 0.1 }`);
  });

  afterAll(() => {
    sb.run(['session', 'stop', '--all', '--grace', '1']);
    expect(sb.liveServers()).toEqual([]);
    sb.sh(`rm -rf ${sb.root}/sessions/${name} ${sb.root}/count-${sb.tag}.sh`);
    sb.cleanup();
  });

  const counts = (text: string) => [...text.matchAll(/^count (\d+)$/gm)].map((m) => Number(m[1]));
  const current = () => sb.run(['session', 'logs', name, '-n', '100000']).stdout;

  it('resumes from the last complete checkpoint after each stop', async () => {
    const stops: number[] = [];
    for (let run = 0; run < 3; run++) {
      const r = sb.run(['session', 'start', run === 0 ? `${name}.yaml` : name]);
      expect(r.status, `${r.stderr}${r.stdout}`).toBe(0);
      await until('some counting', () => counts(current()).length >= 5);
      const stopped = sb.run(['session', 'stop', name, '--json']);
      expect(JSON.parse(stopped.stdout)[0]).toMatchObject({ ended: true, exitCode: 0 });
      const log = current();
      const at = /^checkpoint at (\d+) /m.exec(log)?.[1];
      expect(at, log).toBeDefined();
      expect(Number(at)).toBe(counts(log).at(-1));
      if (run > 0) expect(log).toMatch(new RegExp(`^resuming after ${stops.at(-1)} `, 'm'));
      stops.push(Number(at));
    }
    const s = sb.json<StatusDetail>(['session', 'status', name, '--json']);
    expect(s.runs).toHaveLength(3);
    expect(s.checkpoint).toMatch(/checkpoints\/\d{8}T\d{6}\.\d{9}Z$/);
    const all: number[] = [];
    for (const r of [...s.runs].reverse()) {
      all.push(
        ...counts(sb.run(['session', 'logs', name, '--run', r.runId, '-n', '100000']).stdout),
      );
    }
    expect(all[0]).toBe(1);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(all.at(-1)).toBe(stops.at(-1));
  });
});
