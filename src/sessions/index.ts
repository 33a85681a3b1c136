/**
 * sessions/: long-lived tmux sessions from YAML specs (docs/sessions.md).
 *
 *   const s = await openSessions({ cwd, env });
 *   await s.service.start(loadSpecArg('train', { cwd, env }));
 *   const all = await lookAt(s.service, await s.service.records());
 *   await s.close();
 */
import { loadConfig } from '../config/index.js';
import { openStore } from '../store/open.js';
import { SessionService } from './service.js';

export {
  discoverAll,
  findSpecFile,
  isSpecPath,
  loadSpecArg,
  loadSpecByName,
  specDirs,
} from './discover.js';
export { layoutFor, runIdAt, type SessionLayout } from './layout.js';
export { lookAt, type SessionStatus, type StatusDetail, statusOf } from './look.js';
export type { TreeUsage } from './proc.js';
export type { RunRecord, SessionRecord } from './records.js';
export {
  DEFAULT_GRACE_S,
  SessionService,
  type StartOptions,
  type StartResult,
  type StopResult,
} from './service.js';
export {
  RESTART_POLICIES,
  type RestartPolicy,
  RUNTIMES,
  type Runtime,
  type SessionSpec,
} from './spec.js';
export { loadSpecFile, parseSpecText } from './spec-file.js';
export type { SessionState } from './state.js';

export interface OpenedSessions {
  service: SessionService;
  close(): Promise<void>;
}

/** Configuration and store for sessions (close() closes both the runners and the store). */
export async function openSessions(o: {
  cwd: string;
  env: NodeJS.ProcessEnv;
}): Promise<OpenedSessions> {
  const config = loadConfig({ cwd: o.cwd, env: o.env });
  const store = await openStore({
    env: o.env,
    stateDir: config.stateDir,
    cwd: o.cwd,
    ...(config.dbUrl ? { url: config.dbUrl } : {}),
  });
  const service = new SessionService(config, store.db);
  return {
    service,
    async close() {
      await service.close();
      await store.close();
    },
  };
}
