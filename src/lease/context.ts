/**
 * What every lease operation needs: the configuration, the store, and one runner per host
 * (kept for the context's life, so a process that runs many commands over one host reuses
 * its ssh master and, with `persistentShell`, one login shell).
 */
import type { Kysely } from 'kysely';
import { getHost, type HostProfile, type ResolvedConfig } from '../config/index.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { defaultRoot, detectScheduler } from '../scheduler/index.js';
import { SlurmScheduler } from '../scheduler/slurm/scheduler.js';
import { type Database, getLease } from '../store/index.js';
import { createRunner } from '../transport/index.js';
import type { Runner } from '../transport/runner.js';
import { type Lease, leaseOf } from './record.js';

export interface LeaseHost {
  name: string;
  runner: Runner;
  profile: HostProfile;
  /** The host's work root as configured (may start with `~/`). */
  root: string;
  scheduler: SlurmScheduler;
}

export interface LeaseContext {
  config: ResolvedConfig;
  db: Kysely<Database>;
  /** The host's runner and scheduler (created once per host). */
  host(name: string): LeaseHost;
  close(): Promise<void>;
}

export interface LeaseContextOptions {
  config: ResolvedConfig;
  db: Kysely<Database>;
  /** Run login-shell commands in one persistent shell per host (see transport/shell-session.ts). */
  persistentShell?: boolean;
  /** Closed with the context (the store of openLeaseContext). */
  onClose?: () => Promise<void>;
}

export function createLeaseContext(opts: LeaseContextOptions): LeaseContext {
  const hosts = new Map<string, LeaseHost>();
  return {
    config: opts.config,
    db: opts.db,
    host(name) {
      let h = hosts.get(name);
      if (!h) {
        const profile = getHost(opts.config, name);
        const runner = createRunner(
          { name, ssh: profile.ssh, sshConfig: profile.sshConfig },
          {
            stateDir: opts.config.stateDir,
            connectTimeoutS: opts.config.ssh.connectTimeoutS,
            persistentShell: opts.persistentShell ?? false,
          },
        );
        const root = profile.root ?? defaultRoot(runner, opts.config.stateDir);
        h = { name, runner, profile, root, scheduler: new SlurmScheduler(runner, { root }) };
        hosts.set(name, h);
      }
      return h;
    },
    async close() {
      for (const h of hosts.values()) await h.runner.close();
      hosts.clear();
      await opts.onClose?.();
    },
  };
}

/** A context from the configuration cascade and the store it names. */
export async function openLeaseContext(opts: {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  persistentShell?: boolean;
}): Promise<LeaseContext> {
  const { loadConfig } = await import('../config/index.js');
  const { openStore } = await import('../store/index.js');
  const env = opts.env ?? process.env;
  const config = loadConfig({ cwd: opts.cwd ?? process.cwd(), env });
  const store = await openStore({
    env,
    stateDir: config.stateDir,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(config.dbUrl ? { url: config.dbUrl } : {}),
  });
  return createLeaseContext({
    config,
    db: store.db,
    ...(opts.persistentShell === undefined ? {} : { persistentShell: opts.persistentShell }),
    onClose: () => store.close(),
  });
}

/** Leases need SLURM: refuse a host whose scheduler is (or is detected as) none. */
export async function requireSlurm(host: LeaseHost): Promise<void> {
  const kind =
    host.profile.scheduler === 'auto' ? await detectScheduler(host.runner) : host.profile.scheduler;
  if (kind !== 'slurm') {
    throw new UsageError(
      `host ${host.name} has no SLURM scheduler; leases hold SLURM allocations`,
      {
        hint: 'book the lease on a SLURM host (--host), or set hosts.<name>.scheduler: slurm',
      },
    );
  }
}

/** The lease record by name (validated), or NotFoundError. */
export async function loadLease(ctx: LeaseContext, name: string): Promise<Lease> {
  validateName('lease', name);
  const record = await getLease(ctx.db, name);
  if (!record) {
    throw new NotFoundError(`no lease named ${name}`, {
      hint: 'see berth lease list, or book one: berth lease book NAME',
    });
  }
  return leaseOf(record);
}
