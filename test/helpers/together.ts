import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');

/**
 * Run `code` (an ES module body, TypeScript sources importable through tsx) in `n` node
 * processes that start its work together: each prints `ready` once loaded and then reads
 * one message on stdin; when all are ready, each is sent `go()` (not a fixed time, which a
 * loaded machine could make some miss). Resolves with what each printed after `ready`,
 * parsed as JSON; rejects with the stderr of a process that failed.
 */
export function runTogether<T>(opts: {
  code: string;
  n: number;
  env?: NodeJS.ProcessEnv;
  go?: () => string;
}): Promise<T[]> {
  let ready = 0;
  const children: ChildProcess[] = [];
  const one = () =>
    new Promise<T>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', opts.code],
        { cwd: repo, env: { ...process.env, ...opts.env } },
      );
      children.push(child);
      let out = '';
      let err = '';
      let counted = false;
      child.stdout!.on('data', (d) => {
        out += d;
        if (!counted && out.startsWith('ready\n')) {
          counted = true;
          if (++ready === opts.n) {
            const message = opts.go?.() ?? 'go\n';
            for (const c of children) c.stdin!.end(message);
          }
        }
      });
      child.stderr!.on('data', (d) => (err += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        if (status === 0) resolve(JSON.parse(out.slice('ready\n'.length)) as T);
        else reject(new Error(`child exited ${status ?? signal}: ${err}`));
      });
    });
  return Promise.all(Array.from({ length: opts.n }, one));
}
