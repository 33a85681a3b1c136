/**
 * Sessions (src/sessions/): one record per session name, and one row per run (each start,
 * restart or resubmission). Frozen once released: a change is a new migration.
 */
import type { AnyKysely } from '../dialect.js';
import { bigText } from '../dialect.js';
import { table } from './helpers.js';

export async function up(db: AnyKysely): Promise<void> {
  const { dialect, create } = table(db);
  const big = bigText(dialect);

  await create('sessions')
    .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('runtime', 'varchar(16)', (c) => c.notNull())
    .addColumn('desired', 'varchar(16)', (c) => c.notNull())
    .addColumn('state', 'varchar(32)', (c) => c.notNull())
    .addColumn('run_id', 'varchar(64)')
    .addColumn('job_id', 'varchar(64)')
    .addColumn('exit_code', 'integer')
    .addColumn('restarts', 'integer', (c) => c.notNull())
    .addColumn('spec', big, (c) => c.notNull())
    .addColumn('extra', big, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_host').on('sessions').column('host').execute();

  await create('session_runs')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('session_name', 'varchar(255)', (c) =>
      c.notNull().references('sessions.name').onDelete('cascade'),
    )
    .addColumn('run_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('job_id', 'varchar(64)')
    .addColumn('reason', 'varchar(32)', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('ended_at', 'bigint')
    .addColumn('exit_code', 'integer')
    .addColumn('log', big)
    .execute();
  await db.schema
    .createIndex('session_runs_session_name_started_at')
    .on('session_runs')
    .columns(['session_name', 'started_at'])
    .execute();
}

export async function down(db: AnyKysely): Promise<void> {
  for (const t of ['session_runs', 'sessions']) await db.schema.dropTable(t).execute();
}
