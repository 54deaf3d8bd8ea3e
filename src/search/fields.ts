/**
 * How a query sees a document without a mapping: dotted field paths resolved through objects and
 * arrays, a stand-in for the standard analyzer, and term equality that works for both `keyword`
 * and `text` readings of a string (flowd does not know which one the real index mapping says).
 */
import type { SearchDoc } from './types.js';
import { chargeWork } from './work-meter.js';
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
  chargeWork(rel.length);
  const out: unknown[] = [];
  collect(ctx.base, rel, 0, out);
  return out;
}

/** The scalar values at a field: what term-level and full-text queries compare against. */
export function scalarsAt(ctx: EvalContext, path: string): Scalar[] {
  const out: Scalar[] = [];
  let size = 0;
  for (const n of nodesAt(ctx, path)) {
    if (!isScalar(n)) continue;
    out.push(n);
    size += typeof n === 'string' ? n.length : 1;
  }
  chargeWork(size); // what the caller will examine: matchers are linear in it
  return out;
}

/** Splits of the remaining path tried one by one before looking at the object's keys instead. */
const SPLIT_TRIES = 16;

/**
 * The values at `path` from offset `from` (-1: the path is used up). A key may itself contain
 * dots ({"a.b": 1}), so every split of the remaining path is a candidate; with many dots left,
 * the object's own keys are matched against the path instead, so the work stays linear.
 */
function collect(node: unknown, path: string, from: number, out: unknown[]): void {
  if (Array.isArray(node)) {
    for (const el of node) collect(el, path, from, out);
    return;
  }
  if (from < 0) {
    if (node !== null && node !== undefined) out.push(node);
    return;
  }
  if (!isObject(node)) return;
  const visit = (key: string, stop: number): void => {
    if (Object.hasOwn(node, key)) collect(getOwn(node, key), path, stop === path.length ? -1 : stop + 1, out);
  };
  let end = from - 1;
  for (let tries = 0; tries < SPLIT_TRIES; tries++) {
    const dot = path.indexOf('.', end + 1);
    const stop = dot < 0 ? path.length : dot;
    visit(path.slice(from, stop), stop);
    if (dot < 0) return;
    end = dot;
  }
  const tried = end - from; // every key up to this length was tried above
  const longer = Object.keys(node)
    .filter((k) => k.length > tried && path.startsWith(k, from) && (from + k.length === path.length || path[from + k.length] === '.'))
    .sort((a, b) => a.length - b.length);
  for (const k of longer) visit(k, from + k.length);
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

/** The standard tokenizer's max_token_length: a longer word is split into tokens of this length. */
export const MAX_TOKEN_LENGTH = 255;

/**
 * Stand-in for the standard analyzer: lowercase, split on anything that is not a letter, digit or
 * `_`. Like the real tokenizer, `_` joins words, so `HYBRID_SEARCH` is one token and a match for
 * `semantic_search` does not find every `*_search` value.
 */
export function tokens(text: string): string[] {
  const out: string[] = [];
  for (const t of text.toLowerCase().split(NON_WORD)) {
    if (t.length <= MAX_TOKEN_LENGTH) {
      if (t !== '') out.push(t);
    } else for (let i = 0; i < t.length; i += MAX_TOKEN_LENGTH) out.push(t.slice(i, i + MAX_TOKEN_LENGTH));
  }
  return out;
}

/** The last numericString answer: a query's term is checked against every document's numbers. */
let lastNumeric: { s: string; n: number | undefined } = { s: '', n: undefined };

/** A string that is a plain decimal number, as a number. */
export function numericString(s: string): number | undefined {
  if (s === lastNumeric.s) return lastNumeric.n;
  const t = s.trim();
  // unambiguous (no two ways to split a run of digits), so a long non-number fails in linear time
  const n = t === '' || !/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(t) ? undefined : Number(t);
  const result = n !== undefined && Number.isFinite(n) ? n : undefined;
  lastNumeric = { s, n: result };
  return result;
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
