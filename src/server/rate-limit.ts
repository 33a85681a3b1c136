/**
 * A token bucket per key (an API token's id, or a client address): `burst` requests at
 * once, refilled at `perSecond`. take() says whether a request may go ahead, and if not,
 * how long until it may (for Retry-After). Pure apart from the clock it is given.
 */
export interface RateDecision {
  ok: boolean;
  /** Whole seconds until one request is allowed again (0 when ok). */
  retryAfterS: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly maxKeys = 10_000,
  ) {}

  take(key: string, now: number = Date.now()): RateDecision {
    if (this.perSecond <= 0) return { ok: true, retryAfterS: 0 };
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (!this.buckets.has(key)) this.remember(key, b, now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, retryAfterS: 0 };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond)) };
  }

  private remember(key: string, b: Bucket, now: number): void {
    if (this.buckets.size >= this.maxKeys) {
      // Forget buckets that have refilled: they hold no information.
      for (const [k, v] of this.buckets) {
        if (v.tokens + ((now - v.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(k);
      }
      if (this.buckets.size >= this.maxKeys) this.buckets.clear();
    }
    this.buckets.set(key, b);
  }
}
