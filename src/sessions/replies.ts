/**
 * Reading what the session scripts print on a host (pure). Lines berth reads start with
 * MARK (`@@berth-session:<word> [argument]`); anything else around them is login-shell
 * noise, or the sessions' own output.
 */
import type { StartOutcome, StopOutcome } from './runtime.js';
import { MARK } from './scripts.js';

/** `[word, argument]` of each marker line. */
export function* marks(stdout: string): Generator<[string, string]> {
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.startsWith(`${MARK}:`)) continue;
    const rest = line.slice(MARK.length + 1);
    const sp = rest.indexOf(' ');
    yield sp < 0 ? [rest, ''] : [rest.slice(0, sp), rest.slice(sp + 1)];
  }
}

/** What a start (or prepare, or submit) script said: its words, and what a hook printed. */
export interface StartReply {
  /** The first argument of each word (`started`, `exists`, `submitted`, `written`, `error`…). */
  words: Map<string, string>;
  /** The preSubmit hook's last lines (`say`), when it failed. */
  said: string[];
}

export function parseStartReply(stdout: string): StartReply {
  const reply: StartReply = { words: new Map(), said: [] };
  for (const [word, arg] of marks(stdout)) {
    if (word === 'say') reply.said.push(arg);
    else if (!reply.words.has(word)) reply.words.set(word, arg);
  }
  return reply;
}

/** The preSubmit hook failed (the script printed `presubmit <rc>` and ended). */
export function hookFailed(reply: StartReply): StartOutcome | undefined {
  const rc = reply.words.get('presubmit');
  return rc === undefined
    ? undefined
    : { kind: 'hook-failed', exitCode: Number(rc), output: reply.said };
}

/** What the stop scripts print, per session; undefined when the output was cut short. */
export function parseStopOutput(stdout: string): Map<string, StopOutcome> | undefined {
  const out = new Map<string, StopOutcome>();
  let cur: StopOutcome | undefined;
  let complete = false;
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith(`${MARK}:session `)) {
      cur = { runId: null, ended: true, exit: null };
      out.set(line.slice(MARK.length + 9), cur);
    } else if (line === `${MARK}:end`) complete = true;
    else if (cur && line === 'gone') cur.ended = false;
    else if (cur && line === 'live') cur.wasRunning = true;
    else if (cur && line.startsWith('run=')) cur.runId = line.slice(4) || null;
    else if (cur && line.startsWith('exit=')) {
      const [code, at] = line.slice(5).split(' ');
      if (/^-?\d+$/.test(code ?? '')) cur.exit = { code: Number(code), at: Number(at) * 1000 };
    }
  }
  return complete ? out : undefined;
}
