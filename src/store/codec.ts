/**
 * Row ↔ domain helpers shared by the table modules: numbers from bigint columns, JSON
 * text, and checks on values before they reach a column (so every database stores the same
 * thing, and MySQL's `insert ignore` never truncates silently).
 */
import { UsageError } from '../core/errors.js';

/** A bigint column read back: pg gives int8 as a string, the others a number. */
export function num(v: number | string | bigint): number {
  return typeof v === 'number' ? v : Number(v);
}

export function numOrNull(v: number | string | bigint | null | undefined): number | null {
  return v === null || v === undefined ? null : num(v);
}

/** JSON stored as text; an absent object is stored as `{}`. */
export function toJson(v: unknown): string {
  return JSON.stringify(v ?? {});
}

export function fromJson<T = Record<string, unknown>>(text: string | null | undefined): T {
  return (text ? JSON.parse(text) : {}) as T;
}

function invalid(what: string, problem: string, hint: string): never {
  throw new UsageError(`store: ${what} ${problem}`, { code: 'E_STORE_INVALID', hint });
}

/** Epoch milliseconds (a whole number) or null. */
export function ms(v: number | null | undefined, what: string): number | null {
  if (v === null || v === undefined) return null;
  if (!Number.isSafeInteger(v)) {
    invalid(what, `must be epoch milliseconds, got ${String(v)}`, 'use Date.now()-style integers');
  }
  return v;
}

export function msRequired(v: number | null | undefined, what: string): number {
  const out = ms(v, what);
  if (out === null) invalid(what, 'is required', 'give epoch milliseconds');
  return out;
}

/** A string for a varchar(max) column: required and non-empty unless `optional`. */
export function str(v: string | null | undefined, what: string, max: number): string {
  if (typeof v !== 'string' || v.length === 0) invalid(what, 'is required', `give a string`);
  if (v.length > max) invalid(what, `is longer than ${max} characters`, `shorten it`);
  return v;
}

export function strOrNull(v: string | null | undefined, what: string, max: number): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') invalid(what, 'must be a string', 'give a string or null');
  if (v.length > max) invalid(what, `is longer than ${max} characters`, `shorten it`);
  return v;
}

/** A whole number for an integer column, or null. */
export function intOrNull(v: number | null | undefined, what: string): number | null {
  if (v === null || v === undefined) return null;
  if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) {
    invalid(what, `must be a 32-bit integer, got ${String(v)}`, 'give an integer or null');
  }
  return v;
}

/** Free text (text/longtext column) or null. */
export function textOrNull(v: string | null | undefined, what: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') invalid(what, 'must be a string', 'give a string or null');
  return v;
}

/** Crockford base32, 26 characters, upper case: the canonical ULID form. */
export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function ulidId(v: string, what: string): string {
  if (typeof v !== 'string' || !ULID_PATTERN.test(v)) {
    invalid(
      what,
      `must be a ULID (26 upper-case Crockford base32 characters), got ${JSON.stringify(v)}`,
      'generate ids with ulid()',
    );
  }
  return v;
}
