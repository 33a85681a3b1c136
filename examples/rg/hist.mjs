// The aggregation: read every task's samples.txt under IN (tasks in numeric order) and
// write hist.txt ("center count" per bin over [-RANGE, RANGE]) and stats.txt.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const [dir, binsText, rangeText] = process.argv.slice(2);
const bins = Number(binsText);
const range = Number(rangeText);
const counts = new Array(bins).fill(0);
let n = 0;
let sum = 0;
let sq = 0;
const tasks = readdirSync(dir)
  .filter((t) => /^\d+$/.test(t))
  .sort((a, b) => a - b);
for (const t of tasks) {
  for (const line of readFileSync(`${dir}/${t}/samples.txt`, 'utf8').trim().split('\n')) {
    const x = Number(line);
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((x + range) / (2 * range)) * bins)));
    counts[b]++;
    n++;
    sum += x;
    sq += x * x;
  }
}
const width = (2 * range) / bins;
const rows = counts.map((c, i) => `${(-range + (i + 0.5) * width).toFixed(4)} ${c}`);
writeFileSync('hist.txt', `${rows.join('\n')}\n`);
const mean = sum / n;
writeFileSync(
  'stats.txt',
  `tasks ${tasks.length}\nsamples ${n}\nmean ${mean.toFixed(6)}\nvariance ${(sq / n - mean * mean).toFixed(6)}\n`,
);
