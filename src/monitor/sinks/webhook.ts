/**
 * Webhooks: one POST per event, in three kinds.
 * - `json`: the event as JSON with `X-Berth-Event-Id`, `X-Berth-Event-Type` and, when a
 *   secret is set, `X-Berth-Signature: sha256=<hex HMAC-SHA256 of the raw body>`;
 * - `slack`: `{"text": "..."}` for a Slack (or Mattermost, Discord /slack) incoming webhook;
 * - `ntfy`: the text as the body to the topic URL with Title/Tags/Priority headers; a secret
 *   is sent as the ntfy access token (`Authorization: Bearer`).
 * Filters pick event types and job keys (a glob). Receivers should dedupe by the event id
 * header: delivery is at least once. Secrets and the URL's path never appear in messages.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { UsageError } from '../../core/errors.js';
import { EVENT_TYPES, type EventType, isEventType, type MonitorEvent } from '../events.js';
import { validateSinkName } from '../outbox.js';
import { displayUrl, redact, urlSecrets } from './redact.js';
import { postWithRetry, type RetryOptions } from './retry.js';
import type { DeliverCallOptions, DeliveryResult, Sink } from './sink.js';

export const WEBHOOK_KINDS = ['json', 'slack', 'ntfy'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

/** Default: every type but HEARTBEAT (a heartbeat a minute is noise in a chat). */
export const DEFAULT_WEBHOOK_TYPES: readonly EventType[] = EVENT_TYPES.filter(
  (t) => t !== 'HEARTBEAT',
);

export interface WebhookFilter {
  types: readonly EventType[];
  /** Glob over job keys (`*` any run of characters, `?` one); null: every job. */
  jobs: string | null;
}

export interface WebhookOptions {
  url: string;
  kind?: WebhookKind;
  secret?: string;
  /** Default 'webhook'. */
  name?: string;
  types?: readonly EventType[];
  jobs?: string | null;
  retry?: Omit<RetryOptions, 'signal'>;
}

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

export function matchesFilter(e: Pick<MonitorEvent, 'type' | 'jobKey'>, f: WebhookFilter): boolean {
  if (!f.types.includes(e.type)) return false;
  return f.jobs === null || globToRegExp(f.jobs).test(e.jobKey);
}

/** Event types from `RUNNING,FAILED` (or `all`); unknown names are a UsageError listing the valid ones. */
export function parseEventTypes(text: string, what = 'event types'): EventType[] {
  const parts = text
    .split(/[\s,]+/)
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  if (parts.includes('ALL')) return [...EVENT_TYPES];
  const bad = parts.filter((p) => !isEventType(p));
  if (bad.length > 0) {
    throw new UsageError(
      `${what}: unknown event type ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
      {
        hint: `valid types: ${EVENT_TYPES.join(', ')} (or all)`,
      },
    );
  }
  return parts as EventType[];
}

/** `sha256=<hex HMAC-SHA256(secret, body)>`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Check an `X-Berth-Signature` header against the raw body (constant time). */
export function verifySignature(
  body: string,
  secret: string,
  header: string | null | undefined,
): boolean {
  if (!header) return false;
  const want = Buffer.from(signBody(body, secret));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}

const ICON: Record<EventType, string> = {
  SUBMITTED: '📨',
  RUNNING: '▶️',
  PAUSED: '⏸️',
  RESUMED: '⏯️',
  TERMINATING: '⏹️',
  COMPLETED: '✅',
  FAILED: '❌',
  HEARTBEAT: '💓',
};

const NTFY_TAG: Record<EventType, string> = {
  SUBMITTED: 'incoming_envelope',
  RUNNING: 'arrow_forward',
  PAUSED: 'pause_button',
  RESUMED: 'play_or_pause_button',
  TERMINATING: 'stop_button',
  COMPLETED: 'white_check_mark',
  FAILED: 'x',
  HEARTBEAT: 'heartbeat',
};

function detail(e: MonitorEvent): string {
  const d = e.data;
  const parts: string[] = [];
  if (typeof d.exitCode === 'number') parts.push(`exit ${d.exitCode}`);
  if (typeof d.signal === 'string') parts.push(d.signal);
  if (typeof d.reason === 'string') parts.push(d.reason);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** One line about an event: `cluster:42 FAILED (exit 143, SIGTERM, cancelled) on n1: sleep 60`. */
export function summary(e: MonitorEvent): string {
  const ctx = (e.data.context ?? {}) as { node?: string; command?: string };
  const where = ctx.node ? ` on ${ctx.node}` : '';
  const what = ctx.command
    ? `: ${ctx.command.length > 200 ? `${ctx.command.slice(0, 197)}...` : ctx.command}`
    : '';
  return `${e.jobKey} ${e.type}${detail(e)}${where}${what}`;
}

/** The request for one event: body and headers. Pure. */
export function renderWebhook(
  kind: WebhookKind,
  e: MonitorEvent,
  secret?: string,
): { body: string; headers: Record<string, string> } {
  const common = { 'x-berth-event-id': e.id, 'x-berth-event-type': e.type, 'user-agent': 'berth' };
  if (kind === 'ntfy') {
    return {
      body: summary(e),
      headers: {
        ...common,
        'content-type': 'text/plain; charset=utf-8',
        title: `berth: ${e.jobKey} ${e.type}`,
        tags: NTFY_TAG[e.type] ?? 'bell',
        priority: e.type === 'FAILED' ? 'high' : e.type === 'HEARTBEAT' ? 'min' : 'default',
        ...(secret ? { authorization: `Bearer ${secret}` } : {}),
      },
    };
  }
  if (kind === 'slack') {
    const body = JSON.stringify({ text: `${ICON[e.type] ?? ''} ${summary(e)}`.trim() });
    return { body, headers: { ...common, 'content-type': 'application/json' } };
  }
  const body = JSON.stringify({
    id: e.id,
    jobKey: e.jobKey,
    type: e.type,
    at: e.at,
    time: new Date(e.at).toISOString(),
    summary: summary(e),
    data: e.data,
  });
  return {
    body,
    headers: {
      ...common,
      'content-type': 'application/json',
      ...(secret ? { 'x-berth-signature': signBody(body, secret) } : {}),
    },
  };
}

export class WebhookSink implements Sink {
  readonly name: string;
  readonly kind: WebhookKind;
  readonly filter: WebhookFilter;

  constructor(private readonly opts: WebhookOptions) {
    this.name = validateSinkName(opts.name ?? 'webhook');
    this.kind = opts.kind ?? 'json';
    if (!WEBHOOK_KINDS.includes(this.kind)) {
      throw new UsageError(`unknown webhook kind ${JSON.stringify(this.kind)}`, {
        hint: `use one of ${WEBHOOK_KINDS.join(', ')}`,
      });
    }
    try {
      new URL(opts.url);
    } catch {
      throw new UsageError('the webhook URL is not a valid URL', {
        hint: 'give a full URL such as https://example.org/hooks/berth',
      });
    }
    this.filter = { types: opts.types ?? DEFAULT_WEBHOOK_TYPES, jobs: opts.jobs ?? null };
  }

  /** Safe to print: kind, host and filter, never the path or the secret. */
  describe(): string {
    return `${this.name}: ${this.kind} webhook to ${displayUrl(this.opts.url)}`;
  }

  async deliver(
    events: readonly MonitorEvent[],
    call: DeliverCallOptions = {},
  ): Promise<DeliveryResult> {
    const done: string[] = [];
    for (const e of events) {
      if (!matchesFilter(e, this.filter)) {
        done.push(e.id);
        continue;
      }
      const req = renderWebhook(this.kind, e, this.opts.secret);
      const res = await postWithRetry(this.opts.url, req, {
        ...this.opts.retry,
        ...(call.signal ? { signal: call.signal } : {}),
      });
      if (!res.ok) {
        const text = `${this.describe()}: event ${e.id} not delivered after ${res.attempts} attempt(s): ${res.error}`;
        return { done, error: this.redact(text) };
      }
      done.push(e.id);
    }
    return { done };
  }

  redact(text: string): string {
    return redact(text, [this.opts.secret, ...urlSecrets(this.opts.url)]);
  }

  async close(): Promise<void> {}
}
