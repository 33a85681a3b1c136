/**
 * The host's ONE status watcher (scheduler/watcher.ts), wired to its scheduler and the
 * store. A watcher this session creates is stopped when the session closes.
 */
import { closeWatchers, type HostWatcher, watcherFor } from '../scheduler/watcher.js';
import { storePersist } from '../scheduler/watcher-store.js';
import type { Dispatch, HostHandle } from './session.js';

export async function hostWatcher(d: Dispatch, host: HostHandle): Promise<HostWatcher> {
  const db = (await d.store()).db;
  return watcherFor(host.name, () => {
    d.onClose(() => closeWatchers(host.name));
    return {
      observe: (ids, hints) => host.scheduler.observe(ids, hints),
      poll: host.profile.poll,
      persist: storePersist(db),
    };
  });
}
