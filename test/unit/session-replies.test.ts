import { describe, expect, it } from 'vitest';
import { hookFailed, marks, parseStartReply, parseStopOutput } from '../../src/sessions/replies.js';

describe('replies of the session scripts', () => {
  it('reads marker lines among noise (and \\r line ends)', () => {
    const out =
      'motd\r\n@@berth-session:started 4242\r\n@@berth-session:end\nnoise @@berth-session:x\n';
    expect([...marks(out)]).toEqual([
      ['started', '4242'],
      ['end', ''],
    ]);
  });

  it("a start reply: its words, and a failed preSubmit hook with the hook's last lines", () => {
    const ok = parseStartReply('@@berth-session:submitted 77\n');
    expect(ok.words.get('submitted')).toBe('77');
    expect(hookFailed(ok)).toBeUndefined();
    const bad = parseStartReply(
      [
        '@@berth-session:say no data',
        '@@berth-session:say see ~/x',
        '@@berth-session:presubmit 3',
      ].join('\n'),
    );
    expect(hookFailed(bad)).toEqual({
      kind: 'hook-failed',
      exitCode: 3,
      output: ['no data', 'see ~/x'],
    });
  });

  it('a stop reply: per session its run, exit record, whether it was running or gone', () => {
    const out = [
      '@@berth-session:session a',
      'run=20260123T040506.789Z',
      'live',
      'exit=143 1800000000',
      '@@berth-session:session b',
      'run=',
      'gone',
      '@@berth-session:end',
    ].join('\n');
    const stops = parseStopOutput(out);
    expect(stops?.get('a')).toEqual({
      runId: '20260123T040506.789Z',
      ended: true,
      wasRunning: true,
      exit: { code: 143, at: 1_800_000_000_000 },
    });
    expect(stops?.get('b')).toEqual({ runId: null, ended: false, exit: null });
    expect(parseStopOutput(out.replace('@@berth-session:end', ''))).toBeUndefined();
  });
});
