/**
 * `run` templates: `{{param.a.b}}`, `{{step}}`, `{{task}}`, `{{seed}}`, `{{prev}}`,
 * `{{in.STAGE}}`, `{{run}}`. Every value enters the shell text through `quote()`.
 */
import { quote } from '../transport/quote.js';

const REF = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

export interface TemplateRef {
  name: string;
  index: number;
}

export function templateRefs(text: string): TemplateRef[] {
  return [...text.matchAll(REF)].map((m) => ({ name: m[1]!, index: m.index }));
}

/** Replace each reference with the quoted value `lookup` gives (it throws for unknown ones). */
export function renderTemplate(text: string, lookup: (name: string) => string): string {
  return text.replace(REF, (_, n: string) => quote(lookup(n)));
}

/** The param paths a template uses (`param.` stripped), sorted and unique. */
export function paramRefs(text: string): string[] {
  const refs = templateRefs(text)
    .map((r) => r.name)
    .filter((n) => n.startsWith('param.'))
    .map((n) => n.slice(6));
  return [...new Set(refs)].sort();
}
