/**
 * POST with retries: built-in fetch, a per-attempt timeout (AbortSignal.timeout), exponential
 * back-off with jitter, Retry-After honoured. undici's retry interceptor cannot resend a
 * POST body, hence this loop. Network errors, timeouts, 408, 425, 429 and 5xx are retried;
 * other answers are final.
 */

export interface RetryOptions {
  /** Attempts in all (default 5). */
  attempts?: number;
  /** First back-off (default 300 ms); doubles each time up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  /** Stops the whole loop (between attempts too). */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  random?: () => number;
}

export interface PostResult {
  ok: boolean;
  status: number | null;
  attempts: number;
  /** Short reason for the last failure (status line or error code); no URL. */
  error: string | null;
}

const RETRY_STATUS = new Set([408, 425, 429]);

export function isRetryableStatus(status: number): boolean {
  return RETRY_STATUS.has(status) || status >= 500;
}

/** Back-off before retry n (1-based): min(max, base·2^(n-1)) scaled by a random 50–100 %. */
export function backoffMs(n: number, base: number, max: number, random: () => number): number {
  const full = Math.min(max, base * 2 ** (n - 1));
  return Math.round(full * (0.5 + random() / 2));
}

/** Seconds or an HTTP date in Retry-After, as ms (null when absent or unreadable). */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The error code of a fetch failure (ECONNREFUSED, timeout…), never the URL. */
export function describeFetchError(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError') return 'timed out';
    if (e.name === 'AbortError') return 'aborted';
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return String(cause.code);
    return cause?.message ? `${e.message}: ${cause.message}` : e.message;
  }
  return String(e);
}

export async function postWithRetry(
  url: string,
  init: { body: string; headers: Record<string, string> },
  opts: RetryOptions = {},
): Promise<PostResult> {
  const attempts = opts.attempts ?? 5;
  const doFetch = opts.fetch ?? fetch;
  const random = opts.random ?? Math.random;
  let last: PostResult = { ok: false, status: null, attempts: 0, error: 'not attempted' };
  for (let n = 1; n <= attempts; n++) {
    if (opts.signal?.aborted) return { ...last, error: last.error ?? 'aborted' };
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    let wait: number | null = null;
    try {
      const res = await doFetch(url, {
        method: 'POST',
        body: init.body,
        headers: init.headers,
        signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, status: res.status, attempts: n, error: null };
      last = { ok: false, status: res.status, attempts: n, error: `HTTP ${res.status}` };
      if (!isRetryableStatus(res.status)) return last;
      wait = retryAfterMs(res.headers.get('retry-after'));
    } catch (e) {
      last = { ok: false, status: null, attempts: n, error: describeFetchError(e) };
    }
    if (n < attempts) {
      const backoff = backoffMs(n, opts.baseDelayMs ?? 300, opts.maxDelayMs ?? 30_000, random);
      await sleep(Math.min(Math.max(backoff, wait ?? 0), opts.maxDelayMs ?? 30_000), opts.signal);
    }
  }
  return last;
}
