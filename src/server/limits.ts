/**
 * The API server's limits, in one defaults object. `berth serve` flags overlay it;
 * docs/api.md lists the same table.
 */
export interface ServerLimits {
  /** Largest request body, bytes (larger: 413). */
  bodyBytes: number;
  /** Most events in one POST /v1/events (more: 413). */
  maxBatch: number;
  /** Requests per second each token may make, sustained (0: no rate limit). */
  ratePerSecond: number;
  /** Requests a token may make at once before the rate applies. */
  rateBurst: number;
  /** Largest `limit` a query may ask for. */
  maxQueryLimit: number;
  /** How long a token lookup is cached (revocation takes effect within this time), ms. */
  tokenCacheMs: number;
}

export function defaultLimits(): ServerLimits {
  // biome-ignore format: column-aligned so the defaults read as one table
  return {
    bodyBytes:      1024 * 1024, // 1 MiB
    maxBatch:       1000,        // the HTTP sink sends 500 per request
    ratePerSecond:  500,         // per token; a unauthenticated client is limited per IP
    rateBurst:      1000,
    maxQueryLimit:  10_000,
    tokenCacheMs:   5000,
  };
}

export function resolveLimits(partial: Partial<ServerLimits> = {}): ServerLimits {
  const out = { ...defaultLimits() };
  for (const [k, v] of Object.entries(partial)) {
    if (v !== undefined) (out as Record<string, number>)[k] = v;
  }
  return out;
}
