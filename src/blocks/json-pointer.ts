/**
 * RFC 6901 JSON Pointers, the way blocks address parts of their input (`/document/text`,
 * `/items/0`). Pointers are checked once when the config is validated and compiled into
 * token lists, so reading one per input costs no parsing. Only own properties are followed:
 * `/constructor` on an object is absent, not the Object function.
 */
import type { JsonValue } from '../util/json.js';

export type CompiledPointer = readonly string[];

const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

/** Why `pointer` is not a valid JSON Pointer, or undefined when it is. */
export function pointerProblem(pointer: string): string | undefined {
  if (pointer !== '' && !pointer.startsWith('/')) {
    return `must be a JSON Pointer: "" for the whole value or a path starting with "/" such as "/document/text" (got "${pointer}")`;
  }
  if (/~(?![01])/.test(pointer)) return `has "~" not followed by 0 or 1 (write "~0" for "~" and "~1" for "/" in a key): "${pointer}"`;
  return undefined;
}

/** Splits a valid pointer into its unescaped reference tokens. */
export function compilePointer(pointer: string): CompiledPointer {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value `tokens` point at in `doc`, or undefined when there is none. */
export function readPointer(doc: JsonValue, tokens: CompiledPointer): JsonValue | undefined {
  let cur: JsonValue | undefined = doc;
  for (const token of tokens) {
    if (Array.isArray(cur)) {
      cur = ARRAY_INDEX.test(token) ? cur[Number(token)] : undefined;
    } else if (cur !== null && typeof cur === 'object') {
      cur = Object.hasOwn(cur, token) ? cur[token] : undefined;
    } else {
      return undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** A short name for the JSON type of a value, for error messages. */
export function jsonTypeOf(v: JsonValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}
