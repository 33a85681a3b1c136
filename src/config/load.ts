/**
 * Reading one configuration file: YAML syntax errors, duplicate keys and schema problems
 * all become `FILE:LINE:COL: what is wrong` lines of one ConfigError (exit 2).
 */
import { type Document, isMap, isScalar, isSeq, type Node } from 'yaml';
import type { z } from 'zod';
import { describeValue, getIn, type KeyPath, keyPath } from './keys.js';
import { type ConfigLayer, layerSchema, SECRET_KEYS, validKeysAt } from './schema.js';
import { type Problem, parseYamlDocument, readTextFile } from './yaml-doc.js';

const HINT = 'fix the file; docs/configuration.md lists every key with its default';

/** Read and check a configuration file; undefined when it does not exist. */
export function loadConfigFile(file: string): ConfigLayer | undefined {
  const text = readTextFile(file, {
    what: 'the file',
    hint: 'check the file permissions, or remove the file',
    optional: true,
  });
  return text === undefined ? undefined : parseConfigText(text, file);
}

/** Parse configuration text (named `file` in messages); pure apart from the error it throws. */
export function parseConfigText(text: string, file: string): ConfigLayer {
  return parseYamlDocument(text, file, layerSchema, { hint: HINT, place: issueProblems });
}

/** Turn one zod issue into problems placed at the YAML node it concerns. */
function issueProblems(issue: z.core.$ZodIssue, doc: Document, value: unknown): Problem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const valid = validKeysAt(path).join(', ');
    const inside = path.length > 0 ? ` in ${keyPath(path)}` : '';
    return issue.keys.map((key) => ({
      offset: offsetOf(doc, [...path, key], 'key'),
      message: `unknown key ${JSON.stringify(key)}${inside}; valid keys are ${valid}`,
    }));
  }
  const where = path.length > 0 && issue.code !== 'invalid_key' ? `${keyPath(path)}: ` : '';
  const want = issue.code === 'invalid_key' ? 'key' : 'value';
  return [{ offset: offsetOf(doc, path, want), message: where + issueText(issue, value) }];
}

/** What is wrong, in words, for one zod issue about `value` (the whole layer). */
export function issueText(issue: z.core.$ZodIssue, value: unknown): string {
  const got = getIn(value, issue.path);
  // A secret's value is never repeated in a message, only what kind of value it is.
  const secret = SECRET_KEYS.has(String(issue.path.at(-1)));
  switch (issue.code) {
    case 'invalid_key':
      return issue.issues[0]?.message ?? issue.message;
    case 'invalid_type': {
      if (secret) return `expected ${typeWord(issue.expected)}, got a ${kindOf(got)} (not shown)`;
      const quote =
        issue.expected === 'string' && typeof got === 'number' ? ` (quote it: "${got}")` : '';
      return `expected ${typeWord(issue.expected)}, got ${describeValue(got)}${quote}`;
    }
    case 'invalid_value':
      return `${JSON.stringify(got)} is not valid; valid values are ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return bound('at least', 'greater than', issue.minimum, issue);
    case 'too_big':
      return bound('at most', 'less than', issue.maximum, issue);
    default:
      return issue.message;
  }
}

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  return Array.isArray(v) ? 'list' : typeof v === 'object' ? 'mapping' : typeof v;
}

function bound(
  inclusiveWord: string,
  exclusiveWord: string,
  limit: number | bigint,
  issue: { origin: string; inclusive?: boolean },
): string {
  if (issue.origin === 'string' && inclusiveWord === 'at least' && Number(limit) === 1) {
    return 'must not be empty';
  }
  const what =
    issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' entries' : '';
  return `must be ${issue.inclusive === false ? exclusiveWord : inclusiveWord} ${limit}${what}`;
}

function typeWord(expected: string): string {
  if (expected === 'object' || expected === 'record') return 'mapping';
  if (expected === 'array') return 'list';
  if (expected === 'int') return 'whole number';
  return expected;
}

/**
 * Where a path points in the document: the key or the value of its pair. A path that
 * doesn't exist (or an empty value) falls back to the deepest node that does. Shared by
 * every YAML file berth checks (configuration, session specs, pipeline specs).
 */
export function offsetOf(doc: Document, path: KeyPath, want: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [i, seg] of path.entries()) {
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg));
      if (!pair) return offset;
      offset = rangeStart(pair.key) ?? offset;
      if (last && want === 'key') return offset;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(seg)];
    } else return offset;
    const start = rangeStart(node);
    if (start === undefined || (isScalar(node) && node.value === null)) return offset;
    offset = start;
  }
  return offset;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}
