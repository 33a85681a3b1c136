/**
 * retryWhileBusy, the opening of the SQLite store: an immediate SQLITE_BUSY is asked again
 * until the timeout; any other error, or BUSY after the timeout, is thrown as it is.
 * (test/integration/store-sqlite.test.ts shows it against real processes racing.)
 */
import { describe, expect, it } from 'vitest';
import { retryWhileBusy } from '../../src/store/sqlite.js';

const busy = (code = 'SQLITE_BUSY') => Object.assign(new Error('database is locked'), { code });

describe('retryWhileBusy', () => {
  it('asks again while SQLite answers BUSY, then returns what opened', async () => {
    let calls = 0;
    const handle = await retryWhileBusy(() => {
      calls++;
      if (calls === 1) throw busy();
      if (calls === 2) throw busy('SQLITE_BUSY_RECOVERY');
      return 'handle';
    }, 5000);
    expect(handle).toBe('handle');
    expect(calls).toBe(3);
  });

  it('throws any other error at once', async () => {
    let calls = 0;
    const err = Object.assign(new Error('unable to open database file'), {
      code: 'SQLITE_CANTOPEN',
    });
    await expect(
      retryWhileBusy(() => {
        calls++;
        throw err;
      }, 5000),
    ).rejects.toBe(err);
    expect(calls).toBe(1);
  });

  it('gives up with the BUSY error once the timeout has passed', async () => {
    const t0 = Date.now();
    let calls = 0;
    await expect(
      retryWhileBusy(() => {
        calls++;
        throw busy();
      }, 300),
    ).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(ms).toBeLessThan(2000);
    expect(calls).toBeGreaterThan(2);
  });
});
