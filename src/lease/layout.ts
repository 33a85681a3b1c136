/**
 * Where a lease lives, by name: its SLURM job name, its directory on the host and the files
 * in it, and the tmux socket of each of its jobs. Pure; names are validated before they get
 * here (core/names.ts), so they are safe in paths, job names and shell words.
 *
 *   <root>/leases/<name>/hold.sh          the hold script; a persistent lease resubmits this file
 *   <root>/leases/<name>/chain            one line per event of every job of the lease (see chain.ts)
 *   <root>/leases/<name>/released         present once released: traps stop resubmitting
 *   <root>/leases/<name>/job-<id>.out     each job's own stdout/stderr
 *   <root>/leases/<name>/tenants/<s>.sh   launcher of tenant session <s> (re-run by every job)
 *   <root>/leases/<name>/tenants/<s>.log  its log, appended to by every job
 */

/** The SLURM job name of every job of a lease (a persistent lease's chain shares it). */
export function leaseJobName(name: string): string {
  return `berth-lease-${name}`;
}

export function leaseDir(absoluteRoot: string, name: string): string {
  return `${absoluteRoot.replace(/\/+$/, '')}/leases/${name}`;
}

export const leaseFiles = (dir: string) => ({
  hold: `${dir}/hold.sh`,
  chain: `${dir}/chain`,
  released: `${dir}/released`,
  jobOutput: `${dir}/job-%j.out`,
  tenants: `${dir}/tenants`,
  tenantLauncher: (session: string) => `${dir}/tenants/${session}.sh`,
  tenantLog: (session: string) => `${dir}/tenants/${session}.log`,
});

/**
 * The tmux socket (`tmux -L`) of one job of a lease. It names the job, not the lease: an old
 * and a new job of a chain may run on the same node at once, each with its own server.
 */
export function leaseSocket(jobId: string): string {
  return `berth-lease-${jobId}`;
}

/** The session the hold script starts the server with. */
export const ROOT_SESSION = '_root';
