/**
 * Reading a session spec file: YAML syntax errors, duplicate keys and schema problems all
 * become `FILE:LINE:COL: what is wrong` lines of one ConfigError (exit 2), in the same words
 * as configuration files, placed the same way (parseYamlDocument from config/yaml-doc.ts;
 * issueText and offsetOf from config/load.ts).
 */
import type { Document } from 'yaml';
import type { z } from 'zod';
import { keyPath } from '../config/keys.js';
import { issueText, offsetOf } from '../config/load.js';
import { type Problem, parseYamlDocument, readTextFile } from '../config/yaml-doc.js';
import { fromManifest, type SessionSpec, sessionManifestSchema, validSpecKeysAt } from './spec.js';

const HINT = 'fix the spec; docs/sessions.md lists every key';

/** Read and check a spec file. */
export function loadSpecFile(file: string): SessionSpec {
  const text = readTextFile(file, {
    what: 'the session spec',
    hint: 'check the path and the file permissions',
  });
  return parseSpecText(text, file);
}

/** Parse spec text (named `file` in messages); pure apart from the error it throws. */
export function parseSpecText(text: string, file: string): SessionSpec {
  const manifest = parseYamlDocument(text, file, sessionManifestSchema, {
    hint: HINT,
    place: placed,
  });
  return fromManifest(manifest, file);
}

function placed(issue: z.core.$ZodIssue, doc: Document, value: unknown): Problem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const inside = path.length > 0 ? ` in ${keyPath(path)}` : '';
    const valid = validSpecKeysAt(path).join(', ');
    return issue.keys.map((key) => ({
      offset: offsetOf(doc, [...path, key], 'key'),
      message: `unknown key ${JSON.stringify(key)}${inside}; valid keys are ${valid}`,
    }));
  }
  const where = path.length > 0 && issue.code !== 'invalid_key' ? `${keyPath(path)}: ` : '';
  const want = issue.code === 'invalid_key' ? 'key' : 'value';
  const text = issue.code === 'invalid_key' ? issue.message : issueText(issue, value);
  return [{ offset: offsetOf(doc, path, want), message: where + text }];
}
