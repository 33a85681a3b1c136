import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/transport/lines.js';
import { MarkerFilter, type MarkerRecord } from '../../src/transport/markers.js';

function split(chunks: Buffer[]): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  for (const c of chunks) s.push(c);
  s.end();
  return lines;
}

/** Every way of cutting `buf` into two chunks. */
function everySplit(buf: Buffer): Buffer[][] {
  return Array.from({ length: buf.length + 1 }, (_, i) => [buf.subarray(0, i), buf.subarray(i)]);
}

describe('LineSplitter', () => {
  it('joins lines and UTF-8 characters cut across chunks, and flushes the last partial line', () => {
    const text = Buffer.from('ünï\n✓ 日本\n\nlast');
    for (const chunks of everySplit(text)) {
      expect(split(chunks)).toEqual(['ünï', '✓ 日本', '', 'last']);
    }
  });

  it('reports nothing for empty output and no extra line after a final newline', () => {
    expect(split([])).toEqual([]);
    expect(split([Buffer.from('a\n')])).toEqual(['a']);
  });

  it('handles one byte at a time', () => {
    const bytes = Buffer.from('x\ny\n');
    expect(split([...bytes].map((b) => Buffer.from([b])))).toEqual(['x', 'y']);
  });
});

describe('MarkerFilter', () => {
  const prefix = '@@berth-0123456789abcdef';

  function filter(chunks: Buffer[]) {
    const records: MarkerRecord[] = [];
    const f = new MarkerFilter(prefix, (r) => records.push(r));
    const out = Buffer.concat([...chunks.map((c) => f.push(c)), f.end()]);
    return { out: out.toString('utf8'), records };
  }

  it('removes records byte-exactly wherever the chunks are cut', () => {
    const input = Buffer.from(`err1\n${prefix}:pid=123\npart${prefix}:sig=KILL\n`);
    for (const chunks of everySplit(input)) {
      const r = filter(chunks);
      expect(r.out).toBe('err1\npart');
      expect(r.records).toEqual([
        { key: 'pid', value: '123' },
        { key: 'sig', value: 'KILL' },
      ]);
    }
  });

  it('leaves look-alikes alone: another nonce, a bad record, a cut-off record', () => {
    const other = '@@berth-ffffffffffffffff:pid=1\n';
    expect(filter([Buffer.from(other)]).out).toBe(other);
    const bad = `${prefix}:pid=1 2\n`;
    expect(filter([Buffer.from(bad)])).toEqual({ out: bad, records: [] });
    const cut = `x${prefix}:sig=KI`;
    expect(filter([Buffer.from(cut)])).toEqual({ out: cut, records: [] });
  });

  it('passes arbitrary binary data through unchanged', () => {
    const bin = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    const f = new MarkerFilter(prefix, () => {});
    const out = Buffer.concat([f.push(bin.subarray(0, 1000)), f.push(bin.subarray(1000)), f.end()]);
    expect(out.equals(bin)).toBe(true);
  });
});
