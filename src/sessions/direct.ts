/**
 * Runtime `direct`: sessions in tmux on the host itself (this machine, or one reached over
 * ssh), one berth-owned tmux server per session. Each method is one round trip through the
 * host's Runner; the scripts are in scripts.ts, their replies are read in replies.ts and
 * observe.ts.
 */
import { RemoteError } from '../core/errors.js';
import { Tmux } from '../tmux/tmux.js';
import type { Runner, RunResult } from '../transport/runner.js';
import { failed, LOOK, observation, readLog, runScript } from './calls.js';
import type { SessionLayout } from './layout.js';
import type { HostObservation } from './observe.js';
import { hookFailed, parseStartReply, parseStopOutput } from './replies.js';
import type { SessionRuntime, StartOutcome, StopOutcome } from './runtime.js';
import {
  type LogsPlan,
  renderLogsScript,
  renderObserveScript,
  renderStartScript,
  renderStopScript,
  type SessionRef,
  type StartPlan,
} from './scripts.js';

export class DirectRuntime implements SessionRuntime {
  readonly kind = 'direct' as const;

  constructor(
    readonly runner: Runner,
    private readonly timeoutMs = 120_000,
  ) {}

  async start(plan: StartPlan): Promise<StartOutcome> {
    const r = await this.sh(renderStartScript(plan), `start session ${plan.spec.name}`);
    const reply = parseStartReply(r.stdout);
    const pidOf = (arg: string) => (/^\d+$/.test(arg) ? Number(arg) : null);
    const started = reply.words.get('started');
    if (started !== undefined) return { kind: 'started', pid: pidOf(started) };
    const exists = reply.words.get('exists');
    if (exists !== undefined) return { kind: 'exists', pid: pidOf(exists) };
    const hook = hookFailed(reply);
    if (hook) return hook;
    const error = reply.words.get('error');
    if (error !== undefined) {
      throw new RemoteError(
        `cannot start session ${plan.spec.name} on ${this.runner.host}: ${error}`,
        {
          hint: 'check that tmux is installed there (berth host check) and the session directory is writable',
        },
      );
    }
    throw failed(this.runner, r, `start session ${plan.spec.name}`);
  }

  async observe(refs: readonly SessionRef[]): Promise<HostObservation> {
    return observation(this.runner, await this.sh(renderObserveScript(refs), LOOK));
  }

  async stop(refs: readonly SessionRef[], graceS: number): Promise<Map<string, StopOutcome>> {
    const r = await this.sh(renderStopScript(refs, graceS), 'stop sessions', (graceS + 60) * 1000);
    const out = parseStopOutput(r.stdout);
    if (!out) throw failed(this.runner, r, 'stop sessions');
    return out;
  }

  /** Print a run's log (lines after the marker go to `onLine`); false when there is none. */
  logs(plan: LogsPlan, onLine: (line: string) => void, signal?: AbortSignal): Promise<boolean> {
    return readLog(this.runner, renderLogsScript(plan), onLine, signal);
  }

  tmux(layout: SessionLayout): Tmux {
    return new Tmux(this.runner, layout.socket);
  }

  async attach(ref: SessionRef, o: { readOnly?: boolean }): Promise<number | undefined> {
    const tmux = this.tmux(ref.layout);
    if (!(await tmux.hasSession(ref.layout.tmuxName))) return undefined;
    return tmux.attach(ref.layout.tmuxName, o);
  }

  async screen(ref: SessionRef, history: number): Promise<string | undefined> {
    const tmux = this.tmux(ref.layout);
    if (!(await tmux.hasSession(ref.layout.tmuxName))) return undefined;
    return tmux.capturePane(ref.layout.tmuxName, { history });
  }

  private sh(script: string, what: string, timeoutMs = this.timeoutMs): Promise<RunResult> {
    return runScript(this.runner, script, {
      what,
      timeoutMs,
      hint: 'check the host (berth host check); a preSubmit hook may be waiting for input',
    });
  }
}
