/**
 * The in-process broadcast behind GET /v1/stream: ingest publishes the events it stored,
 * every open stream gets them. The most recent events are also kept in a ring, in
 * broadcast order, so a client that reconnects with Last-Event-ID to the same server
 * resumes exactly where it stopped; older ids are resumed from the store (stream.ts).
 */
import type { EventRecord } from '../store/index.js';

export type Listener = (events: readonly EventRecord[]) => void;

export class EventHub {
  private readonly listeners = new Set<Listener>();
  private readonly ring: EventRecord[] = [];
  private readonly closers = new Set<() => void>();

  constructor(private readonly keep = 10_000) {}

  publish(events: readonly EventRecord[]): void {
    if (events.length === 0) return;
    this.ring.push(...events);
    if (this.ring.length > this.keep) this.ring.splice(0, this.ring.length - this.keep);
    for (const l of this.listeners) l(events);
  }

  subscribe(listener: Listener, onClose: () => void): () => void {
    this.listeners.add(listener);
    this.closers.add(onClose);
    return () => {
      this.listeners.delete(listener);
      this.closers.delete(onClose);
    };
  }

  /** Events published after `id`, or null when `id` is not in the ring (too old, or from before a restart). */
  after(id: string): EventRecord[] | null {
    for (let i = this.ring.length - 1; i >= 0; i--) {
      if (this.ring[i]!.id === id) return this.ring.slice(i + 1);
    }
    return null;
  }

  get size(): number {
    return this.listeners.size;
  }

  /** End every stream (shutdown). */
  closeAll(): void {
    for (const close of [...this.closers]) close();
  }
}
