/**
 * The outbox under real concurrency: several processes appending to one file (lines from
 * 100 bytes to 20 KB, beyond PIPE_BUF), and several processes replaying it into one SQLite
 * store at the same time. Uses the built dist/ (the global setup builds it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/monitor/outbox.js';
import { countEvents, openStore } from '../../src/store/index.js';

const dist = join(import.meta.dirname, '..', '..', 'dist');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-outbox-conc-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function node(script: string, env: Record<string, string> = {}): Promise<number | null> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    p.on('close', resolve);
  });
}

const WRITERS = 8;
const PER_WRITER = 250;

describe('outbox concurrency', () => {
  it(`${WRITERS} processes × ${PER_WRITER} appends: every line whole, every event once`, async () => {
    const file = join(dir, 'shared.jsonl');
    const writer = (w: number) => `
      const { Outbox } = await import(${JSON.stringify(join(dist, 'monitor', 'outbox.js'))});
      const { makeEvent } = await import(${JSON.stringify(join(dist, 'monitor', 'events.js'))});
      const box = new Outbox(${JSON.stringify(file)});
      for (let i = 0; i < ${PER_WRITER}; i++) {
        const pad = 'x'.repeat(i % 10 === 0 ? 20000 : 100);
        box.append(makeEvent('HEARTBEAT', 'conc:${w}', { w: ${w}, i, pad }));
      }`;
    const codes = await Promise.all(Array.from({ length: WRITERS }, (_, w) => node(writer(w))));
    expect(codes).toEqual(Array(WRITERS).fill(0));
    const box = new Outbox(file);
    const events = box.events();
    expect(box.skipped).toBe(0);
    expect(events).toHaveLength(WRITERS * PER_WRITER);
    expect(new Set(events.map((e) => e.id)).size).toBe(WRITERS * PER_WRITER);
    for (let w = 0; w < WRITERS; w++) {
      const mine = events.filter((e) => e.data.w === w).map((e) => e.data.i);
      expect(mine).toEqual(Array.from({ length: PER_WRITER }, (_, i) => i));
    }
  }, 180_000); // many node processes at once: slow on a loaded 2-core machine

  it('four processes replaying one outbox into one SQLite store at once store each event once', async () => {
    const file = join(dir, 'replay.jsonl');
    const box = new Outbox(file);
    const { makeEvent } = await import('../../src/monitor/events.js');
    for (let i = 0; i < 1000; i++)
      box.append(makeEvent(i === 999 ? 'COMPLETED' : 'HEARTBEAT', 'replay:1', { i }));
    const flusher = `
      const { Outbox } = await import(${JSON.stringify(join(dist, 'monitor', 'outbox.js'))});
      const { StoreSink } = await import(${JSON.stringify(join(dist, 'monitor', 'sinks', 'store.js'))});
      const sink = new StoreSink({ stateDir: ${JSON.stringify(dir)}, env: {} });
      const [r] = await new Outbox(${JSON.stringify(file)}).replay([sink], { batchSize: 100 });
      await sink.close();
      if (r.error) console.error(r.error);`;
    const codes = await Promise.all([1, 2, 3, 4].map(() => node(flusher)));
    expect(codes).toEqual([0, 0, 0, 0]);
    // Whatever lost a race to a locked database is still pending; one more replay finishes it.
    await node(flusher);
    expect(new Outbox(file).pending('store')).toEqual([]);
    const store = await openStore({ stateDir: dir, env: {} });
    try {
      expect(await countEvents(store.db, { jobKey: 'replay:1' })).toBe(1000);
      const { getJob } = await import('../../src/store/index.js');
      expect(await getJob(store.db, 'replay:1')).toMatchObject({ state: 'completed', exitCode: 0 });
    } finally {
      await store.close();
    }
  }, 180_000); // many node processes at once: slow on a loaded 2-core machine
});
