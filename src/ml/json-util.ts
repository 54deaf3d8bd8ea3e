/**
 * Narrowing helpers for the untrusted JSON that reaches the ML module (template inputs,
 * `_predict` bodies, stored documents). ML Commons types most of its maps as
 * `Map<String, String>`, so several helpers coerce scalars to text the way it does.
 */
import { validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as text: strings verbatim, everything else as JSON (ML Commons' `gson.toJson`). */
export const textOf = (v: JsonValue): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Templates may carry a map or list as a JSON string (e.g. after `${{ param }}`
 * substitution); accept both forms. Anything that does not parse is returned unchanged so the
 * caller's type check reports it.
 */
export function jsonish(v: JsonValue | undefined): JsonValue | undefined {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return v;
  try {
    return JSON.parse(t) as JsonValue;
  } catch {
    return v;
  }
}

/** An optional string field; numbers and booleans are accepted as their text; '' counts as absent. */
export function optionalString(obj: JsonObject, key: string, what: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw validationError(`${what} [${key}] must be a string`);
}

/** A required non-empty string field. */
export function requiredString(obj: JsonObject, key: string, what: string): string {
  const v = optionalString(obj, key, what);
  if (v === undefined || v.trim() === '') throw validationError(`${what} [${key}] is required and must be a non-empty string`);
  return v;
}

/** An optional map whose scalar values become text (objects and arrays become JSON text). */
export function lenientStringMap(v: JsonValue | undefined, what: string): Record<string, string> | undefined {
  const parsed = jsonish(v);
  if (parsed === undefined || parsed === null) return undefined;
  if (!isObject(parsed)) throw validationError(`${what} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(parsed)) if (x !== null) out[k] = textOf(x);
  return out;
}

/** An optional map that must already hold strings only (`message` is the whole error text). */
export function strictStringMap(v: JsonValue | undefined, message: string): Record<string, string> | undefined {
  const parsed = jsonish(v);
  if (parsed === undefined || parsed === null) return undefined;
  if (!isObject(parsed)) throw validationError(message);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(parsed)) {
    if (typeof x !== 'string') throw validationError(message);
    out[k] = x;
  }
  return out;
}

/** An optional list of strings (a single string counts as a one-element list). */
export function optionalStringList(v: JsonValue | undefined, what: string): string[] | undefined {
  const parsed = jsonish(v);
  if (parsed === undefined || parsed === null) return undefined;
  if (typeof parsed === 'string') return [parsed];
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw validationError(`${what} must be a list of strings`);
  return parsed;
}

/** `true`, `"true"` (any case) → true: booleans often arrive as text after substitution. */
export function truthy(v: JsonValue | undefined): boolean {
  return v === true || (typeof v === 'string' && v.trim().toLowerCase() === 'true');
}

/** A shallow copy without the given keys. */
export function omit(doc: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(doc)) if (!keys.includes(k)) out[k] = v;
  return out;
}

/** A JSON object from a typed record, dropping undefined fields. */
export function compact(obj: Readonly<Record<string, JsonValue | undefined>>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out;
}
