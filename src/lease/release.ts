// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell text uses ${…} parameter expansions
/**
 * `lease release`: mark the lease released on the host (a trap about to resubmit stops),
 * cancel its job, every successor the chain names and every queued job with its name, and
 * forget the record. `missingOk`: a lease that is not there is not an error.
 */
import { NotFoundError, RemoteError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { deleteLease, getLease } from '../store/index.js';
import { quote } from '../transport/quote.js';
import type { LeaseContext } from './context.js';
import { leaseFiles } from './layout.js';
import { leaseOf } from './record.js';

export interface ReleaseResult {
  lease: string;
  released: boolean;
  missing: boolean;
  /** Job ids scancel was given. */
  cancelled: string[];
}

const MARK = '@@berth-release';

/** Shell text; prints `@@berth-release <ids…>` after scancel. Pure. */
export function renderRelease(opts: {
  jobId: string | null;
  dir: string | null;
  jobName: string | null;
}): string {
  const lines = [`ids=${opts.jobId && /^\d+$/.test(opts.jobId) ? opts.jobId : ''}`];
  if (opts.dir) {
    const files = leaseFiles(opts.dir);
    lines.push(
      `[ -d ${quote(opts.dir)} ] && touch -- ${quote(files.released)}`,
      `ids="$ids $(sed -n 's/^[0-9]* [0-9]* resubmit-ok \\([0-9]*\\)$/\\1/p' ${quote(files.chain)} 2>/dev/null)"`,
    );
  }
  if (opts.jobName) lines.push(`ids="$ids $(squeue -h --me --name=${quote(opts.jobName)} -o %i)"`);
  lines.push(
    "ids=$(printf '%s\\n' $ids | sort -un | tr '\\n' ' ')",
    '[ -z "${ids// /}" ] || scancel $ids 2>/dev/null',
    `printf '%s %s\\n' ${MARK} "$ids"`,
  );
  return lines.join('\n');
}

export async function releaseLease(
  ctx: LeaseContext,
  name: string,
  opts: { missingOk?: boolean } = {},
): Promise<ReleaseResult> {
  validateName('lease', name);
  const record = await getLease(ctx.db, name);
  if (!record) {
    if (opts.missingOk) return { lease: name, released: false, missing: true, cancelled: [] };
    throw new NotFoundError(`no lease named ${name}`, {
      hint: 'see berth lease list (or pass --missing-ok)',
    });
  }
  const lease = leaseOf(record);
  const script = renderRelease({
    jobId: lease.jobId,
    dir: lease.extra.dir,
    jobName: lease.spec.adopted ? null : lease.extra.jobName,
  });
  const r = await ctx.host(lease.host).runner.sh(script, { timeoutMs: 60_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith(`${MARK} `));
  if (line === undefined) {
    throw new RemoteError(
      `cannot release lease ${name} on host ${lease.host}: ${r.stderr.trim().slice(0, 300)}`,
      {
        hint: 'the record is kept; try again when the host answers',
      },
    );
  }
  await deleteLease(ctx.db, name);
  const cancelled = line
    .slice(MARK.length + 1)
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  return { lease: name, released: true, missing: false, cancelled };
}
