/** The kv table: small named values (schema notes, cursors, the last flush time…). */
import type { Kysely } from 'kysely';
import { msRequired, str } from './codec.js';
import { dialectOf, onConflictUpdate } from './dialect.js';
import type { Database } from './schema.js';

export async function kvGet(db: Kysely<Database>, name: string): Promise<string | undefined> {
  const row = await db.selectFrom('kv').select('value').where('name', '=', name).executeTakeFirst();
  return row?.value;
}

export async function kvSet(
  db: Kysely<Database>,
  name: string,
  value: string,
  at: number = Date.now(),
): Promise<void> {
  const set = { value: String(value), updated_at: msRequired(at, 'kv updatedAt') };
  await onConflictUpdate(
    db.insertInto('kv').values({ name: str(name, 'kv name', 255), ...set }),
    dialectOf(db),
    'name',
    set,
  ).execute();
}

/** False when there was no such name. */
export async function kvDelete(db: Kysely<Database>, name: string): Promise<boolean> {
  const res = await db.deleteFrom('kv').where('name', '=', name).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}
