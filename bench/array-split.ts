/**
 * Array split on the test cluster: a logical array of N tasks (default 2,500) beyond
 * MaxArraySize (1001 there) is submitted as several SLURM arrays, shown as ONE job; every
 * task appends its logical index (BERTH_ARRAY_OFFSET + SLURM_ARRAY_TASK_ID) to one file.
 * At the end: every index 0..N-1 exactly once, the submit time, the throughput in
 * tasks/s, and what one observe() of the whole logical job costs.
 * Run: npx tsx bench/array-split.ts [tasks] [--max M]   (needs scripts/dev-cluster up)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlurmScheduler } from '../src/scheduler/slurm/scheduler.js';
import { parseJobSpec } from '../src/scheduler/spec.js';
import { SshRunner } from '../src/transport/ssh.js';
import { median, round } from './stats.js';

const args = process.argv.slice(2);
const maxAt = args.indexOf('--max');
const max = maxAt >= 0 ? Number(args[maxAt + 1]) : undefined;
const tasks = Number(args.find((a, i) => /^\d+$/.test(a) && i !== maxAt + 1) ?? 2500);

const info = JSON.parse(
  readFileSync(join(process.env.BERTH_CLUSTER_DIR ?? '/tmp/berth-cluster', 'cluster.json'), 'utf8'),
);
const stateDir = mkdtempSync(join(tmpdir(), 'berth-bench-array-split-'));
const runner = new SshRunner({
  host: 'cluster',
  target: info.sshAlias,
  configFile: info.sshConfig,
  stateDir,
});
const tag = `bench-split-${process.pid}`;
const root = `${info.workRoot}/${tag}`;
const out = `${root}/indices`;
const scheduler = new SlurmScheduler(runner, { root, ...(max ? { maxArraySize: max } : {}) });

const t0 = Date.now();
const sub = await scheduler.submit(
  parseJobSpec({
    name: tag,
    array: `0-${tasks - 1}`,
    resources: { time: 5 },
    script: `#!/bin/bash\necho $((BERTH_ARRAY_OFFSET + SLURM_ARRAY_TASK_ID)) >> ${out}\n`,
  }),
);
const submitMs = Date.now() - t0;
console.log(
  `submitted ${tasks} tasks as ${sub.schedulerIds.length} arrays (${sub.schedulerIds.join(', ')}) in ${submitMs} ms`,
);
const observeMs: number[] = [];
const hints = new Map([[sub.jobId, { schedulerIds: sub.schedulerIds, taskCount: tasks }]]);
let last = '';
for (;;) {
  const q0 = Date.now();
  const o = (await scheduler.observe([sub.jobId], hints)).get(sub.jobId)!;
  observeMs.push(Date.now() - q0);
  const line = `${Math.round((Date.now() - t0) / 1000)}s ${o.state.kind} ${JSON.stringify(o.tasks)}`;
  if (line !== last) console.log(line);
  last = line;
  const ended = Object.entries(o.tasks ?? {})
    .filter(([k]) => !['pending', 'running', 'completing', 'unknown'].includes(k))
    .reduce((n, [, v]) => n + v, 0);
  if (ended >= tasks) break;
  await new Promise((r) => setTimeout(r, 5000));
}
const wallS = (Date.now() - t0) / 1000;
const text = (await runner.run(['cat', out])).stdout;
const seen = text.split('\n').filter(Boolean).map(Number);
const counts = new Map<number, number>();
for (const i of seen) counts.set(i, (counts.get(i) ?? 0) + 1);
const missing = Array.from({ length: tasks }, (_, i) => i).filter((i) => !counts.has(i)).length;
const duplicates = [...counts.values()].filter((n) => n > 1).length;
await runner.run(['rm', '-rf', '--', root]);
await runner.close({ master: true });
rmSync(stateDir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    bench: 'array-split',
    tasks,
    chunks: sub.schedulerIds.length,
    submitMs,
    wallS: round(wallS),
    tasksPerS: round(tasks / wallS, 2),
    observeMedianMs: round(median(observeMs)),
    missing,
    duplicates,
  }),
);
if (missing || duplicates) process.exitCode = 1;
