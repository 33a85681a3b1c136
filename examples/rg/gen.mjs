// One task: draw SAMPLES values into samples.txt (in the working directory).
// Step 1 draws from a uniform on [-1, 1]; later steps draw two values from the previous
// step's histogram (PREV/hist.txt) and keep coupling * (a + b): a toy block-spin step.
// The PRNG is mulberry32 seeded with BERTH_TASK_SEED, so output is byte for byte stable.
import { readFileSync, writeFileSync } from 'node:fs';

const [seedText, samplesText, couplingText, prev = ''] = process.argv.slice(2);
let state = Number(seedText) >>> 0;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const coupling = Number(couplingText);
let draw = () => 2 * rand() - 1;
if (prev !== '') {
  const rows = readFileSync(`${prev}/hist.txt`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ').map(Number));
  const width = rows.length > 1 ? rows[1][0] - rows[0][0] : 1;
  const total = rows.reduce((n, r) => n + r[1], 0);
  const one = () => {
    let u = rand() * total;
    for (const [center, count] of rows) {
      if (u < count) return center + (rand() - 0.5) * width;
      u -= count;
    }
    return rows.at(-1)[0];
  };
  draw = () => coupling * (one() + one());
}
const out = [];
for (let i = 0; i < Number(samplesText); i++) out.push(draw().toFixed(6));
writeFileSync('samples.txt', `${out.join('\n')}\n`);
