/**
 * An index for the live stream's resume (src/server/stream.ts): a client that reconnects
 * with an id the server no longer remembers is served `where received_at > … order by
 * received_at, id`, which without this index scans the whole events table.
 * Frozen once released: a change is a new migration.
 */
import { type AnyKysely, dialectOf } from '../dialect.js';

export async function up(db: AnyKysely): Promise<void> {
  await db.schema
    .createIndex('events_received_at_id')
    .on('events')
    .columns(['received_at', 'id'])
    .execute();
}

export async function down(db: AnyKysely): Promise<void> {
  const drop = db.schema.dropIndex('events_received_at_id');
  // MySQL names the table in DROP INDEX; SQLite and PostgreSQL refuse it there.
  await (dialectOf(db) === 'mysql' ? drop.on('events') : drop).execute();
}
