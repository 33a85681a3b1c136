/**
 * `berth run` as a real process: exit codes, signals, events in the outbox and in a SQLite
 * store, and the database being down. Each test has its own state dir (sandbox()).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../src/monitor/events.js';
import { openStore } from '../../src/store/index.js';
import { quote } from '../../src/transport/quote.js';
import {
  berthRun,
  procState,
  readOutbox,
  SIGNALS_SH,
  startBerth,
  waitFor,
} from '../fixtures/monitor/harness.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

let box: Sandbox;
beforeEach(() => {
  box = sandbox('berth-monitor-run-');
});
afterEach(() => box.cleanup());

const outboxOf = (key: string) =>
  join(box.env.BERTH_STATE_DIR!, 'outbox', `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`);
const types = (events: MonitorEvent[]) => events.map((e) => e.type);
const opts = () => ({ cwd: box.cwd, env: box.env });

async function storeEvents(key: string) {
  const store = await openStore({ env: box.env });
  try {
    const { listEvents, getJob } = await import('../../src/store/index.js');
    return {
      events: await listEvents(store.db, { jobKey: key }),
      job: await getJob(store.db, key),
    };
  } finally {
    await store.close();
  }
}

/** A file's trimmed content, or '' while it does not exist. */
function readTrimmed(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : '';
}

function expectWellFormed(events: MonitorEvent[]) {
  const ids = events.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(ids);
  for (const e of events) expect(e.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
}

describe('berth run: exit codes', () => {
  it('exit 0: RUNNING, COMPLETED in the outbox and the store; the job row completed', async () => {
    const r = await berthRun(
      ['run', '--job-key', 'test:ok', '--', 'sh', '-c', 'echo out; echo err >&2'],
      opts(),
    );
    expect(r).toMatchObject({ code: 0, stdout: 'out\n', stderr: 'err\n' });
    const outbox = readOutbox(outboxOf('test:ok'));
    expect(types(outbox)).toEqual(['RUNNING', 'COMPLETED']);
    expectWellFormed(outbox);
    expect(outbox[0]!.data).toMatchObject({
      pid: expect.any(Number),
      context: { host: 'local', command: "sh -c 'echo out; echo err >&2'", slurm: null },
    });
    const { events, job } = await storeEvents('test:ok');
    expect(events.map((e) => e.id)).toEqual(outbox.map((e) => e.id));
    expect(job).toMatchObject({
      state: 'completed',
      exitCode: 0,
      reason: null,
      command: "sh -c 'echo out; echo err >&2'",
    });
    expect(job!.endedAt! - job!.startedAt!).toBeGreaterThanOrEqual(0);
  });

  it('exit 3 is exit 3 with reason exit_code', async () => {
    const r = await berthRun(
      ['run', '--job-key', 'test:three', '--', 'sh', '-c', 'exit 3'],
      opts(),
    );
    expect(r.code).toBe(3);
    const last = readOutbox(outboxOf('test:three')).pop()!;
    expect(last).toMatchObject({
      type: 'FAILED',
      data: { exitCode: 3, signal: null, reason: 'exit_code' },
    });
  });

  it('death by SIGKILL is 137', async () => {
    const r = await berthRun(
      ['run', '--job-key', 'test:kill', '--', 'sh', '-c', 'kill -KILL $$'],
      opts(),
    );
    expect(r.code).toBe(137);
    expect(readOutbox(outboxOf('test:kill')).pop()).toMatchObject({
      type: 'FAILED',
      data: { exitCode: 137, signal: 'SIGKILL', reason: 'signal' },
    });
  });

  it('a command that does not exist is 127, like a shell', async () => {
    const r = await berthRun(
      ['run', '--job-key', 'test:nope', '--', 'no-such-command-xyz'],
      opts(),
    );
    expect(r.code).toBe(127);
    expect(readOutbox(outboxOf('test:nope'))).toMatchObject([
      {
        type: 'FAILED',
        data: { exitCode: 127, reason: 'exit_code', error: 'command not found (ENOENT)' },
      },
    ]);
  });

  it('refuses a bad job key and bad numbers with exit 2, before running anything', async () => {
    const r = await berthRun(['run', '--job-key', 'a b', '--', 'true'], opts());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid job key "a b"/);
    const g = await berthRun(['run', '--grace', 'soon', '--', 'true'], opts());
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/--grace expects a positive number of seconds/);
  });
});

describe('berth run: signals', () => {
  it('SIGINT to the wrapper reaches the child, which dies of it: 130', async () => {
    const run = startBerth(['run', '--job-key', 'test:int', '--', 'sleep', '30'], opts());
    await waitFor('RUNNING', () => readOutbox(outboxOf('test:int')).length > 0);
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(readOutbox(outboxOf('test:int')).pop()).toMatchObject({
      type: 'FAILED',
      data: { exitCode: 130, signal: 'SIGINT', reason: 'signal' },
    });
  });

  it('SIGINT to a child that traps it: the child ran its handler and its status is kept', async () => {
    const dir = box.dir;
    const run = startBerth(
      ['run', '--job-key', 'test:int2', '--', SIGNALS_SH, dir, '300', '5', 'trap-term'],
      opts(),
    );
    await waitFor('child start', () => existsSync(join(dir, 'started')));
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(5);
    expect(existsSync(join(dir, 'INT'))).toBe(true);
  });

  it('SIGTERM: TERMINATING, then the child ends within the grace period', async () => {
    const run = startBerth(['run', '--job-key', 'test:term', '--', 'sleep', '30'], opts());
    await waitFor('RUNNING', () => readOutbox(outboxOf('test:term')).length > 0);
    const sent = Date.now();
    run.proc.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(143);
    // The child died of the forwarded SIGTERM, not of a SIGKILL at the end of the 30 s grace
    // (the events below say so too); a loose bound, as a loaded machine can stall seconds.
    expect(Date.now() - sent).toBeLessThan(25_000);
    const events = readOutbox(outboxOf('test:term'));
    expect(types(events)).toEqual(['RUNNING', 'TERMINATING', 'FAILED']);
    expect(events[1]!.data).toMatchObject({ signal: 'SIGTERM', graceSeconds: 30 });
    expect(events[2]!.data).toMatchObject({ exitCode: 143, signal: 'SIGTERM', reason: 'signal' });
  });

  it('SIGTERM to a child that ignores it: SIGKILL after --grace', async () => {
    const run = startBerth(
      [
        'run',
        '--job-key',
        'test:grace',
        '--grace',
        '1',
        '--',
        'sh',
        '-c',
        `trap "" TERM; : > ${quote(join(box.dir, 'grace-trapped'))}; sleep 30`,
      ],
      opts(),
    );
    await waitFor('RUNNING', () => readOutbox(outboxOf('test:grace')).length > 0);
    // RUNNING is recorded at spawn; the SIGTERM must come after the child ignores it.
    await waitFor('the trap', () => existsSync(join(box.dir, 'grace-trapped')));
    const sent = Date.now();
    run.proc.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(137);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
    expect(readOutbox(outboxOf('test:grace')).pop()!.data).toMatchObject({
      exitCode: 137,
      signal: 'SIGKILL',
      killedAfterGraceSeconds: 1,
    });
  });

  it('SIGTSTP stops the child (state T) and records PAUSED; SIGCONT resumes it: RESUMED', async () => {
    // The child runs until told to end (not for a fixed time, which a stalled machine could
    // use up before the SIGTSTP arrives), then ends with 0.
    const go = join(box.dir, 'go');
    const run = startBerth(
      [
        'run',
        '--job-key',
        'test:stop',
        '--',
        'sh',
        '-c',
        'while [ ! -e "$1" ]; do sleep 0.05; done',
        'sh',
        go,
      ],
      opts(),
    );
    const running = await waitFor('RUNNING', () => readOutbox(outboxOf('test:stop'))[0]);
    const pid = running.data.pid as number;
    run.proc.kill('SIGTSTP');
    await waitFor('child stopped', () => procState(pid) === 'T');
    await waitFor('PAUSED', () => types(readOutbox(outboxOf('test:stop'))).includes('PAUSED'));
    await new Promise((r) => setTimeout(r, 1500));
    expect(procState(pid)).toBe('T');
    run.proc.kill('SIGCONT');
    await waitFor('child running', () => procState(pid) !== 'T');
    writeFileSync(go, '');
    const r = await run.done;
    expect(r.code).toBe(0);
    const events = readOutbox(outboxOf('test:stop'));
    expect(types(events)).toEqual(['RUNNING', 'PAUSED', 'RESUMED', 'COMPLETED']);
    expect(events[1]!.data).toMatchObject({ source: 'signal', signal: 'SIGTSTP' });
    expect(events[2]!.data.pausedMs as number).toBeGreaterThanOrEqual(1400);
    const { job } = await storeEvents('test:stop');
    expect(job!.state).toBe('completed');
  });

  it('a child stopped by someone else is PAUSED, continued is RESUMED (polled from /proc)', async () => {
    // Long enough that a stalled machine cannot end it before the test signals it.
    const run = startBerth(['run', '--job-key', 'test:poll', '--', 'sleep', '120'], opts());
    const running = await waitFor('RUNNING', () => readOutbox(outboxOf('test:poll'))[0]);
    const pid = running.data.pid as number;
    process.kill(pid, 'SIGSTOP');
    await waitFor('PAUSED', () => types(readOutbox(outboxOf('test:poll'))).includes('PAUSED'));
    process.kill(pid, 'SIGCONT');
    await waitFor('RESUMED', () => types(readOutbox(outboxOf('test:poll'))).includes('RESUMED'));
    run.proc.kill('SIGTERM');
    await run.done;
    const events = readOutbox(outboxOf('test:poll'));
    expect(types(events).slice(0, 3)).toEqual(['RUNNING', 'PAUSED', 'RESUMED']);
    expect(events[1]!.data).toEqual(expect.objectContaining({ source: 'child_stopped' }));
  });

  it('SIGUSR1, SIGUSR2 and SIGHUP are forwarded to the child', async () => {
    const dir = box.dir;
    const run = startBerth(
      // The child lives until the SIGTERM at the end (300 s bounds a failure only).
      ['run', '--job-key', 'test:usr', '--', SIGNALS_SH, dir, '300', '0'],
      opts(),
    );
    // `echo $$ > file` creates the file before it writes the pid: wait for the content.
    const childPid = await waitFor('child start', () => readTrimmed(join(dir, 'started')));
    for (const s of ['SIGUSR1', 'SIGUSR2', 'SIGHUP'] as const) {
      run.proc.kill(s);
      const got = await waitFor(`${s} in the child`, () => readTrimmed(join(dir, s.slice(3))));
      expect(got).toBe(childPid);
    }
    run.proc.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(143);
    expect(types(readOutbox(outboxOf('test:usr')))).toEqual(['RUNNING', 'TERMINATING', 'FAILED']);
  });
});

describe('berth run: the database', () => {
  it('down: the command runs, its exit code stands, events wait; flush delivers them exactly once', async () => {
    const down = { ...box.env, BERTH_DB_URL: 'postgres://berth:pw@127.0.0.1:1/x' };
    const r = await berthRun(['run', '--job-key', 'test:db', '--', 'sh', '-c', 'exit 5'], {
      cwd: box.cwd,
      env: down,
    });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      /store: cannot open the postgres store at postgres:\/\/berth:\*\*\*@127\.0\.0\.1:1\/x/,
    );
    expect(r.stderr).toMatch(/events wait in .*test_db\.jsonl for store \(2\)/);
    expect(r.stderr).not.toContain(':pw@');
    const outbox = readOutbox(outboxOf('test:db'));
    expect(types(outbox)).toEqual(['RUNNING', 'FAILED']);

    const still = await berthRun(['--json', 'events', 'flush'], { cwd: box.cwd, env: down });
    expect(still.code).toBe(4);
    expect(JSON.parse(still.stdout).sinks[0]).toMatchObject({
      sink: 'store',
      delivered: 0,
      pending: 2,
    });

    const flush = await berthRun(['--json', 'events', 'flush'], opts());
    expect(flush.code).toBe(0);
    expect(JSON.parse(flush.stdout)).toEqual({
      outboxes: 1,
      events: 2,
      skipped: 0,
      retired: 1,
      sinks: [{ sink: 'store', delivered: 2, pending: 0, errors: [] }],
    });
    const again = await berthRun(['--json', 'events', 'flush'], opts());
    expect(JSON.parse(again.stdout).sinks[0]).toMatchObject({ delivered: 0, pending: 0 });
    const { events, job } = await storeEvents('test:db');
    expect(events.map((e) => e.id)).toEqual(outbox.map((e) => e.id));
    expect(job).toMatchObject({ state: 'failed', exitCode: 5, reason: 'exit_code' });
  });

  it('--no-db writes the outbox only; the next run of the same key replays what is pending', async () => {
    await berthRun(['run', '--no-db', '--job-key', 'test:nodb', '--', 'true'], opts());
    expect(types(readOutbox(outboxOf('test:nodb')))).toEqual(['RUNNING', 'COMPLETED']);
    expect(existsSync(join(box.env.BERTH_STATE_DIR!, 'berth.db'))).toBe(false);
    await berthRun(['run', '--job-key', 'test:nodb', '--', 'true'], opts());
    const { events } = await storeEvents('test:nodb');
    expect(types(events as MonitorEvent[])).toEqual([
      'RUNNING',
      'COMPLETED',
      'RUNNING',
      'COMPLETED',
    ]);
  });
});

describe('query commands', () => {
  it('events, jobs and jobs show read the store', async () => {
    await berthRun(['run', '--job-key', 'q:1', '--', 'sh', '-c', 'exit 2'], opts());
    await berthRun(['run', '--job-key', 'q:2', '--', 'true'], opts());
    const list = await berthRun(['--json', 'events', 'q:1'], opts());
    expect(JSON.parse(list.stdout).map((e: MonitorEvent) => e.type)).toEqual(['RUNNING', 'FAILED']);
    const failed = await berthRun(
      ['--json', 'events', '--type', 'failed', '--since', '1h'],
      opts(),
    );
    expect(JSON.parse(failed.stdout).map((e: MonitorEvent) => e.jobKey)).toEqual(['q:1']);
    const jobs = await berthRun(['--json', 'jobs', '--state', 'failed'], opts());
    expect(JSON.parse(jobs.stdout).map((j: { key: string }) => j.key)).toEqual(['q:1']);
    const table = await berthRun(['jobs'], opts());
    expect(table.stdout.split('\n')[0]).toMatch(
      /^KEY\s+NAME\s+STATE\s+EXIT\s+REASON\s+TASKS\s+STARTED\s+TOOK\s+COMMAND$/,
    );
    const show = await berthRun(['jobs', 'show', 'q:1'], opts());
    expect(show.stdout).toMatch(/^job q:1 {2}failed \(exit 2, exit_code\)$/m);
    expect(show.stdout).toMatch(/FAILED\s+exit 2, reason exit_code/);
    const missing = await berthRun(['jobs', 'show', 'q:404'], opts());
    expect(missing.code).toBe(3);
    const bad = await berthRun(['events', '--type', 'DONE'], opts());
    expect(bad.code).toBe(2);
  });

  it('events -f prints new events as they arrive', async () => {
    await berthRun(['run', '--job-key', 'f:0', '--', 'true'], opts());
    const follow = startBerth(['--json', 'events', '-f'], opts());
    let printed = '';
    follow.proc.stdout!.on('data', (d) => (printed += d));
    // Wait for what is printed, not for fixed times (a loaded machine can stall seconds).
    await waitFor('the stored events', () => printed.includes('"COMPLETED"'));
    await berthRun(['run', '--job-key', 'f:1', '--', 'true'], opts());
    await waitFor('the new events', () =>
      printed.split('\n').some((l) => l.includes('"f:1"') && l.includes('"COMPLETED"')),
    );
    follow.proc.kill('SIGINT');
    const r = await follow.done;
    const seen = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as MonitorEvent);
    expect(seen.map((e) => `${e.jobKey} ${e.type}`)).toEqual([
      'f:0 RUNNING',
      'f:0 COMPLETED',
      'f:1 RUNNING',
      'f:1 COMPLETED',
    ]);
  });
});
