/**
 * Planning a big stage over ssh: a 100,000-task stage (default) whose markers sit on the
 * test cluster's login node with 1,000 of them missing. One marker listing (one round
 * trip) and the pure planner; prints the time of each part, the round trips, the tasks
 * to run and the SLURM array chunks they need (MaxArraySize 1001). Goal: at most 2 s.
 * Run: npx tsx bench/plan.ts [tasks] [--local]   (needs scripts/dev-cluster up unless --local)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planPipeline, readMarkers } from '../src/pipeline/index.js';
import { stageHashes } from '../src/pipeline/plan.js';
import { parsePipelineSpec } from '../src/pipeline/spec.js';
import { LocalRunner } from '../src/transport/local.js';
import { quote } from '../src/transport/quote.js';
import type { Runner } from '../src/transport/runner.js';
import { SshRunner } from '../src/transport/ssh.js';

const args = process.argv.slice(2);
const local = args.includes('--local');
const tasks = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
const missingEvery = Math.max(1, Math.round(tasks / 1000));
const stateDir = mkdtempSync(join(tmpdir(), 'berth-bench-plan-'));

let runner: Runner;
let base: string;
if (local) {
  runner = new LocalRunner();
  base = stateDir;
} else {
  const info = JSON.parse(
    readFileSync(
      join(process.env.BERTH_CLUSTER_DIR ?? '/tmp/berth-cluster', 'cluster.json'),
      'utf8',
    ),
  );
  runner = new SshRunner({
    host: 'cluster',
    target: info.sshAlias,
    configFile: info.sshConfig,
    stateDir,
  });
  base = info.workRoot;
}
const runDir = `${base}/bench-plan-${process.pid}`;
const spec = parsePipelineSpec(
  `name: big\nstages:\n  gen:\n    array: ${tasks}\n    run: echo {{task}}\n`,
  'bench.yaml',
);
const hash = stageHashes(spec).get('gen')!;

// Lay out the markers (not timed): every task but one in `missingEvery` has READY.
const setup = await runner.sh(
  [
    `mkdir -p ${quote(`${runDir}/gen/once`)} && cd ${quote(`${runDir}/gen/once`)}`,
    `seq 0 ${tasks - 1} | xargs mkdir -p`,
    `awk -v n=${tasks} -v m=${missingEvery} -v h=${quote(hash)} 'BEGIN{for(i=0;i<n;i++) if (i%m) {f=i"/READY"; print h > f; close(f)}}'`,
  ].join('\n'),
  { timeoutMs: 600_000 },
);
if (setup.exitCode !== 0) throw new Error(`setup failed: ${setup.stderr}`);
await runner.sh('true'); // warm the connection: the bench measures the listing, not the ssh handshake

let roundTrips = 0;
const counted: Runner = {
  ...runner,
  host: runner.host,
  kind: runner.kind,
  run: (a, o) => runner.run(a, o),
  sh: (s, o) => {
    roundTrips++;
    return runner.sh(s, o);
  },
  close: (o) => runner.close(o),
};
const t0 = performance.now();
const markers = await readMarkers(counted, runDir);
const t1 = performance.now();
const plan = planPipeline(spec, markers, { maxArraySize: 1001 });
const t2 = performance.now();
const unit = plan.units[0]!;
console.log(
  JSON.stringify({
    bench: 'plan',
    host: local ? 'local' : 'cluster (ssh)',
    tasks,
    markers: markers.size,
    toRun: unit.run.length,
    chunks: unit.chunks.length,
    roundTrips,
    listMs: Math.round(t1 - t0),
    planMs: Math.round(t2 - t1),
    totalMs: Math.round(t2 - t0),
  }),
);
await runner.sh(`rm -rf ${quote(runDir)}`);
await runner.close();
rmSync(stateDir, { recursive: true, force: true });
