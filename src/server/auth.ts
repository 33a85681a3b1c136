/**
 * Bearer tokens: `Authorization: Bearer <secret>`. The secret is hashed (SHA-256,
 * hashToken) and looked up in the tokens table; revoked and unknown tokens are refused.
 * Lookups are cached for `cacheMs` (so a revocation takes effect within that time) and
 * `last_used_at` is written at most once a minute per token, in the background.
 */
import type { Kysely } from 'kysely';
import { findTokenByHash, hashToken, touchToken } from '../store/index.js';
import type { Database } from '../store/schema.js';

export interface AuthToken {
  id: string;
  name: string;
}

/** Where the server checks secrets (the store by default; tests may pass their own). */
export interface TokenLookup {
  /** The live token with this secret, or null. */
  lookup(secret: string): Promise<AuthToken | null>;
}

/** The secret from an Authorization header, or null when there is none. */
export function bearerSecret(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1]! : null;
}

const TOUCH_EVERY_MS = 60_000;
const MAX_CACHED = 10_000;

export function storeTokens(db: Kysely<Database>, opts: { cacheMs: number }): TokenLookup {
  const cache = new Map<string, { token: AuthToken | null; until: number }>();
  const touched = new Map<string, number>();
  return {
    async lookup(secret) {
      const hash = hashToken(secret);
      const now = Date.now();
      const hit = cache.get(hash);
      if (hit && hit.until > now) return hit.token;
      const row = await findTokenByHash(db, hash);
      const token = row && row.revokedAt === null ? { id: row.id, name: row.name } : null;
      if (opts.cacheMs > 0) {
        if (cache.size >= MAX_CACHED) cache.clear();
        cache.set(hash, { token, until: now + opts.cacheMs });
      }
      if (token && now - (touched.get(token.id) ?? 0) > TOUCH_EVERY_MS) {
        touched.set(token.id, now);
        touchToken(db, token.id, now).catch(() => {});
      }
      return token;
    },
  };
}
