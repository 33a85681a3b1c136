import type { ByteFilter } from './execute.js';
import { LineSplitter } from './lines.js';

/** Collects chunks (concatenated once at the end) and feeds the optional line callback. */
export function collector(onLine?: (line: string) => void, filter?: ByteFilter) {
  const chunks: Buffer[] = [];
  let error: unknown;
  const lines = onLine
    ? new LineSplitter((line) => {
        if (error !== undefined) return;
        try {
          onLine(line);
        } catch (e) {
          error = e;
        }
      })
    : undefined;
  const take = (chunk: Buffer) => {
    if (chunk.length === 0) return;
    chunks.push(chunk);
    lines?.push(chunk);
  };
  return {
    get error() {
      return error;
    },
    push(chunk: Buffer) {
      take(filter ? filter.push(chunk) : chunk);
    },
    end(): Buffer {
      if (filter) take(filter.end());
      lines?.end();
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    },
  };
}
