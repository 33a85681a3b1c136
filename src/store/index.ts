/**
 * berth's store: jobs, events, leases, tokens and small values in SQLite (default),
 * PostgreSQL or MySQL/MariaDB, one schema for all three. See docs/store.md.
 *
 *   const store = await openStore();            // migrates on open
 *   await insertEvents(store.db, events);       // idempotent by event id
 *   await store.close();
 */

export { type DialectName, dialectOf, isUniqueViolation } from './dialect.js';
export {
  countEvents,
  type EventInput,
  type EventRecord,
  getEvent,
  insertEvents,
  type ListEventsOptions,
  listEvents,
} from './events.js';
export {
  getJob,
  getJobBySchedulerId,
  JOB_SCHEDULERS,
  type JobInput,
  type JobPatch,
  type JobRecord,
  type JobScheduler,
  type ListJobsOptions,
  listJobs,
  patchJob,
  upsertJob,
} from './jobs.js';
export { kvDelete, kvGet, kvSet } from './kv.js';
export {
  addLeaseHop,
  createLease,
  deleteLease,
  getLease,
  type LeaseHop,
  type LeaseInput,
  type LeaseRecord,
  listLeaseHops,
  listLeases,
  putLease,
} from './leases.js';
export { type MigrationState, migrateToLatest, migrationStatus } from './migrate.js';
export { migrations } from './migrations/index.js';
export { type OpenStoreOptions, openStore, type Store } from './open.js';
export type { Database } from './schema.js';
export {
  createToken,
  findTokenByHash,
  hashToken,
  listTokens,
  newTokenSecret,
  revokeToken,
  type TokenRecord,
  touchToken,
} from './tokens.js';
export { DB_URL_FORMS, type DbTarget, parseDbUrl } from './url.js';
