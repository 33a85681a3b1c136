import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseObserve } from '../../src/sessions/observe.js';
import { parseCpuTime, parsePs, treeUsage } from '../../src/sessions/proc.js';

// Captured from renderObserveScript on this machine (tmux 3.3a, procps ps): a busy session
// (a spinning child, a heartbeat, one complete checkpoint), one that exited 3, and one that
// never started; login noise put in front; ps trimmed to the busy tree and a few others.
const captured = readFileSync(
  join(import.meta.dirname, '../fixtures/sessions/observe-local.txt'),
  'utf8',
);

describe('observe output', () => {
  const o = parseObserve(captured);

  it('is complete, with the host clock, ignoring the noise before the first marker', () => {
    expect(o.complete).toBe(true);
    expect(o.now).toBe(1795464303000);
    expect([...o.sessions.keys()]).toEqual(['busy', 'done', 'never']);
  });

  it('reads a running session: pane, start, heartbeat, log, checkpoint, process tree', () => {
    expect(o.sessions.get('busy')).toEqual({
      name: 'busy',
      runId: '20261123T200501.136Z',
      pane: {
        session: 'busy',
        index: '0.0',
        pid: 16944,
        dead: false,
        exitStatus: null,
        exitSignal: null,
      },
      startedAt: 1795464301000,
      exit: null,
      postStopExit: null,
      heartbeat: { at: 1795464303000, exitCode: 0 },
      log: { bytes: 18, modifiedAt: 1795464303000 },
      checkpoint: '/tmp/capture-root/sessions/busy/checkpoints/0001',
      usage: { processes: 6, cpuPercent: 94.7, cpuSeconds: 2, rssMb: 13.4 },
      job: null,
      error: null,
      runJob: null,
      knownExit: null,
    });
  });

  it('reads an exited session and one that never ran', () => {
    expect(o.sessions.get('done')).toMatchObject({
      pane: { dead: true, exitStatus: 3 },
      exit: { code: 3, at: 1795464301000 },
      usage: null,
    });
    expect(o.sessions.get('never')).toMatchObject({
      runId: null,
      pane: null,
      exit: null,
      log: null,
    });
  });

  it('is incomplete when the output was cut short', () => {
    const cut = captured.slice(0, captured.indexOf('@@berth-session:ps'));
    expect(parseObserve(cut).complete).toBe(false);
    expect(parseObserve('').sessions.size).toBe(0);
  });

  it('drops a current run id that is not one', () => {
    const text = '@@berth-session:session x\nrun=../../etc\n@@berth-session:end\n';
    expect(parseObserve(text).sessions.get('x')?.runId).toBeNull();
  });
});

describe('process trees', () => {
  const rows = parsePs(
    [
      '    1     0  0.5 13000 00:00:30',
      '  100     1  1.0  1024 00:01:00',
      '  101   100 50.0  2048 1-02:03:04',
      '  102   101 25.5  1024 05:06',
      '  200     1 99.0 99999 00:00:00',
      'garbage line',
    ].join('\n'),
  );

  it('parse ps rows and its CPU time forms', () => {
    expect(rows).toHaveLength(5);
    expect(parseCpuTime('05:06')).toBe(306);
    expect(parseCpuTime('01:02:03')).toBe(3723);
    expect(parseCpuTime('1-02:03:04')).toBe(93_784);
    expect(parseCpuTime('?')).toBe(0);
  });

  it('sum a tree and nothing outside it', () => {
    expect(treeUsage(rows, 100)).toEqual({
      processes: 3,
      cpuPercent: 76.5,
      cpuSeconds: 60 + 93_784 + 306,
      rssMb: 4,
    });
    expect(treeUsage(rows, 102)).toEqual({
      processes: 1,
      cpuPercent: 25.5,
      cpuSeconds: 306,
      rssMb: 1,
    });
    expect(treeUsage(rows, 999)).toBeUndefined();
  });
});
