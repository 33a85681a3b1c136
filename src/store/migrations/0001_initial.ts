/**
 * The initial schema: jobs, events, leases (+ hops), tokens, kv. Frozen once released: a
 * change is a new migration. Types are the portable subset (varchar(n), integer, bigint,
 * text); only the big-text type and MySQL's table options differ by dialect (see table()).
 */
import type { AnyKysely } from '../dialect.js';
import { bigText } from '../dialect.js';
import { table } from './helpers.js';

export async function up(db: AnyKysely): Promise<void> {
  const { dialect, create } = table(db);
  const big = bigText(dialect);

  await create('jobs')
    .addColumn('job_key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('scheduler', 'varchar(16)', (c) => c.notNull())
    .addColumn('scheduler_id', 'varchar(64)')
    .addColumn('array_id', 'varchar(64)')
    .addColumn('array_task', 'integer')
    .addColumn('name', 'varchar(255)')
    .addColumn('user_name', 'varchar(255)')
    .addColumn('command', big)
    .addColumn('resources', big, (c) => c.notNull())
    .addColumn('state', 'varchar(32)', (c) => c.notNull())
    .addColumn('exit_code', 'integer')
    .addColumn('signal_name', 'varchar(32)')
    .addColumn('reason', big)
    .addColumn('submitted_at', 'bigint')
    .addColumn('started_at', 'bigint')
    .addColumn('ended_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('extra', big, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('jobs_host_scheduler_id')
    .on('jobs')
    .columns(['host', 'scheduler_id'])
    .execute();
  await db.schema.createIndex('jobs_state').on('jobs').column('state').execute();
  await db.schema.createIndex('jobs_updated_at').on('jobs').column('updated_at').execute();

  // No foreign key to jobs: events may arrive (or be replayed) before their job row exists.
  await create('events')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('job_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('type', 'varchar(64)', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('data', big, (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('events_job_key_at')
    .on('events')
    .columns(['job_key', 'at'])
    .execute();
  await db.schema.createIndex('events_type').on('events').column('type').execute();
  await db.schema.createIndex('events_at').on('events').column('at').execute();

  await create('leases')
    .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('job_id', 'varchar(64)')
    .addColumn('state', 'varchar(32)', (c) => c.notNull())
    .addColumn('spec', big, (c) => c.notNull())
    .addColumn('extra', big, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('leases_host').on('leases').column('host').execute();

  await create('lease_hops')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('lease_name', 'varchar(255)', (c) =>
      c.notNull().references('leases.name').onDelete('cascade'),
    )
    .addColumn('job_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('reason', big)
    .execute();
  await db.schema
    .createIndex('lease_hops_lease_name_at')
    .on('lease_hops')
    .columns(['lease_name', 'at'])
    .execute();

  await create('tokens')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('hash', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();

  await create('kv')
    .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('value', big, (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyKysely): Promise<void> {
  for (const t of ['kv', 'tokens', 'lease_hops', 'leases', 'events', 'jobs']) {
    await db.schema.dropTable(t).execute();
  }
}
