import { StringDecoder } from 'node:string_decoder';

/**
 * Turns a stream of byte chunks into complete lines (without the '\n'). A line split across
 * chunks, or a UTF-8 character split across chunks, is joined before it is reported; the
 * last line is reported by `end()` even when it has no trailing newline.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial: string[] = [];

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    const text = this.decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.partial.push(text.slice(start, nl));
      this.emit();
      start = nl + 1;
    }
    if (start < text.length) this.partial.push(text.slice(start));
  }

  end(): void {
    const rest = this.decoder.end();
    if (rest) this.partial.push(rest);
    if (this.partial.length > 0) this.emit();
  }

  private emit(): void {
    const line = this.partial.length === 1 ? this.partial[0]! : this.partial.join('');
    this.partial = [];
    this.onLine(line);
  }
}
