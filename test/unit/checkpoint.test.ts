import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkpointName,
  latestCheckpoint,
  listCheckpoints,
  writeCheckpoint,
} from '../../src/checkpoint/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-ckpt-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpoints', () => {
  it('write an object, text or bytes and read the newest back', async () => {
    await writeCheckpoint({ step: 1 }, { dir });
    await writeCheckpoint('two', { dir });
    const c = await writeCheckpoint(Buffer.from([0, 1, 2]), { dir });
    const latest = await latestCheckpoint({ dir });
    expect(latest?.name).toBe(c.name);
    expect([...(await latest!.read())]).toEqual([0, 1, 2]);
    const all = await listCheckpoints({ dir });
    expect(all.map((x) => x.name)).toEqual([...all.map((x) => x.name)].sort());
    expect(await all[0]!.json()).toEqual({ step: 1 });
    expect((await all[1]!.read()).toString()).toBe('two');
    expect(latest!.createdAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it('use BERTH_CHECKPOINT_DIR by default and refuse without it', async () => {
    const env = { BERTH_CHECKPOINT_DIR: dir };
    await writeCheckpoint({ n: 7 }, { env });
    expect(await (await latestCheckpoint({ env }))!.json()).toEqual({ n: 7 });
    await expect(latestCheckpoint({ env: {} })).rejects.toThrow(/BERTH_CHECKPOINT_DIR is not set/);
  });

  it('count only complete ones: no marker, or still under a temporary name, is ignored', async () => {
    const good = await writeCheckpoint({ ok: true }, { dir });
    mkdirSync(join(dir, '99999999T999999.999999999Z')); // newer name, no marker
    mkdirSync(join(dir, '.tmp-99999999T999999.999999999Z-x'));
    writeFileSync(join(dir, '.tmp-99999999T999999.999999999Z-x', 'COMPLETE'), '{}');
    expect((await latestCheckpoint({ dir }))?.name).toBe(good.name);
  });

  it('a writer that fails leaves nothing behind', async () => {
    await expect(
      writeCheckpoint(
        async (tmp) => {
          writeFileSync(join(tmp, 'half'), 'x');
          throw new Error('disk full');
        },
        { dir },
      ),
    ).rejects.toThrow('disk full');
    expect(readdirSync(dir)).toEqual([]);
    expect(await latestCheckpoint({ dir })).toBeUndefined();
  });

  it('a writer function can put any files in the checkpoint', async () => {
    const c = await writeCheckpoint(
      (tmp) => {
        writeFileSync(join(tmp, 'model.bin'), 'weights');
        writeFileSync(join(tmp, 'data'), 'meta');
      },
      { dir },
    );
    expect(readdirSync(c.dir).sort()).toEqual(['COMPLETE', 'data', 'model.bin']);
    expect((await c.read()).toString()).toBe('meta');
  });

  it('keep the newest N (default 3) and delete older ones', async () => {
    for (let i = 0; i < 5; i++) await writeCheckpoint({ i }, { dir });
    const left = await listCheckpoints({ dir });
    expect(await Promise.all(left.map((c) => c.json()))).toEqual([{ i: 2 }, { i: 3 }, { i: 4 }]);
    await writeCheckpoint({ i: 5 }, { dir, keep: 0 });
    expect(await listCheckpoints({ dir })).toHaveLength(4);
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('names sort by time, in the same form as date -u +%Y%m%dT%H%M%S.%NZ', () => {
    const a = checkpointName(new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6)));
    expect(a).toMatch(/^20200102T030405\.006\d{6}Z$/);
    const b = checkpointName(new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6)));
    expect(b > a).toBe(true);
    const fromDate = execFileSync('date', ['-u', '+%Y%m%dT%H%M%S.%NZ'], {
      encoding: 'utf8',
    }).trim();
    expect(fromDate).toMatch(/^\d{8}T\d{6}\.\d{9}Z$/);
    expect(fromDate.length).toBe(a.length);
    expect(checkpointName() > a).toBe(true);
  });

  it('refuse names that would hide or escape', async () => {
    for (const name of ['.hidden', '../x', 'a/b', ''])
      await expect(writeCheckpoint('x', { dir, name }), name).rejects.toThrow(
        /invalid checkpoint name/,
      );
  });
});
