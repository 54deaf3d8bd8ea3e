/**
 * Full-text queries: match, match_phrase, match_phrase_prefix, multi_match. Query text and string
 * field values go through the same `tokens()` analysis; numbers and booleans compare as terms; a
 * `.keyword` field compares the whole raw string. Scoring-only parameters are accepted and ignored.
 */
import { searchError, illegalArgument, multipleFields, parsingError, unsupported } from './errors.js';
import {
  type EvalContext,
  type FieldRef,
  type Matcher,
  fieldRef,
  leafEntries,
  MAX_TOKEN_LENGTH,
  scalarsAt,
  termEquals,
  tokens,
} from './fields.js';
import { type Glob, queryGlob } from './glob.js';
import { chargeWork } from './work-meter.js';
import { type JsonObject, type Scalar, entries, isObject, isScalar, readBoost, readInt, readText, tokenName } from './values.js';

/** What a match-family query asks of one field's values. */
export interface TextSpec {
  readonly query: Scalar;
  readonly operator: 'or' | 'and';
  readonly minimumShouldMatch: string | undefined;
  readonly zeroTermsAll: boolean;
  /** undefined: bag of words (match); a number: phrase with this slop. */
  readonly slop: number | undefined;
  readonly prefixLast: boolean;
}

/** Parameters that only influence scoring or fuzzy expansion, which flowd does not do. */
const IGNORED = new Set([
  'analyzer',
  'fuzziness',
  'prefix_length',
  'max_expansions',
  'fuzzy_transpositions',
  'fuzzy_rewrite',
  'lenient',
  'auto_generate_synonyms_phrase_query',
  'cutoff_frequency',
  'tie_breaker',
  '_name',
]);

export function parseMatch(kind: 'match' | 'match_phrase' | 'match_phrase_prefix', body: JsonObject): Matcher {
  let field: string | undefined;
  let params: [string, unknown][] = [];
  for (const [k, v] of entries(body)) {
    if (field !== undefined) throw multipleFields(kind, field, k);
    field = k;
    if (isObject(v)) params = entries(v);
    else if (isScalar(v) || v === null) params = [['query', v]];
    else throw parsingError(`[${kind}] unknown token [${tokenName(v)}] after [${k}]`);
  }
  const phrase = kind !== 'match';
  let query: Scalar | undefined;
  let operator: 'or' | 'and' = 'or';
  let msm: string | undefined;
  let zeroTermsAll = false;
  let slop = 0;
  for (const [k, v] of params) {
    if (v !== null && !isScalar(v)) throw parsingError(`[${kind}] unknown token [${tokenName(v)}] after [${k}]`);
    if (k === 'query') query = v ?? undefined;
    else if (k === 'boost') readBoost(v, kind);
    else if (k === 'zero_terms_query') zeroTermsAll = readZeroTerms(v);
    else if (k === 'operator' && !phrase) operator = readOperator(v);
    else if (k === 'minimum_should_match' && !phrase) msm = v === null ? undefined : readText(v, k);
    else if (k === 'slop' && phrase) slop = readInt(v, k);
    else if (!IGNORED.has(k)) throw parsingError(`[${kind}] query does not support [${k}]`);
  }
  if (phrase && field === undefined) throw illegalArgument(`[${kind}] requires fieldName`);
  if (query === undefined) {
    throw phrase ? illegalArgument(`[${kind}] requires query value`) : parsingError('No text specified for text query');
  }
  if (slop < 0) throw illegalArgument('No negative slop allowed.');
  const spec: TextSpec = {
    query,
    operator,
    minimumShouldMatch: msm,
    zeroTermsAll,
    slop: phrase ? slop : undefined,
    prefixLast: kind === 'match_phrase_prefix',
  };
  return textMatcher([fieldSpec(field ?? '')], spec, false);
}

export function parseMultiMatch(body: JsonObject): Matcher {
  let query: Scalar | undefined;
  let fields: string[] = ['*'];
  let type = 'best_fields';
  let operator: 'or' | 'and' = 'or';
  let msm: string | undefined;
  let zeroTermsAll = false;
  let slop = 0;
  for (const [k, v] of entries(body)) {
    if (k === 'fields') {
      const list: unknown[] = Array.isArray(v) ? v : [v];
      fields = list.map((f) => readText(f, 'fields'));
      continue;
    }
    if (v !== null && !isScalar(v)) throw parsingError(`[multi_match] unknown token [${tokenName(v)}] after [${k}]`);
    if (k === 'query') query = v ?? undefined;
    else if (k === 'type') type = v === null ? type : readText(v, k).toLowerCase();
    else if (k === 'operator') operator = readOperator(v);
    else if (k === 'minimum_should_match') msm = v === null ? undefined : readText(v, k);
    else if (k === 'zero_terms_query') zeroTermsAll = readZeroTerms(v);
    else if (k === 'slop') slop = readInt(v, k);
    else if (k === 'boost') readBoost(v, 'multi_match');
    else if (!IGNORED.has(k)) throw parsingError(`[multi_match] query does not support [${k}]`);
  }
  if (query === undefined) throw illegalArgument('No text specified for multi_match query');
  if (!['best_fields', 'most_fields', 'cross_fields', 'phrase', 'phrase_prefix'].includes(type)) {
    if (type === 'bool_prefix') throw unsupported('[multi_match] type [bool_prefix]');
    throw searchError('parse_exception', `failed to parse [multi_match] query type [${type}]. unknown type.`);
  }
  const phrase = type === 'phrase' || type === 'phrase_prefix';
  const spec: TextSpec = {
    query,
    operator,
    minimumShouldMatch: msm,
    zeroTermsAll,
    slop: phrase ? slop : undefined,
    prefixLast: type === 'phrase_prefix',
  };
  return textMatcher(fields.map(fieldSpec), spec, type === 'cross_fields');
}

/** A field as written in a full-text query: `name^2` boosts are dropped, `*` patterns expand over the document. */
export interface FieldSpec {
  readonly ref: FieldRef;
  readonly glob: Glob | undefined;
}

export function fieldSpec(name: string): FieldSpec {
  const caret = name.lastIndexOf('^');
  const bare = caret > 0 && /^(?:\d+(?:\.\d+)?|\.\d+)$/.test(name.slice(caret + 1)) ? name.slice(0, caret) : name;
  const ref = fieldRef(bare);
  return { ref, glob: bare.includes('*') ? queryGlob(ref.path, 'a field name pattern', { question: false, escape: false }) : undefined };
}

export function valuesFor(ctx: EvalContext, f: FieldSpec): Scalar[] {
  if (f.glob === undefined) return scalarsAt(ctx, f.ref.path);
  if (f.ref.path === '*') return allScalars(ctx.base, []);
  const leaves: [string, Scalar][] = [];
  leafEntries(ctx.base, ctx.basePath, leaves);
  const g = f.glob;
  return leaves.filter(([p]) => g.matches(p)).map(([, v]) => v);
}

function allScalars(node: unknown, out: Scalar[]): Scalar[] {
  if (Array.isArray(node)) for (const el of node) allScalars(el, out);
  else if (isObject(node)) for (const k of Object.keys(node)) allScalars(node[k], out);
  else if (isScalar(node)) out.push(node);
  return out;
}

/** Matcher over several fields: any one field must satisfy the spec, or (crossFields) all fields as one. */
export function textMatcher(fields: readonly FieldSpec[], spec: TextSpec, crossFields: boolean): Matcher {
  const qTokens = tokens(String(spec.query));
  if (qTokens.length === 0) return () => spec.zeroTermsAll; // the analyzer removed everything
  // Each token is a clause to Lucene, which refuses a query of more than max_clause_count of them.
  if (qTokens.length > MAX_CLAUSE_COUNT) throw tooManyClauses();
  const required = spec.operator === 'and' ? qTokens.length : Math.max(1, minShould(qTokens.length, spec.minimumShouldMatch, 1));
  const q: QueryTerms = { tokens: qTokens, patterns: qTokens.map(tokenPattern), required };
  if (crossFields)
    return (ctx) =>
      fieldMatches(
        fields.flatMap((f) => valuesFor(ctx, f)),
        false,
        spec,
        q,
      );
  return (ctx) => fields.some((f) => fieldMatches(valuesFor(ctx, f), f.ref.raw, spec, q));
}

/** OpenSearch's indices.query.bool.max_clause_count default. */
const MAX_CLAUSE_COUNT = 1024;

const tooManyClauses = (): Error =>
  searchError('query_shard_exception', `failed to create query: maxClauseCount is set to ${MAX_CLAUSE_COUNT}`);

interface QueryTerms {
  readonly tokens: string[];
  /** Per token: "occurs as a whole token of the lowercased text", which equals `tokens(text).includes(t)`. */
  readonly patterns: RegExp[];
  readonly required: number;
}

/** Tokens hold only word characters, so they need no escaping; matching beats tokenizing every value. */
function tokenPattern(t: string): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}_])${t}(?![\\p{L}\\p{N}_])`, 'u');
}

/** A word the tokenizer splits: the patterns above see no token boundaries inside it. */
const LONG_WORD = new RegExp(`[\\p{L}\\p{N}_]{${MAX_TOKEN_LENGTH + 1}}`, 'u');

function fieldMatches(values: Scalar[], raw: boolean, spec: TextSpec, q: QueryTerms): boolean {
  const qTokens = q.tokens;
  // Numbers, booleans and keyword sub-fields are not analyzed: the whole query is one term.
  if (values.some((v) => (raw || typeof v !== 'string') && termEquals(v, spec.query, true, false))) return true;
  const strings = raw ? [] : values.filter((v): v is string => typeof v === 'string');
  if (spec.slop !== undefined) {
    const slop = spec.slop;
    return strings.some((s) => {
      const lower = s.toLowerCase();
      return qTokens.every((t) => lower.includes(t)) && phraseIn(tokens(s), qTokens, slop, spec.prefixLast);
    });
  }
  const lowered: string[] = [];
  const split: Array<Set<string>> = [];
  for (const v of strings) {
    const l = v.toLowerCase();
    if (l.length > MAX_TOKEN_LENGTH && LONG_WORD.test(l)) split.push(new Set(tokens(l)));
    else lowered.push(l);
  }
  let found = 0;
  for (let k = 0; k < qTokens.length; k++) {
    const re = q.patterns[k] as RegExp;
    const t = qTokens[k] as string;
    if ((lowered.some((v) => re.test(v)) || split.some((set) => set.has(t))) && ++found >= q.required) return true;
  }
  return false;
}

/**
 * The query tokens in order, with at most `slop` extra positions between them in total. For each
 * start, taking the earliest next occurrence of every token is optimal (it spends the least slop and
 * leaves the most room); all starts advance together one query token at a time, with a table of
 * next occurrences, so the work is O(doc × query tokens) instead of rescanning the document per start.
 */
function phraseIn(doc: string[], q: string[], slop: number, prefixLast: boolean): boolean {
  const hit = (tok: string, k: number): boolean => (prefixLast && k === q.length - 1 ? tok.startsWith(q[k] as string) : tok === q[k]);
  let starts: number[] = [];
  for (let i = 0; i < doc.length; i++) if (hit(doc[i] as string, 0)) starts.push(i);
  let positions = starts.slice();
  const next = new Int32Array(doc.length + 1);
  for (let k = 1; k < q.length && starts.length > 0; k++) {
    chargeWork(doc.length);
    next[doc.length] = -1;
    for (let j = doc.length - 1; j >= 0; j--) next[j] = hit(doc[j] as string, k) ? j : (next[j + 1] as number);
    const keptStarts: number[] = [];
    const keptPositions: number[] = [];
    for (let s = 0; s < starts.length; s++) {
      const start = starts[s] as number;
      const j = next[(positions[s] as number) + 1] as number;
      // positions only ever move right, so a start that finds no next token ends every later one too
      if (j < 0) break;
      if (j - start - k > slop) continue; // gaps so far: positions spanned minus tokens placed
      keptStarts.push(start);
      keptPositions.push(j);
    }
    starts = keptStarts;
    positions = keptPositions;
  }
  return starts.length > 0;
}

/**
 * Lucene's Queries.calculateMinShouldMatch: an integer, a percentage, negative forms, and
 * conditional specs like `3<90%`. `fallback` applies when no spec was given.
 */
export function minShould(optional: number, spec: string | undefined, fallback: number): number {
  if (spec === undefined) return fallback;
  const s = spec.trim();
  if (s.includes('<')) {
    let result = optional;
    // trim around each '<' without a regex: `\s*<\s*` backtracks quadratically over long blank runs
    for (const part of s
      .split('<')
      .map((p) => p.trim())
      .join('<')
      .split(/\s+/)) {
      const [upper, rest] = part.split('<');
      if (optional <= javaInt(upper ?? '')) return result;
      result = minShould(optional, rest ?? '', fallback);
    }
    return result;
  }
  let result: number;
  if (s.includes('%')) {
    const calc = Math.trunc((optional * javaInt(s.slice(0, -1))) / 100);
    result = calc < 0 ? optional + calc : calc;
  } else {
    const calc = javaInt(s);
    result = calc < 0 ? optional + calc : calc;
  }
  return Math.max(0, result);
}

function javaInt(s: string): number {
  const n = /^[+-]?\d{1,10}$/.test(s) ? Number(s) : NaN;
  if (!Number.isInteger(n) || n > 2147483647 || n < -2147483648) {
    throw searchError('number_format_exception', `For input string: "${s}"`);
  }
  return n;
}

export function readOperator(v: unknown): 'or' | 'and' {
  const s = readText(v, 'operator').toUpperCase();
  if (s === 'OR' || s === 'AND') return s === 'OR' ? 'or' : 'and';
  throw illegalArgument(`No enum constant org.opensearch.index.query.Operator.${s}`);
}

function readZeroTerms(v: unknown): boolean {
  const s = readText(v, 'zero_terms_query').toLowerCase();
  if (s === 'none' || s === 'all') return s === 'all';
  throw parsingError(`Unsupported zero_terms_query value [${String(v)}]`);
}
