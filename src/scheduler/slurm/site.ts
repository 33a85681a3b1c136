/**
 * What berth needs to know about a SLURM site, read once per host with one
 * `scontrol show config` and cached for the life of the process: MaxArraySize (arrays
 * beyond it are split), whether accounting exists (sacct can see finished jobs) and
 * MinJobAge (how long finished jobs stay visible to squeue/scontrol without it).
 */
import { RemoteError } from '../../core/errors.js';
import type { Runner } from '../../transport/runner.js';
import { maxArraySize, parseScontrolConfig } from './parse-scontrol.js';

export interface SlurmSite {
  maxArraySize: number;
  accounting: boolean;
  minJobAgeS: number | null;
  clusterName: string | null;
}

const cache = new Map<string, Promise<SlurmSite>>();

/** Pure: the site facts from `scontrol show config` output. */
export function siteFromConfig(text: string): SlurmSite {
  const config = parseScontrolConfig(text);
  const storage = config.AccountingStorageType ?? '';
  const age = /^(\d+)/.exec(config.MinJobAge ?? '');
  return {
    maxArraySize: maxArraySize(config),
    accounting: storage !== '' && !/none/i.test(storage),
    minJobAgeS: age ? Number(age[1]) : null,
    clusterName: config.ClusterName ?? null,
  };
}

/** The site of the runner's host (one query per host and process; a failure is not cached). */
export function readSite(runner: Runner, timeoutMs = 30_000): Promise<SlurmSite> {
  const key = `${runner.kind}:${runner.host}`;
  let site = cache.get(key);
  if (!site) {
    site = query(runner, timeoutMs);
    cache.set(key, site);
    site.catch(() => cache.delete(key));
  }
  return site;
}

async function query(runner: Runner, timeoutMs: number): Promise<SlurmSite> {
  const r = await runner.run(['scontrol', 'show', 'config'], { timeoutMs });
  if (r.exitCode !== 0 || !/MaxArraySize|AccountingStorageType/.test(r.stdout)) {
    const why = r.timedOut ? `timed out after ${timeoutMs} ms` : firstLine(r.stderr || r.stdout);
    throw new RemoteError(`scontrol show config failed on host ${runner.host}: ${why}`, {
      code: 'E_SLURM_CONFIG',
      hint: `check that SLURM works there: berth host check ${runner.host}`,
    });
  }
  return siteFromConfig(r.stdout);
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean)
      ?.slice(0, 300) ?? '(no output)'
  );
}
