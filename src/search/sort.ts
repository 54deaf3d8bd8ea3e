/**
 * `sort` and `search_after`. Parsing follows SortBuilder.fromXContent (string, object or array of
 * them; `{field: "desc"}` or `{field: {order, missing, mode, nested}}`; `_score`, `_doc`, `_id`).
 * Without a mapping, values sort by type (numbers, then strings) and a missing value sorts last
 * (or first / as a substitute, per `missing`) and shows as null in the hit's `sort` array.
 */
import { illegalArgument, parsingError, unsupported, xContentError } from './errors.js';
import { type EvalContext, type Matcher, nodesAt, numericString, scalarsAt } from './fields.js';
import { type ParseEnv, parseQuery } from './query-parse.js';
import { type JsonObject, type Scalar, entries, isObject, isScalar, readText, tokenName } from './values.js';

type Mode = 'min' | 'max' | 'sum' | 'avg' | 'median';

export interface SortKey {
  readonly kind: 'score' | 'doc' | 'field';
  readonly field: string;
  readonly desc: boolean;
  /** '_last' (default), '_first', or a substitute value. */
  readonly missing: Scalar;
  readonly mode: Mode | undefined;
  readonly nested: { readonly path: string; readonly filter: Matcher | undefined } | undefined;
}

/** A sort value: a number or string, or null for a missing one. */
export type SortValue = number | string | null;

export function parseSort(v: unknown, env: ParseEnv): SortKey[] {
  const out: SortKey[] = [];
  if (Array.isArray(v)) {
    for (const el of v as unknown[]) {
      if (isObject(el)) parseCompound(el, env, out);
      else if (typeof el === 'string') out.push(fieldOrScore(el, undefined));
      else throw illegalArgument('malformed sort format, within the sort array, an object, or an actual string are allowed');
    }
  } else if (isObject(v)) {
    parseCompound(v, env, out);
  } else if (isScalar(v)) {
    out.push(fieldOrScore(String(v), undefined)); // parser.text() of any value token
  } else {
    throw illegalArgument('malformed sort format, either start with array, object, or an actual string');
  }
  return out;
}

function fieldOrScore(name: string, order: string | undefined): SortKey {
  const kind = name === '_score' ? 'score' : name === '_doc' ? 'doc' : 'field';
  const desc = order === undefined ? kind === 'score' : parseOrder(order);
  return { kind, field: name, desc, missing: '_last', mode: undefined, nested: undefined };
}

function parseOrder(s: string): boolean {
  const o = s.toLowerCase();
  if (o !== 'asc' && o !== 'desc') throw illegalArgument(`Unknown SortOrder [${s}]`);
  return o === 'desc';
}

function parseCompound(obj: JsonObject, env: ParseEnv, out: SortKey[]): void {
  for (const [name, val] of entries(obj)) {
    if (typeof val === 'string') {
      out.push(fieldOrScore(name, val));
      continue;
    }
    if (name === '_geo_distance' || name === '_script') throw unsupported(`sorting by [${name}]`);
    const what = name === '_score' ? '_score' : 'field_sort';
    if (!isObject(val)) throw xContentError(`[${what}] Expected START_OBJECT but was: ${tokenName(val)}`);
    out.push(name === '_score' ? parseScoreSort(val) : parseFieldSort(name, val, env));
  }
}

function parseScoreSort(o: JsonObject): SortKey {
  let key = fieldOrScore('_score', undefined);
  for (const [k, v] of entries(o)) {
    if (k !== 'order') throw xContentError(`[_score] unknown field [${k}]`);
    key = fieldOrScore('_score', readText(v, k));
  }
  return key;
}

function parseFieldSort(field: string, o: JsonObject, env: ParseEnv): SortKey {
  let desc: boolean | undefined;
  let missing: SortKey['missing'] = '_last';
  let mode: Mode | undefined;
  let nested: SortKey['nested'];
  for (const [k, v] of entries(o)) {
    switch (k) {
      case 'order':
        desc = parseOrder(readText(v, k));
        break;
      case 'missing':
        if (!isScalar(v)) throw xContentError(`[field_sort] missing doesn't support values of type: ${tokenName(v)}`);
        missing = v;
        break;
      case 'mode':
      case 'sort_mode': {
        const m = readText(v, k).toLowerCase();
        if (!['min', 'max', 'sum', 'avg', 'median'].includes(m)) throw illegalArgument(`Unknown SortMode [${String(v)}]`);
        mode = m as Mode;
        break;
      }
      case 'nested':
        if (!isObject(v)) throw xContentError(`[field_sort] nested doesn't support values of type: ${tokenName(v)}`);
        nested = parseNestedSort(v, env);
        break;
      case 'unmapped_type':
      case 'numeric_type':
      case 'format':
        readText(v, k);
        break;
      default:
        throw xContentError(`[field_sort] unknown field [${k}]`);
    }
  }
  return { kind: field === '_score' ? 'score' : 'field', field, desc: desc ?? false, missing, mode, nested };
}

function parseNestedSort(o: JsonObject, env: ParseEnv): SortKey['nested'] {
  let path: string | undefined;
  let filter: Matcher | undefined;
  for (const [k, v] of entries(o)) {
    if (k === 'path') path = readText(v, k);
    else if (k === 'filter') filter = parseQuery(v, env, 2);
    else if (k === 'nested') throw unsupported('multi-level nested sort');
    else if (k !== 'max_children') throw xContentError(`[nested] unknown field [${k}]`);
  }
  if (path === undefined) throw parsingError('Nested sort path must be set');
  return { path, filter };
}

/** The value a hit sorts by for one key (missing substituted when `missing` is a value). */
export function sortValue(key: SortKey, ctx: EvalContext, docIndex: number): SortValue {
  if (key.kind === 'score') return 1.0;
  if (key.kind === 'doc') return docIndex;
  let values: Scalar[];
  if (key.nested === undefined) {
    values = scalarsAt(ctx, key.field);
  } else {
    const { path, filter } = key.nested;
    values = nodesAt(ctx, path)
      .filter(isObject)
      .map((el): EvalContext => ({ ...ctx, base: el, basePath: path }))
      .filter((c) => filter === undefined || filter(c))
      .flatMap((c) => scalarsAt(c, key.field));
  }
  const nums = values.map((v) => (typeof v === 'boolean' ? Number(v) : v)); // booleans sort as 0/1, like OpenSearch
  if (nums.length === 0) return key.missing === '_first' || key.missing === '_last' ? null : toSortValue(key.missing);
  const mode = key.mode ?? (key.desc ? 'max' : 'min');
  if (nums.every((n): n is number => typeof n === 'number') && mode !== 'min' && mode !== 'max') {
    const sorted = [...nums].sort((a, b) => a - b);
    const sum = sorted.reduce((a, b) => a + b, 0);
    if (mode === 'sum') return sum;
    if (mode === 'avg') return sum / sorted.length;
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  }
  let best = nums[0] as number | string;
  for (const n of nums) {
    const c = compareValues(n, best);
    if (mode === 'max' ? c > 0 : c < 0) best = n;
  }
  return best;
}

function toSortValue(v: Scalar): SortValue {
  return typeof v === 'boolean' ? Number(v) : v;
}

/** Order two hits' sort tuples. A missing value sorts last (or first) whatever the direction. */
export function compareTuples(a: readonly SortValue[], b: readonly SortValue[], keys: readonly SortKey[]): number {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as SortKey;
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === null || y === null) {
      if (x === y) continue;
      const missingFirst = key.missing === '_first';
      return (x === null) === missingFirst ? -1 : 1;
    }
    const c = compareValues(x, y);
    if (c !== 0) return key.desc ? -c : c;
  }
  return 0;
}

/** Numbers before strings; a numeric string compares with a number numerically. */
function compareValues(x: number | string, y: number | string): number {
  const nx = typeof x === 'number' ? x : typeof y === 'number' ? numericString(x) : undefined;
  const ny = typeof y === 'number' ? y : typeof x === 'number' ? numericString(y) : undefined;
  if (nx !== undefined && ny !== undefined) return Math.sign(nx - ny);
  if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `search_after`: one value per sort key, null for missing. */
export function parseSearchAfter(v: unknown[], keys: readonly SortKey[]): SortValue[] {
  if (keys.length === 0) throw illegalArgument('Sort must contain at least one field.');
  if (v.length !== keys.length) {
    throw illegalArgument(`search_after has ${v.length} value(s) but sort has ${keys.length}.`);
  }
  return v.map((el) => {
    if (el === null || el === undefined) return null;
    if (!isScalar(el)) throw parsingError(`Values in [search_after] must be scalars, found [${tokenName(el)}]`);
    return toSortValue(el);
  });
}
