/**
 * Out-of-band records in a byte stream. The remote wrapper (see remote.ts) writes lines
 * `<prefix>:<key>=<value>\n` into stderr, where prefix holds a random per-call nonce; this
 * filter removes them byte-exactly (even when split across chunks) and reports them.
 */

/** Longest record we accept; anything longer after a prefix is ordinary output. */
const MAX_RECORD = 256;
const NL = 0x0a;

export interface MarkerRecord {
  key: string;
  value: string;
}

export class MarkerFilter {
  private readonly prefix: Buffer;
  private held: Buffer = Buffer.alloc(0);

  constructor(
    prefix: string,
    private readonly onRecord: (record: MarkerRecord) => void,
  ) {
    this.prefix = Buffer.from(`${prefix}:`);
  }

  /** Feed a chunk; returns the bytes that are ordinary output (possibly empty). */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    this.scan(chunk, (b) => out.push(b), this.onRecord);
    return concat(out);
  }

  /** Like push(), but output and records are reported in stream order (for framing). */
  pushInOrder(chunk: Buffer, onBytes: (bytes: Buffer) => void): void {
    this.scan(chunk, onBytes, this.onRecord);
  }

  private scan(
    chunk: Buffer,
    onBytes: (bytes: Buffer) => void,
    onRecord: (record: MarkerRecord) => void,
  ): void {
    const data = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    this.held = Buffer.alloc(0);
    const emit = (b: Buffer) => {
      if (b.length > 0) onBytes(b);
    };
    let from = 0;
    for (;;) {
      const at = data.indexOf(this.prefix, from);
      if (at === -1) break;
      const nl = data.indexOf(NL, at + this.prefix.length);
      if (nl === -1) {
        if (data.length - at > MAX_RECORD) {
          // Too long to be one of ours: ordinary output, keep scanning after the prefix.
          emit(data.subarray(from, at + this.prefix.length));
          from = at + this.prefix.length;
          continue;
        }
        emit(data.subarray(from, at));
        this.held = Buffer.from(data.subarray(at));
        return;
      }
      const record = parseRecord(data.subarray(at + this.prefix.length, nl).toString('utf8'));
      if (record && nl - at <= MAX_RECORD) {
        emit(data.subarray(from, at));
        onRecord(record);
      } else {
        emit(data.subarray(from, nl + 1));
      }
      from = nl + 1;
    }
    const keep = partialPrefixAtEnd(data, this.prefix, from);
    emit(data.subarray(from, data.length - keep));
    if (keep > 0) this.held = Buffer.from(data.subarray(data.length - keep));
  }

  /** End of stream: whatever was held back is ordinary output. */
  end(): Buffer {
    const rest = this.held;
    this.held = Buffer.alloc(0);
    return rest;
  }
}

function parseRecord(text: string): MarkerRecord | undefined {
  const m = /^([a-z]+)=([A-Za-z0-9+_-]*)$/.exec(text);
  return m ? { key: m[1]!, value: m[2]! } : undefined;
}

/** How many bytes at the end of data[from..] are the start of prefix (to hold back). */
function partialPrefixAtEnd(data: Buffer, prefix: Buffer, from: number): number {
  const max = Math.min(prefix.length - 1, data.length - from);
  for (let k = max; k > 0; k--) {
    if (data.subarray(data.length - k).equals(prefix.subarray(0, k))) return k;
  }
  return 0;
}

function concat(parts: Buffer[]): Buffer {
  if (parts.length === 0) return Buffer.alloc(0);
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts);
}
