/**
 * Every migration, in order. Names sort in the order they run (kysely sorts by name);
 * add a new file `NNNN_what.ts` and one line here. Applied migrations are never edited.
 * Listed in code rather than found on disk, so they work the same from src/ and dist/.
 */
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_sessions.js';
import * as m0003 from './0003_events_received_at.js';

export const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': m0001,
  '0002_sessions': m0002,
  '0003_events_received_at': m0003,
};
