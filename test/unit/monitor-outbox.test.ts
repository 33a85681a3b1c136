import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deliverer } from '../../src/monitor/deliver.js';
import { type MonitorEvent, makeEvent } from '../../src/monitor/events.js';
import { defaultOutboxDirs, findOutboxes, flushOutboxes } from '../../src/monitor/flush.js';
import {
  collectOutboxes,
  eventLine,
  Outbox,
  outboxPath,
  parseEventLine,
} from '../../src/monitor/outbox.js';
import type { DeliveryResult, Sink } from '../../src/monitor/sinks/sink.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-outbox-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A sink that records what it got and can be told to fail. */
class MemorySink implements Sink {
  got: MonitorEvent[] = [];
  failNext = 0;
  constructor(readonly name: string) {}
  async deliver(events: readonly MonitorEvent[]): Promise<DeliveryResult> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error(`${this.name}: down`);
    }
    this.got.push(...events);
    return { done: events.map((e) => e.id) };
  }
  async close() {}
}

const events = (n: number, key = 'k:1') =>
  Array.from({ length: n }, (_, i) =>
    makeEvent(i === n - 1 ? 'COMPLETED' : 'RUNNING', key, { i }, 1000 + i),
  );

describe('Outbox', () => {
  it('appends one line per event and reads them back in order', () => {
    const box = new Outbox(join(dir, 'a', 'k.jsonl'));
    const list = events(3);
    for (const e of list) box.append(e);
    expect(readFileSync(box.path, 'utf8').split('\n')).toHaveLength(4);
    expect(box.events()).toEqual(list);
    expect(new Outbox(box.path).events()).toEqual(list);
  });

  it('keeps per-sink acknowledgements: pending, ack, replay', async () => {
    const box = new Outbox(join(dir, 'k.jsonl'));
    for (const e of events(4)) box.append(e);
    const store = new MemorySink('store');
    const hook = new MemorySink('webhook');
    hook.failNext = 1;
    const first = await box.replay([store, hook]);
    expect(first).toEqual([
      { sink: 'store', delivered: 4, pending: 0, error: null },
      { sink: 'webhook', delivered: 0, pending: 4, error: 'webhook: down' },
    ]);
    expect(box.pending('webhook').map((e) => e.data.i)).toEqual([0, 1, 2, 3]);
    const second = await new Outbox(box.path).replay([store, hook]);
    expect(second.map((r) => [r.sink, r.delivered, r.pending])).toEqual([
      ['store', 0, 0],
      ['webhook', 4, 0],
    ]);
    expect(store.got).toHaveLength(4);
    expect(hook.got).toHaveLength(4);
  });

  it('skips a torn last line until it is complete, and resynchronises after a torn fragment', () => {
    const box = new Outbox(join(dir, 'k.jsonl'));
    const [a, b, c] = events(3);
    box.append(a!);
    const line = eventLine(b!);
    appendFileSync(box.path, line.slice(0, 20)); // a writer died here
    expect(box.events()).toEqual([a]);
    box.append(c!); // starts on a fresh line
    expect(box.events()).toEqual([a, c]);
    expect(box.skipped).toBe(1);
    // A fragment glued in front of a whole event (no newline was written) is dropped.
    expect(parseEventLine(`{"id":"01AB","jobK${line}`)).toEqual(b);
    expect(parseEventLine('not json')).toBeNull();
    expect(parseEventLine('{"id":"x"}')).toBeNull();
  });

  it('reads only what is new on each call and ignores duplicate ids', () => {
    const box = new Outbox(join(dir, 'k.jsonl'));
    const [a, b] = events(2);
    box.append(a!);
    expect(box.events()).toHaveLength(1);
    box.append(a!);
    box.append(b!);
    expect(box.events()).toEqual([a, b]);
  });

  it('retires a finished, fully delivered outbox; an append makes it live again', async () => {
    const box = new Outbox(join(dir, 'k.jsonl'));
    for (const e of events(2)) box.append(e);
    const sink = new MemorySink('store');
    expect(box.retireIfDelivered(['store'])).toBe(false);
    await box.replay([sink]);
    expect(box.retireIfDelivered([])).toBe(false);
    expect(box.retireIfDelivered(['store'])).toBe(true);
    expect(collectOutboxes(dir)).toEqual([]);
    expect(collectOutboxes(dir, { includeRetired: true })).toHaveLength(1);
    box.append(makeEvent('RUNNING', 'k:1', {}, 5000));
    expect(box.isRetired()).toBe(false);
    expect(collectOutboxes(dir).map((o) => o.path)).toEqual([box.path]);
  });
});

describe('outbox locations', () => {
  it('BERTH_OUTBOX_DIR, then the job dir inside SLURM, then the state dir', () => {
    expect(
      outboxPath({
        env: { BERTH_OUTBOX_DIR: '/o', BERTH_JOB_DIR: '/j', SLURM_JOB_ID: '1' },
        jobKey: 'c:1',
      }),
    ).toBe('/o/c_1.jsonl');
    expect(outboxPath({ env: { BERTH_JOB_DIR: '/j', SLURM_JOB_ID: '1' }, jobKey: 'c:1' })).toBe(
      '/j/outbox.jsonl',
    );
    expect(outboxPath({ env: { BERTH_JOB_DIR: '/j' }, jobKey: 'c:1', stateDir: '/s' })).toBe(
      '/s/outbox/c_1.jsonl',
    );
    expect(outboxPath({ env: { BERTH_STATE_DIR: '/st' }, jobKey: 'local:01X' })).toBe(
      '/st/outbox/local_01X.jsonl',
    );
    expect(defaultOutboxDirs({ BERTH_OUTBOX_DIR: '/o' }, '/s')).toEqual(['/o', '/s/outbox']);
  });

  it('collects *.jsonl and job dirs with outbox.jsonl, not acknowledgement files', () => {
    mkdirSync(join(dir, 'job-7'));
    writeFileSync(join(dir, 'job-7', 'outbox.jsonl'), '');
    writeFileSync(join(dir, 'a.jsonl'), '');
    writeFileSync(join(dir, 'a.jsonl.acked-store'), '');
    writeFileSync(join(dir, 'notes.txt'), '');
    expect(collectOutboxes(dir).map((o) => o.path.slice(dir.length + 1))).toEqual([
      'a.jsonl',
      'job-7/outbox.jsonl',
    ]);
    expect(collectOutboxes(join(dir, 'missing'))).toEqual([]);
  });

  it('flushes several outboxes and totals per sink', async () => {
    const a = new Outbox(join(dir, 'a.jsonl'));
    const b = new Outbox(join(dir, 'b.jsonl'));
    for (const e of events(2, 'a:1')) a.append(e);
    for (const e of events(3, 'b:1')) b.append(e);
    const sink = new MemorySink('store');
    const report = await flushOutboxes(findOutboxes([dir], [a.path]), [sink]);
    expect(report).toEqual({
      outboxes: 2,
      events: 5,
      skipped: 0,
      retired: 2,
      sinks: [{ sink: 'store', delivered: 5, pending: 0, errors: [] }],
    });
    const again = await flushOutboxes(findOutboxes([dir]), [sink]);
    expect(again.outboxes).toBe(0);
    expect(sink.got).toHaveLength(5);
  });
});

describe('Deliverer', () => {
  it('delivers in the background, retries a failing sink with back-off, stops on drain', async () => {
    vi.useFakeTimers();
    try {
      const box = new Outbox(join(dir, 'k.jsonl'));
      const sink = new MemorySink('webhook');
      sink.failNext = 2;
      const reports: string[] = [];
      const d = new Deliverer(box, [sink], (r) =>
        reports.push(`${r[0]!.delivered}/${r[0]!.pending}`),
      );
      for (const e of events(2)) box.append(e);
      d.kick();
      await vi.advanceTimersByTimeAsync(0);
      expect(reports).toEqual(['0/2']);
      await vi.advanceTimersByTimeAsync(14_999);
      expect(reports).toEqual(['0/2']);
      await vi.advanceTimersByTimeAsync(1);
      expect(reports).toEqual(['0/2', '0/2']);
      await vi.advanceTimersByTimeAsync(30_000); // the second retry waits twice as long
      expect(reports).toEqual(['0/2', '0/2', '2/0']);
      expect(vi.getTimerCount()).toBe(0);
      await d.drain(1000);
      expect(sink.got).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
