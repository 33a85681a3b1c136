/**
 * A host directory with a leading `~` expanded where it lives: one round trip through the
 * runner, read from a marker line so login banners never get in. An absolute path costs
 * nothing.
 */
import { RemoteError } from '../core/errors.js';
import type { Runner } from '../transport/runner.js';
import { rootWord } from './slurm/submit-script.js';

const MARK = '@@berth-home ';

export interface ExpandHomeOptions {
  timeoutMs?: number;
  /** The hint of the error when it cannot be resolved. */
  hint?: string;
}

export async function expandHome(
  runner: Runner,
  path: string,
  opts: ExpandHomeOptions = {},
): Promise<string> {
  if (!path.startsWith('~')) return path;
  const r = await runner.sh(
    `printf '${MARK}%s\\n' ${rootWord(path)}`,
    opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs },
  );
  const line = r.stdout.split('\n').find((l) => l.startsWith(MARK));
  const abs = line?.slice(MARK.length) ?? '';
  if (r.exitCode !== 0 || !abs.startsWith('/')) {
    const why = r.stderr.trim().split('\n').at(-1);
    throw new RemoteError(`cannot resolve ${path} on ${runner.host}${why ? `: ${why}` : ''}`, {
      hint: opts.hint ?? 'set an absolute hosts.<name>.root',
    });
  }
  return abs;
}

/** expandHome asked once per scheduler; a failure is not kept, so the next call asks again. */
export class HomeCache {
  private home: Promise<string> | undefined;

  constructor(
    private readonly runner: Runner,
    private readonly root: string,
    private readonly timeoutMs: number,
  ) {}

  get(): Promise<string> {
    if (!this.root.startsWith('~')) return Promise.resolve(this.root);
    this.home ??= expandHome(this.runner, this.root, { timeoutMs: this.timeoutMs }).catch((e) => {
      this.home = undefined;
      throw e;
    });
    return this.home;
  }
}
