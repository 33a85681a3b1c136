/**
 * The one way berth reads a YAML file it checks (configuration, session specs, pipeline
 * specs): YAML syntax errors, duplicate keys, schema problems and any further checks all
 * become `FILE:LINE:COL: what is wrong` lines of one ConfigError (exit 2).
 */
import { readFileSync } from 'node:fs';
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';

/** One thing wrong, at an offset into the text. */
export interface Problem {
  offset: number;
  message: string;
}

export interface YamlDocOptions<T> {
  /** The ConfigError's hint. */
  hint: string;
  /** Place one zod issue in the document (`value` is the whole document as plain data). */
  place: (issue: z.core.$ZodIssue, doc: Document, value: unknown) => Problem[];
  /** Checks beyond the schema, run only when it passes; their problems are thrown the same way. */
  check?: (data: T, doc: Document) => Problem[];
}

/** Parse YAML `text` (named `file` in messages) and check it with `schema`; throws ConfigError. */
export function parseYamlDocument<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  options: YamlDocOptions<z.output<S>>,
): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const problems: Problem[] = doc.errors.map((e) => ({
    offset: e.pos[0],
    message: yamlMessage(e.code, e.message),
  }));
  if (problems.length === 0) {
    const value = doc.toJS() ?? {};
    const result = schema.safeParse(value);
    if (result.success) {
      problems.push(...(options.check?.(result.data, doc) ?? []));
      if (problems.length === 0) return result.data;
    } else {
      for (const issue of result.error.issues) problems.push(...options.place(issue, doc, value));
    }
  }
  throw new ConfigError(formatProblems(file, problems, lineCounter), {
    hint: options.hint,
    details: { file, problems: problems.length },
  });
}

export function formatProblems(file: string, problems: Problem[], lc: LineCounter): string {
  return [...problems]
    .sort((a, b) => a.offset - b.offset)
    .map((p) => {
      const { line, col } = lc.linePos(p.offset);
      return `${file}:${line}:${col}: ${p.message}`;
    })
    .join('\n');
}

/** A YAML parse error in berth's words (every YAML file berth checks says it the same way). */
export function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'duplicate key: each key may appear only once in a mapping';
  return `YAML syntax error: ${message.replace(/\s+/g, ' ').trim()}`;
}

interface ReadOptions {
  /** What the file is, in `cannot read WHAT (CODE)`. */
  what: string;
  hint: string;
  /** A missing file (ENOENT) gives undefined instead of an error. */
  optional?: boolean;
}

/** A file's text; a ConfigError `FILE:1:1: cannot read WHAT (CODE)` when it can't be read. */
export function readTextFile(
  file: string,
  options: ReadOptions & { optional: true },
): string | undefined;
export function readTextFile(file: string, options: ReadOptions & { optional?: false }): string;
export function readTextFile(file: string, options: ReadOptions): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.optional) return undefined;
    throw new ConfigError(`${file}:1:1: cannot read ${options.what} (${code ?? String(e)})`, {
      hint: options.hint,
      cause: e,
    });
  }
}
