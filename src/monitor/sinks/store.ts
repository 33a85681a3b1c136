/**
 * The store sink: events into the events table (idempotent by id) and the job row folded
 * from them (fold.ts). The database is opened on first use; when it cannot be opened the
 * sink says so and does not try again for `retryAfterMs`, so a run whose database is down
 * pays the connection timeout once, not for every event. Its events wait in the outbox.
 */
import type { JobInput, OpenStoreOptions, Store } from '../../store/index.js';
import type { MonitorEvent } from '../events.js';
import { applyEvent } from '../fold.js';
import { validateSinkName } from '../outbox.js';
import type { DeliveryResult, Sink } from './sink.js';

export interface StoreSinkOptions extends OpenStoreOptions {
  /** Default 'store'. */
  name?: string;
  /** After a failed open, wait this long before trying again (default 30 s). */
  retryAfterMs?: number;
  /** An already open store (the sink will not close it). */
  store?: Store;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A stored job row as the fold's input (without the columns the store manages). */
function asInput(job: JobInput): JobInput {
  const { updatedAt: _u, createdAt: _c, ...rest } = job;
  return rest;
}

export class StoreSink implements Sink {
  readonly name: string;
  private store: Store | null;
  private readonly owned: boolean;
  private failedAt = 0;
  private lastError = '';

  constructor(private readonly opts: StoreSinkOptions = {}) {
    this.name = validateSinkName(opts.name ?? 'store');
    this.store = opts.store ?? null;
    this.owned = !opts.store;
  }

  private async open(): Promise<Store> {
    if (this.store) return this.store;
    const wait = this.opts.retryAfterMs ?? 30_000;
    if (this.failedAt && Date.now() - this.failedAt < wait) {
      throw new Error(
        `${this.name}: ${this.lastError} (not retried for ${Math.round(wait / 1000)} s)`,
      );
    }
    const { openStore } = await import('../../store/index.js');
    const { name: _n, retryAfterMs: _r, store: _s, ...storeOpts } = this.opts;
    try {
      this.store = await openStore(storeOpts);
      this.failedAt = 0;
      return this.store;
    } catch (e) {
      this.failedAt = Date.now();
      this.lastError = message(e);
      throw new Error(`${this.name}: ${this.lastError}`);
    }
  }

  async deliver(events: readonly MonitorEvent[]): Promise<DeliveryResult> {
    if (events.length === 0) return { done: [] };
    const store = await this.open();
    const { insertEvents, getJob, upsertJob } = await import('../../store/index.js');
    try {
      await insertEvents(store.db, events);
      const byJob = new Map<string, MonitorEvent[]>();
      for (const e of events) byJob.set(e.jobKey, [...(byJob.get(e.jobKey) ?? []), e]);
      for (const [key, list] of byJob) {
        const stored = await getJob(store.db, key);
        let job: JobInput | undefined = stored ? asInput(stored) : undefined;
        for (const e of list) job = applyEvent(job, e);
        if (job) await upsertJob(store.db, job);
      }
      return { done: events.map((e) => e.id) };
    } catch (e) {
      return { done: [], error: `${this.name}: ${message(e)}` };
    }
  }

  async close(): Promise<void> {
    const s = this.store;
    this.store = null;
    if (s && this.owned) await s.close();
  }
}
