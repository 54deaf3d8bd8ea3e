/**
 * How a query sees a document without a mapping: dotted field paths resolved through objects and
 * arrays, a stand-in for the standard analyzer, and term equality that works for both `keyword`
 * and `text` readings of a string (flowd does not know which one the real index mapping says).
 */
import type { SearchDoc } from './types.js';
import { type Scalar, getOwn, isObject, isScalar } from './values.js';

export interface EvalContext {
  readonly doc: SearchDoc;
  readonly index: string;
  /** Where field paths resolve from: the source root, or one element of a nested array. */
  readonly base: unknown;
  /** Dotted path of `base`; '' for the root. Inside `nested`, fields outside this path do not exist. */
  readonly basePath: string;
}

/** A compiled query: does the document (or nested element) in this context match? */
export type Matcher = (ctx: EvalContext) => boolean;

export function rootContext(doc: SearchDoc, index: string): EvalContext {
  return { doc, index, base: doc._source, basePath: '' };
}

export interface FieldRef {
  /** The path looked up in the document (a `.keyword` suffix removed). */
  readonly path: string;
  /** `.keyword`: compare the raw string only, never its tokens. */
  readonly raw: boolean;
}

export function fieldRef(name: string): FieldRef {
  if (name.endsWith('.keyword') && name.length > '.keyword'.length) {
    return { path: name.slice(0, -'.keyword'.length), raw: true };
  }
  return { path: name, raw: false };
}

/** Every non-null value at `path` (objects included), arrays flattened at every level. */
export function nodesAt(ctx: EvalContext, path: string): unknown[] {
  if (path === '_id') return [ctx.doc._id];
  if (path === '_index') return [ctx.index];
  let rel = path;
  if (ctx.basePath !== '') {
    if (path === ctx.basePath) return ctx.base === null || ctx.base === undefined ? [] : [ctx.base];
    if (!path.startsWith(`${ctx.basePath}.`)) return [];
    rel = path.slice(ctx.basePath.length + 1);
  }
  const out: unknown[] = [];
  collect(ctx.base, rel.split('.'), 0, out);
  return out;
}

/** The scalar values at a field: what term-level and full-text queries compare against. */
export function scalarsAt(ctx: EvalContext, path: string): Scalar[] {
  const out: Scalar[] = [];
  for (const n of nodesAt(ctx, path)) if (isScalar(n)) out.push(n);
  return out;
}

function collect(node: unknown, segs: readonly string[], i: number, out: unknown[]): void {
  if (Array.isArray(node)) {
    for (const el of node) collect(el, segs, i, out);
    return;
  }
  if (i === segs.length) {
    if (node !== null && node !== undefined) out.push(node);
    return;
  }
  if (!isObject(node)) return;
  // A key may itself contain dots ({"a.b": 1}), so try every split of the remaining path.
  let key = '';
  for (let j = i; j < segs.length; j++) {
    key = j === i ? (segs[j] as string) : `${key}.${segs[j] as string}`;
    if (Object.hasOwn(node, key)) collect(getOwn(node, key), segs, j + 1, out);
  }
}

/** OpenSearch's `exists`: a scalar, or an object/array holding one somewhere below. */
export function hasValue(node: unknown): boolean {
  if (node === null || node === undefined) return false;
  if (Array.isArray(node)) return node.some(hasValue);
  if (isObject(node)) return Object.keys(node).some((k) => hasValue(node[k]));
  return isScalar(node);
}

/** Every scalar leaf with its dotted path, for queries over several or all fields. */
export function leafEntries(node: unknown, prefix: string, out: [string, Scalar][]): void {
  if (Array.isArray(node)) {
    for (const el of node) leafEntries(el, prefix, out);
  } else if (isObject(node)) {
    for (const k of Object.keys(node)) leafEntries(node[k], prefix === '' ? k : `${prefix}.${k}`, out);
  } else if (isScalar(node)) {
    out.push([prefix, node]);
  }
}

const NON_WORD = /[^\p{L}\p{N}_]+/u;

/**
 * Stand-in for the standard analyzer: lowercase, split on anything that is not a letter, digit or
 * `_`. Like the real tokenizer, `_` joins words, so `HYBRID_SEARCH` is one token and a match for
 * `semantic_search` does not find every `*_search` value.
 */
export function tokens(text: string): string[] {
  return text.toLowerCase().split(NON_WORD).filter((t) => t !== '');
}

/** A string that is a plain decimal number, as a number. */
export function numericString(s: string): number | undefined {
  const t = s.trim();
  if (t === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * `term` equality without a mapping. Numbers compare numerically (a numeric string query counts);
 * booleans accept "true"/"false". A string matches when the raw value equals the term (keyword
 * reading) or, unless `raw` (`.keyword`), when one of its lowercase tokens equals the term as given
 * (text reading: like OpenSearch, `Alice` never matches an analyzed text field, `alice` does).
 */
export function termEquals(docVal: Scalar, q: Scalar, raw: boolean, caseInsensitive: boolean): boolean {
  if (typeof docVal === 'number') {
    const n = typeof q === 'number' ? q : typeof q === 'string' ? numericString(q) : undefined;
    return n !== undefined && n === docVal;
  }
  if (typeof docVal === 'boolean') return q === docVal || q === String(docVal);
  const qs = String(q);
  if (caseInsensitive ? docVal.toLowerCase() === qs.toLowerCase() : docVal === qs) return true;
  if (raw) return false;
  return tokens(docVal).includes(caseInsensitive ? qs.toLowerCase() : qs);
}

/** Does any of the raw string or (unless `raw`) its tokens satisfy `test`? Used by prefix/wildcard. */
export function stringOrTokens(docVal: Scalar, raw: boolean, caseInsensitive: boolean, test: (s: string) => boolean): boolean {
  const s = typeof docVal === 'string' ? docVal : String(docVal);
  if (test(caseInsensitive ? s.toLowerCase() : s)) return true;
  if (raw || typeof docVal !== 'string') return false;
  return tokens(s).some(test);
}
