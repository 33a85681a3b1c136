/**
 * The HTTP sink: posts batches to berth's API (`berth serve`) as
 * `POST <url>/v1/events` with `{"events": [...]}` and `Authorization: Bearer <token>`.
 * The server stores events idempotently by id, so a resent batch is harmless. A 2xx
 * acknowledges the whole batch; anything else leaves it pending.
 */
import type { MonitorEvent } from '../events.js';
import { validateSinkName } from '../outbox.js';
import { displayUrl, redact, urlSecrets } from './redact.js';
import { postWithRetry, type RetryOptions } from './retry.js';
import type { DeliverCallOptions, DeliveryResult, Sink } from './sink.js';

export interface HttpSinkOptions {
  /** The API's base URL, e.g. http://login1:8787 (the sink appends /v1/events). */
  url: string;
  token: string;
  /** Default 'api'. */
  name?: string;
  /** Events per request (default 500). */
  batchSize?: number;
  retry?: Omit<RetryOptions, 'signal'>;
}

export function eventsEndpoint(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/events`;
}

export class HttpSink implements Sink {
  readonly name: string;
  private readonly endpoint: string;

  constructor(private readonly opts: HttpSinkOptions) {
    this.name = validateSinkName(opts.name ?? 'api');
    this.endpoint = eventsEndpoint(opts.url);
  }

  async deliver(
    events: readonly MonitorEvent[],
    call: DeliverCallOptions = {},
  ): Promise<DeliveryResult> {
    const size = this.opts.batchSize ?? 500;
    const done: string[] = [];
    for (let i = 0; i < events.length; i += size) {
      const batch = events.slice(i, i + size);
      const res = await postWithRetry(
        this.endpoint,
        {
          body: JSON.stringify({ events: batch }),
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${this.opts.token}`,
          },
        },
        { ...this.opts.retry, ...(call.signal ? { signal: call.signal } : {}) },
      );
      if (!res.ok) {
        const why =
          res.status === 401 || res.status === 403 ? `${res.error} (check the token)` : res.error;
        const text = `${this.name}: POST ${displayUrl(this.endpoint)} failed after ${res.attempts} attempt(s): ${why}`;
        return { done, error: redact(text, [this.opts.token, ...urlSecrets(this.opts.url)]) };
      }
      done.push(...batch.map((e) => e.id));
    }
    return { done };
  }

  async close(): Promise<void> {}
}
