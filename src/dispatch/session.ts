/**
 * A dispatch session: the configuration, the store, and per host its runner, profile and
 * scheduler, created on first use and released by `close()`. Every dispatch operation
 * takes one; the CLI opens one per command.
 */
import type { HostProfile, ResolvedConfig } from '../config/index.js';
import { runnerFor } from '../host/connect.js';
import type { Scheduler } from '../scheduler/contract.js';
import { schedulerFor } from '../scheduler/index.js';
import { openStore, type Store } from '../store/index.js';
import type { Runner } from '../transport/runner.js';

export interface HostHandle {
  name: string;
  runner: Runner;
  profile: HostProfile;
  scheduler: Scheduler;
}

export interface Dispatch {
  config: ResolvedConfig;
  /** The store, opened on first use. */
  store(): Promise<Store>;
  /** The host (default: config.defaultHost) with its runner and scheduler. */
  host(name?: string): Promise<HostHandle>;
  /** Hooks run by close() (e.g. stopping the status watchers this session started). */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

export interface DispatchOptions {
  config: ResolvedConfig;
  /** Use this store instead of opening the configured one (it is not closed by close()). */
  store?: Store;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Timeout of each scheduler query (default 60 s). */
  timeoutMs?: number;
}

export function openDispatch(opts: DispatchOptions): Dispatch {
  const { config } = opts;
  const hosts = new Map<string, Promise<HostHandle>>();
  const closers: Array<() => Promise<void> | void> = [];
  let store: Promise<Store> | undefined = opts.store ? Promise.resolve(opts.store) : undefined;
  const ownStore = !opts.store;
  return {
    config,
    store() {
      store ??= openStore({
        ...(config.dbUrl ? { url: config.dbUrl } : {}),
        stateDir: config.stateDir,
        env: opts.env ?? process.env,
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      });
      return store;
    },
    host(name = config.defaultHost) {
      let handle = hosts.get(name);
      if (!handle) {
        handle = (async () => {
          const { runner, profile } = runnerFor(config, name);
          const scheduler = await schedulerFor(runner, profile, {
            stateDir: config.stateDir,
            ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
          });
          return { name, runner, profile, scheduler };
        })();
        hosts.set(name, handle);
        handle.catch(() => hosts.delete(name));
      }
      return handle;
    },
    onClose(fn) {
      closers.push(fn);
    },
    async close() {
      for (const fn of closers.splice(0)) await fn();
      const handles = await Promise.allSettled([...hosts.values()]);
      hosts.clear();
      for (const h of handles) if (h.status === 'fulfilled') await h.value.runner.close();
      if (store && ownStore) await (await store.catch(() => undefined))?.close();
      store = undefined;
    },
  };
}
