import type { Store } from '../store/index.js';
import type { CliContext } from './context.js';

/** Open the store the configuration names (BERTH_DB_URL / dbUrl, else SQLite in the state dir). */
export async function openCliStore(ctx: CliContext): Promise<Store> {
  const { loadConfig } = await import('../config/index.js');
  const { openStore } = await import('../store/index.js');
  const config = loadConfig({ cwd: ctx.cwd, env: ctx.env });
  return openStore({
    env: ctx.env,
    stateDir: config.stateDir,
    cwd: ctx.cwd,
    ...(config.dbUrl ? { url: config.dbUrl } : {}),
  });
}

/** Run `fn` with the configured store open, and close it afterwards. */
export async function withStore<T>(ctx: CliContext, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openCliStore(ctx);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
