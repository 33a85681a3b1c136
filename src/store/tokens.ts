/**
 * The tokens table: bearer tokens for `berth serve`. Only a hash of each secret is stored
 * (hashToken: SHA-256, hex); the secret itself is shown once, when it is created.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Insertable, Kysely, Selectable } from 'kysely';
import { ulid } from 'ulid';
import { ConflictError } from '../core/errors.js';
import { msRequired, num, numOrNull, str } from './codec.js';
import { isUniqueViolation } from './dialect.js';
import type { Database, TokensTable } from './schema.js';

export interface TokenRecord {
  id: string;
  name: string;
  /** SHA-256 of the secret, hex. */
  hash: string;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** The stored form of a token secret. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new random secret (URL-safe, 256 bits). */
export function newTokenSecret(): string {
  return `berth_${randomBytes(32).toString('base64url')}`;
}

function fromRow(r: Selectable<TokensTable>): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    hash: r.hash,
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
    lastUsedAt: numOrNull(r.last_used_at),
  };
}

/** Store a token by the hash of its secret. ConflictError if the hash is already stored. */
export async function createToken(
  db: Kysely<Database>,
  t: { name: string; hash: string; id?: string; createdAt?: number },
): Promise<TokenRecord> {
  const row: Insertable<TokensTable> = {
    id: t.id ?? ulid(),
    name: str(t.name, 'token name', 255),
    hash: str(t.hash, 'token hash', 128),
    created_at: msRequired(t.createdAt ?? Date.now(), 'token createdAt'),
    revoked_at: null,
    last_used_at: null,
  };
  try {
    await db.insertInto('tokens').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError('this token (or its id) is already stored');
    throw err;
  }
  return fromRow(row as Selectable<TokensTable>);
}

/** The token with this hash, revoked or not (the caller checks revokedAt). */
export async function findTokenByHash(
  db: Kysely<Database>,
  hash: string,
): Promise<TokenRecord | undefined> {
  const row = await db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
  return row ? fromRow(row) : undefined;
}

/** Tokens, oldest first; revoked ones only when asked. */
export async function listTokens(
  db: Kysely<Database>,
  opts: { includeRevoked?: boolean } = {},
): Promise<TokenRecord[]> {
  let q = db.selectFrom('tokens').selectAll();
  if (!opts.includeRevoked) q = q.where('revoked_at', 'is', null);
  const rows = await q.orderBy('created_at').orderBy('id').execute();
  return rows.map(fromRow);
}

/**
 * Revoke every live token whose id or name is `idOrName`. Returns how many were revoked
 * (0 when none matched or they were already revoked).
 */
export async function revokeToken(
  db: Kysely<Database>,
  idOrName: string,
  at: number = Date.now(),
): Promise<number> {
  const res = await db
    .updateTable('tokens')
    .set({ revoked_at: msRequired(at, 'revokedAt') })
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Record that a token was used (the API server calls this, at most once in a while). */
export async function touchToken(
  db: Kysely<Database>,
  id: string,
  at: number = Date.now(),
): Promise<void> {
  await db
    .updateTable('tokens')
    .set({ last_used_at: msRequired(at, 'lastUsedAt') })
    .where('id', '=', id)
    .execute();
}
