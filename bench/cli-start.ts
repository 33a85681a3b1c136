/**
 * CLI start-up: median wall time of `berth --version` (and `berth --help`) against
 * `node -e 0`, interleaved in one run. Goal: `--version` at most 2x node's own start.
 * Run: npm run build && npx tsx bench/cli-start.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { median, round } from './stats.js';

const runs = Number(process.argv[2] ?? 30);
const bin = join(import.meta.dirname, '..', 'bin', 'berth.js');
const cases: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'berth --version': [bin, '--version'],
  'berth --help': [bin, '--help'],
};

function time(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const samples: Record<string, number[]> = Object.fromEntries(
  Object.keys(cases).map((k) => [k, []]),
);
for (const args of Object.values(cases)) time(args); // warm the file cache
for (let i = 0; i < runs; i++)
  for (const [k, args] of Object.entries(cases)) samples[k]!.push(time(args));

const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round(median(v))]));
for (const [k, v] of Object.entries(med))
  console.log(`${k.padEnd(16)} median ${v} ms over ${runs} runs`);
const ratio = round(med['berth --version']! / med['node -e 0']!, 2);
console.log(`berth --version / node -e 0 = ${ratio}x (goal <= 2x)`);
console.log(
  JSON.stringify({
    bench: 'cli-start',
    runs,
    nodeMs: med['node -e 0'],
    versionMs: med['berth --version'],
    helpMs: med['berth --help'],
    ratio,
  }),
);
