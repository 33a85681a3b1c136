/**
 * The Sink contract: where events go after the outbox has them.
 *
 * Covers: delivering a batch of events, in order, and saying which of them the sink now
 * has durably (or has deliberately skipped, e.g. a webhook filter). Every sink must be
 * idempotent by event id: the outbox replays whatever was not acknowledged, so a sink sees
 * an event again after a crash, a timeout or a lost acknowledgement.
 * Leaves out: the outbox (who calls the sink, and when, is deliver.ts's business), and
 * event creation. Connections belong to the sink: it opens them lazily and `close()`
 * releases them.
 * Error messages must be safe to print: no secrets, tokens or secret URLs (see redact.ts).
 * Implementations: store (the database), http (berth's API), webhook (JSON, Slack, ntfy).
 */
import type { MonitorEvent } from '../events.js';

export interface DeliveryResult {
  /** Ids the sink now has (or skipped on purpose); the outbox marks them acknowledged. */
  done: string[];
  /** Why the rest was not delivered; they stay pending. Safe to print. */
  error?: string;
}

export interface DeliverCallOptions {
  /** Abort retries and requests (the caller's deadline). */
  signal?: AbortSignal;
}

export interface Sink {
  /** Stable name; the outbox keeps one acknowledgement file per name ([A-Za-z0-9._-]). */
  readonly name: string;
  /** Deliver events in order. Throwing means none of them was delivered. */
  deliver(events: readonly MonitorEvent[], opts?: DeliverCallOptions): Promise<DeliveryResult>;
  /** Release connections. Safe to call twice. */
  close(): Promise<void>;
}
