/**
 * Term-level queries: term, terms, ids, exists, prefix, wildcard. Parsing follows the checks and
 * messages of OpenSearch's QueryBuilder.fromXContent parsers; each returns a compiled Matcher.
 */
import { illegalArgument, multipleFields, parsingError, unsupported, xContentError } from './errors.js';
import { type Matcher, fieldRef, hasValue, nodesAt, numericString, scalarsAt, stringOrTokens, termEquals, tokens } from './fields.js';
import { queryGlob } from './glob.js';
import { type JsonObject, type Scalar, entries, isObject, isScalar, readBool, readBoost, readText, tokenName } from './values.js';

/** `{"term": {"f": "v"}}` or `{"term": {"f": {"value": "v", "boost": 1, "case_insensitive": true}}}`. */
export function parseTerm(body: JsonObject): Matcher {
  let field: string | undefined;
  let value: Scalar | undefined;
  let ci = false;
  for (const [k, v] of entries(body)) {
    if (v === null) continue; // a null token is skipped by the Java parser
    if (Array.isArray(v)) throw parsingError('[term] query does not support array of values');
    if (field !== undefined) throw multipleFields('term', field, k);
    field = k;
    if (!isObject(v)) {
      value = readScalar('term', v);
      continue;
    }
    for (const [pk, pv] of entries(v)) {
      switch (pk) {
        case 'value':
        case 'term':
          if (isObject(pv)) throw parsingError(`[term] query does not support [${Object.keys(pv)[0] ?? pk}]`);
          if (Array.isArray(pv)) throw parsingError('[term] query does not support array of values');
          value = pv === null ? undefined : readScalar('term', pv);
          break;
        case 'case_insensitive':
          ci = readBool(pv, pk);
          break;
        case 'boost':
          readBoost(pv, 'term');
          break;
        case '_name':
          break;
        default:
          throw parsingError(`[term] query does not support [${pk}]`);
      }
    }
  }
  if (field === undefined || field === '') throw illegalArgument('field name is null or empty');
  if (value === undefined) throw illegalArgument('value cannot be null');
  const ref = fieldRef(field);
  const q = value;
  return (ctx) => scalarsAt(ctx, ref.path).some((d) => termEquals(d, q, ref.raw, ci));
}

/** `{"terms": {"f": ["a", "b"], "boost": 1}}`; a terms lookup object is not supported. */
export function parseTerms(body: JsonObject): Matcher {
  let field: string | undefined;
  let values: Scalar[] = [];
  for (const [k, v] of entries(body)) {
    if (Array.isArray(v)) {
      if (field !== undefined) throw parsingError('[terms] query does not support multiple fields');
      field = k;
      values = v.map((el: unknown) => {
        if (el === null || el === undefined) throw illegalArgument('No value specified for terms query');
        if (!isScalar(el)) throw parsingError(`[terms] query does not support [${tokenName(el)}] values`);
        return el;
      });
    } else if (isObject(v)) {
      throw unsupported('[terms] lookup (values from another document)');
    } else if (isScalar(v)) {
      if (k === 'boost') readBoost(v, 'terms');
      else if (k !== '_name' && k !== 'value_type') throw parsingError(`[terms] query does not support [${k}]`);
    } else {
      throw parsingError(`[terms] unknown token [${tokenName(v)}] after [${k}]`);
    }
  }
  if (field === undefined) {
    throw parsingError('[terms] query requires a field name, followed by array of terms or a document lookup specification');
  }
  const ref = fieldRef(field);
  const set = termSet(values);
  return (ctx) => scalarsAt(ctx, ref.path).some((d) => set.has(d, ref.raw));
}

/**
 * `termEquals(d, q, raw, false)` for any q of a list, by lookups instead of a scan of the list, so
 * a long terms list costs the same per value as a short one.
 */
function termSet(values: readonly Scalar[]): { has(d: Scalar, raw: boolean): boolean } {
  const strings = new Set(values.map(String));
  const numbers = new Set<number>();
  for (const q of values) {
    const n = typeof q === 'number' ? q : typeof q === 'string' ? numericString(q) : undefined;
    if (n !== undefined) numbers.add(n);
  }
  return {
    has(d, raw) {
      if (typeof d === 'number') return numbers.has(d);
      if (typeof d === 'boolean') return values.includes(d) || strings.has(String(d));
      return strings.has(d) || (!raw && tokens(d).some((t) => strings.has(t)));
    },
  };
}

/** `{"ids": {"values": ["id1", "id2"]}}` (ObjectParser: unknown keys are x_content errors). */
export function parseIds(body: JsonObject): Matcher {
  const ids = new Set<string>();
  for (const [k, v] of entries(body)) {
    if (k === 'values') {
      if (!Array.isArray(v)) throw xContentError(`[ids] values doesn't support values of type: ${tokenName(v)}`);
      for (const el of v as unknown[]) {
        if (!isScalar(el)) throw xContentError(`[ids] failed to parse field [values]`);
        ids.add(String(el));
      }
    } else if (k === 'boost') {
      readBoost(v, 'ids');
    } else if (k !== '_name') {
      throw xContentError(`[ids] unknown field [${k}]`);
    }
  }
  return (ctx) => ids.has(ctx.doc._id);
}

/** `{"exists": {"field": "f"}}`: a non-null value, or an object holding one. */
export function parseExists(body: JsonObject): Matcher {
  let field: string | undefined;
  for (const [k, v] of entries(body)) {
    if (!isScalar(v)) throw parsingError(`[exists] unknown token [${tokenName(v)}] after [${k}]`);
    if (k === 'field') field = readText(v, k);
    else if (k === 'boost') readBoost(v, 'exists');
    else if (k !== '_name') throw parsingError(`[exists] query does not support [${k}]`);
  }
  if (field === undefined) throw parsingError('[exists] must be provided with a [field]');
  const { path } = fieldRef(field);
  return (ctx) => nodesAt(ctx, path).some(hasValue);
}

/** prefix and wildcard: `{"kind": {"f": "v"}}` or `{"kind": {"f": {"value": "v", "case_insensitive": true}}}`. */
export function parseMultiTerm(kind: 'prefix' | 'wildcard', body: JsonObject): Matcher {
  let field: string | undefined;
  let value: string | undefined;
  let ci = false;
  const readValue = (v: unknown): string | undefined => {
    if (v === null) return undefined;
    if (!isScalar(v)) throw parsingError(`[${kind}] unknown token [${tokenName(v)}] after [${field ?? kind}]`);
    return String(v);
  };
  for (const [k, v] of entries(body)) {
    if (field !== undefined) throw multipleFields(kind, field, k);
    field = k;
    if (!isObject(v)) {
      value = readValue(v);
      continue;
    }
    for (const [pk, pv] of entries(v)) {
      if (pk === 'value' || (kind === 'wildcard' && pk === 'wildcard')) value = readValue(pv);
      else if (pk === 'case_insensitive') ci = readBool(pv, pk);
      else if (pk === 'boost') readBoost(pv, kind);
      else if (pk !== '_name' && pk !== 'rewrite') throw parsingError(`[${kind}] query does not support [${pk}]`);
    }
  }
  if (field === undefined || field === '') throw illegalArgument('field name is null or empty');
  if (value === undefined) throw illegalArgument('value cannot be null');
  const ref = fieldRef(field);
  const want = ci ? value.toLowerCase() : value;
  const test = kind === 'prefix' ? (s: string) => s.startsWith(want) : globTest(want, field);
  return (ctx) => scalarsAt(ctx, ref.path).some((d) => stringOrTokens(d, ref.raw, ci, test));
}

function globTest(pattern: string, field: string): (s: string) => boolean {
  const g = queryGlob(pattern, `the [wildcard] query on field [${field}]`);
  return (s) => g.matches(s);
}

function readScalar(kind: string, v: unknown): Scalar {
  if (isScalar(v)) return v;
  throw parsingError(`[${kind}] unknown token [${tokenName(v)}]`);
}
