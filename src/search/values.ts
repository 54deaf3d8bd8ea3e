/**
 * Narrowing and coercion of request JSON values, following XContentParser's rules (numbers may come
 * as strings, booleans as "true"/"false"), and naming values by parser token for error messages.
 */
import { searchError, illegalArgument, parsingError } from './errors.js';
import type { FlowdError } from '../errors.js';

export type Scalar = string | number | boolean;
export type JsonObject = Record<string, unknown>;

/** Plain JSON object (not an array, Date, Map, class instance...). */
export function isObject(v: unknown): v is JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** The XContent token a JSON value starts with, as OpenSearch names it in error messages. */
export function tokenName(v: unknown): string {
  if (v === null || v === undefined) return 'VALUE_NULL';
  if (Array.isArray(v)) return 'START_ARRAY';
  if (isObject(v)) return 'START_OBJECT';
  if (typeof v === 'string') return 'VALUE_STRING';
  if (typeof v === 'number') return 'VALUE_NUMBER';
  if (typeof v === 'boolean') return 'VALUE_BOOLEAN';
  return 'VALUE_EMBEDDED_OBJECT';
}

/** Entries of an object, without throwing on odd keys and with `undefined` read as JSON null. */
export function entries(o: JsonObject): [string, unknown][] {
  return Object.keys(o).map((k) => [k, o[k] === undefined ? null : o[k]]);
}

/** Set a key without ever touching the prototype (a source may legitimately contain "__proto__"). */
export function setOwn(o: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

export function getOwn(o: JsonObject, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

const numberFormat = (text: string): FlowdError => searchError('number_format_exception', `For input string: "${text}"`);

/** parser.doubleValue(): numbers, or strings that parse as numbers. */
export function readNumber(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const t = v.trim();
    const n = t === '' ? NaN : Number(t);
    if (!Number.isFinite(n)) throw numberFormat(v);
    return n;
  }
  throw parsingError(`[${field}] expected a number but found [${tokenName(v)}]`);
}

/** parser.intValue(): like readNumber, truncated, within Java's int range. */
export function readInt(v: unknown, field: string): number {
  const n = Math.trunc(readNumber(v, field));
  if (n > 2147483647 || n < -2147483648) {
    throw illegalArgument(`Value [${String(v)}] is out of range for an integer`);
  }
  return n === 0 ? 0 : n; // normalise -0
}

/** parser.booleanValue(): true/false or the strings "true"/"false". */
export function readBool(v: unknown, field: string): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  if (typeof v === 'string' || typeof v === 'number') {
    throw illegalArgument(`Failed to parse value [${String(v)}] as only [true] or [false] are allowed.`);
  }
  throw parsingError(`[${field}] expected a boolean but found [${tokenName(v)}]`);
}

/** parser.text() for a scalar. */
export function readText(v: unknown, field: string): string {
  if (isScalar(v)) return String(v);
  throw parsingError(`[${field}] expected a string but found [${tokenName(v)}]`);
}

/** A `boost` value: a non-negative number. */
export function readBoost(v: unknown, kind: string): number {
  const b = readNumber(v, 'boost');
  if (b < 0) throw illegalArgument(`negative [boost] are not allowed in [${kind}], use a value between 0 and 1 to deboost`);
  return b;
}
