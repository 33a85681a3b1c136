/**
 * Delivery: hand each sink what the outbox says it still lacks, record what it
 * acknowledged. Sinks run side by side (a slow webhook does not hold up the store); within a
 * sink, batches go in outbox order and stop at the first failure.
 */
import type { MonitorEvent } from './events.js';
import type { Outbox } from './outbox.js';
import type { Sink } from './sinks/sink.js';

export interface DeliverOptions {
  /** Events per sink call (default 500). */
  batchSize?: number;
  signal?: AbortSignal;
}

export interface SinkReport {
  sink: string;
  /** Events acknowledged by this call. */
  delivered: number;
  /** Events still waiting for this sink. */
  pending: number;
  /** Why delivery stopped early; safe to print. */
  error: string | null;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function deliverTo(outbox: Outbox, sink: Sink, opts: DeliverOptions): Promise<SinkReport> {
  const size = opts.batchSize ?? 500;
  const queued: MonitorEvent[] = outbox.pending(sink.name);
  let delivered = 0;
  let error: string | null = null;
  for (let i = 0; i < queued.length && error === null; i += size) {
    const batch = queued.slice(i, i + size);
    try {
      const res = await sink.deliver(batch, opts.signal ? { signal: opts.signal } : {});
      outbox.ack(sink.name, res.done);
      delivered += res.done.length;
      if (res.error) error = res.error;
      else if (res.done.length < batch.length) error = 'the sink took only part of the batch';
    } catch (e) {
      error = message(e);
    }
  }
  return { sink: sink.name, delivered, pending: outbox.pending(sink.name).length, error };
}

/** Deliver every pending event of one outbox to each sink. Never throws for a sink failure. */
export async function deliverOutbox(
  outbox: Outbox,
  sinks: readonly Sink[],
  opts: DeliverOptions = {},
): Promise<SinkReport[]> {
  return Promise.all(sinks.map((s) => deliverTo(outbox, s, opts)));
}

/**
 * Background delivery for a running wrapper: `kick()` after each append starts a delivery
 * round unless one is running (then one more round follows it); `drain()` waits for the
 * rounds to finish, up to a deadline, then aborts what is still in flight. While a sink is
 * failing, a retry round is scheduled with back-off (15 s doubling to 5 min), so a long job
 * retries a dead webhook a few times an hour rather than on every event.
 */
export class Deliverer {
  private running: Promise<void> | null = null;
  private again = false;
  private readonly abort = new AbortController();
  private retry: NodeJS.Timeout | null = null;
  private failures = 0;
  last: SinkReport[] = [];

  constructor(
    private readonly outbox: Outbox,
    private readonly sinks: readonly Sink[],
    private readonly onReport: (reports: SinkReport[]) => void = () => {},
  ) {}

  kick(): void {
    if (this.sinks.length === 0) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      this.last = await deliverOutbox(this.outbox, this.sinks, { signal: this.abort.signal });
      this.onReport(this.last);
    } while (this.again && !this.abort.signal.aborted);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const failing = this.last.some((r) => r.error !== null && r.pending > 0);
    this.failures = failing ? this.failures + 1 : 0;
    if (!failing || this.abort.signal.aborted) return;
    const delay = Math.min(300_000, 15_000 * 2 ** (this.failures - 1));
    this.retry = setTimeout(() => this.kick(), delay);
    this.retry.unref();
  }

  /** Wait for delivery to finish (at most `deadlineMs`), then stop it. */
  async drain(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    await Promise.race([this.running ?? Promise.resolve(), late]);
    clearTimeout(timer);
    this.stop();
    await Promise.race([
      this.running ?? Promise.resolve(),
      new Promise((r) => setTimeout(r, 200).unref()),
    ]);
  }

  /** Stop delivering now (a second interrupt while the wrapper is exiting). */
  stop(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.abort.abort(new Error('delivery stopped'));
  }
}
