/**
 * The embedded SQLite store opened by many processes at the same instant, as happens when
 * several berth commands start together on a new state directory. Switching a new file to
 * WAL makes SQLite answer SQLITE_BUSY at once (no busy wait) to all but one of the
 * processes that race for it; without retryWhileBusy about one open in a hundred failed
 * here (8 processes, 60 rounds: 7 failures).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTogether } from '../helpers/together.js';

const repo = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'berth-sqlite-race-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROCESSES = 8;
const ROUNDS = 40;
const SPACING_MS = 150;

/**
 * Each child opens (and migrates) a new store file per round, all children at the same
 * instants: the time of round r is start + r × spacing, with start sent once every child
 * is loaded. Each child prints how many opens failed and why.
 */
const CHILD = `
  const { openStore } = await import(${JSON.stringify(join(repo, 'src/store/index.ts'))});
  process.stdout.write('ready\\n');
  const start = Number(await new Promise((r) => process.stdin.once('data', r)));
  process.stdin.destroy();
  const failures = [];
  for (let r = 0; r < ${ROUNDS}; r++) {
    while (Date.now() < start + r * ${SPACING_MS}) {}
    try {
      const store = await openStore({ url: 'sqlite:' + process.env.DIR + '/r' + r + '.db' });
      await store.close();
    } catch (e) {
      failures.push(e.message);
    }
  }
  process.stdout.write(JSON.stringify(failures));
`;

async function race(): Promise<string[]> {
  const failures = await runTogether<string[]>({
    code: CHILD,
    n: PROCESSES,
    env: { DIR: dir },
    go: () => String(Date.now() + 500),
  });
  return failures.flat();
}

describe('SQLite store opened by many processes at once', () => {
  it(`${PROCESSES} processes × ${ROUNDS} new files: every open succeeds, each file migrated once`, async () => {
    const failures = await race();
    expect(failures).toEqual([]);
    // Every file ended up whole: the last one has its schema.
    const { openStore } = await import('../../src/store/index.js');
    const store = await openStore({ url: `sqlite:${dir}/r${ROUNDS - 1}.db` });
    expect(store.applied).toEqual([]);
    await store.close();
  }, 180_000);
});
