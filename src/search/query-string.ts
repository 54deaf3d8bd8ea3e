/**
 * A small subset of the `query_string` syntax: `term`, `field:term`, `field:"a phrase"`, `*`/`?`
 * wildcards, `field:*` and `_exists_:field`, `+`/`-`/`NOT` prefixes and `AND`/`OR` between terms.
 * Groups, ranges, boosts, fuzziness and regexps are refused rather than misread.
 */
import { parsingError, unsupported } from './errors.js';
import { type Matcher, stringOrTokens } from './fields.js';
import { queryGlob } from './glob.js';
import { type FieldSpec, fieldSpec, readOperator, textMatcher, valuesFor } from './query-text.js';
import { type JsonObject, entries, isScalar, readBoost, readText, tokenName } from './values.js';

type Occur = 'must' | 'should' | 'must_not';

interface Clause {
  occur: Occur;
  /** Set by an explicit `+`/`-`/NOT, which AND/OR must not override. */
  explicit: boolean;
  matcher: Matcher;
}

const IGNORED = new Set([
  'analyzer',
  'quote_analyzer',
  'allow_leading_wildcard',
  'analyze_wildcard',
  'auto_generate_synonyms_phrase_query',
  'enable_position_increments',
  'fuzziness',
  'fuzzy_max_expansions',
  'fuzzy_prefix_length',
  'fuzzy_transpositions',
  'fuzzy_rewrite',
  'lenient',
  'max_determinized_states',
  'phrase_slop',
  'quote_field_suffix',
  'rewrite',
  'time_zone',
  'type',
  'tie_breaker',
  'escape',
  '_name',
]);

export function parseQueryString(body: JsonObject): Matcher {
  let query: string | undefined;
  let fields: string[] | undefined;
  let defaultField = '*';
  let defaultAnd = false;
  for (const [k, v] of entries(body)) {
    if (k === 'fields') {
      if (!Array.isArray(v)) throw parsingError(`[query_string] query does not support [${k}]`);
      fields = (v as unknown[]).map((f) => readText(f, k));
      continue;
    }
    if (v !== null && !isScalar(v)) throw parsingError(`[query_string] unknown token [${tokenName(v)}] after [${k}]`);
    if (k === 'query') query = v === null ? undefined : readText(v, k);
    else if (k === 'default_field') defaultField = readText(v, k);
    else if (k === 'default_operator') defaultAnd = readOperator(v) === 'and';
    else if (k === 'boost') readBoost(v, 'query_string');
    else if (!IGNORED.has(k)) throw parsingError(`[query_string] query does not support [${k}]`);
  }
  if (query === undefined) throw parsingError('[query_string] must be provided with a [query]');
  const defaults = (fields ?? [defaultField]).map(fieldSpec);
  const clauses = parseClauses(query, defaults, defaultAnd);
  const must = clauses.filter((c) => c.occur === 'must').map((c) => c.matcher);
  const should = clauses.filter((c) => c.occur === 'should').map((c) => c.matcher);
  const mustNot = clauses.filter((c) => c.occur === 'must_not').map((c) => c.matcher);
  if (clauses.length === 0) return () => false;
  return (ctx) =>
    must.every((m) => m(ctx)) && !mustNot.some((m) => m(ctx)) && (must.length > 0 || should.length === 0 || should.some((m) => m(ctx)));
}

function parseClauses(q: string, defaults: FieldSpec[], defaultAnd: boolean): Clause[] {
  const clauses: Clause[] = [];
  let conj: 'AND' | 'OR' | undefined;
  let negateNext = false;
  for (const word of splitWords(q)) {
    if (word === 'AND' || word === '&&' || word === 'OR' || word === '||') {
      conj = word === 'AND' || word === '&&' ? 'AND' : 'OR';
      continue;
    }
    if (word === 'NOT') {
      negateNext = true;
      continue;
    }
    let text = word;
    let occur: Occur = defaultAnd ? 'must' : 'should';
    let explicit = false;
    if (text.startsWith('+') || text.startsWith('-') || text.startsWith('!')) {
      occur = text.startsWith('+') ? 'must' : 'must_not';
      explicit = true;
      text = text.slice(1);
    }
    if (negateNext) {
      occur = 'must_not';
      explicit = true;
      negateNext = false;
    }
    const clause: Clause = { occur, explicit, matcher: termMatcher(text, defaults) };
    const prev = clauses.at(-1);
    if (conj !== undefined && prev !== undefined) {
      const joined: Occur = conj === 'AND' ? 'must' : 'should';
      if (!prev.explicit) prev.occur = joined;
      if (!clause.explicit) clause.occur = joined;
    }
    conj = undefined;
    clauses.push(clause);
  }
  return clauses;
}

/** Split on whitespace outside quotes; backslash escapes are kept for termMatcher to interpret. */
function splitWords(q: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < q.length; i++) {
    const c = q[i] as string;
    if (c === '\\' && i + 1 < q.length) {
      cur += c + (q[i + 1] as string);
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      cur += c;
    } else if (!quoted && /\s/.test(c)) {
      if (cur !== '') words.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  if (quoted) throw parsingError(`Failed to parse query [${q}]: unterminated phrase`);
  if (cur !== '') words.push(cur);
  return words;
}

/** One `[field:]value` word. */
function termMatcher(word: string, defaults: FieldSpec[]): Matcher {
  const colon = unescapedIndex(word, ':');
  const field = colon > 0 ? unescape(word.slice(0, colon)) : undefined;
  const value = colon > 0 ? word.slice(colon + 1) : word;
  const specs = field === undefined ? defaults : [fieldSpec(field)];
  if (field === '_exists_') {
    const target = fieldSpec(unescape(value));
    return (ctx) => valuesFor(ctx, target).length > 0;
  }
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
    return textMatcher(specs, phraseSpec(unescape(value.slice(1, -1)), 0), false);
  }
  for (const bad of ['(', ')', '[', ']', '{', '}', '^', '~', '/', '"']) {
    if (unescapedIndex(value, bad) >= 0) unsupportedSyntax(word);
  }
  if (value === '*') return (ctx) => specs.some((s) => valuesFor(ctx, s).length > 0);
  if (value === '') unsupportedSyntax(word);
  if (unescapedIndex(value, '*') >= 0 || unescapedIndex(value, '?') >= 0) {
    // wildcard terms are not analyzed, but OpenSearch normalizes them to lowercase for text fields
    const glob = queryGlob(value.toLowerCase(), 'a [query_string] query term');
    const test = (s: string): boolean => glob.matches(s);
    return (ctx) => specs.some((s) => valuesFor(ctx, s).some((v) => stringOrTokens(v, s.ref.raw, true, test)));
  }
  return textMatcher(specs, phraseSpec(unescape(value), undefined), false);
}

function phraseSpec(query: string, slop: number | undefined) {
  return { query, operator: 'or' as const, minimumShouldMatch: undefined, zeroTermsAll: false, slop, prefixLast: false };
}

function unsupportedSyntax(word: string): never {
  throw unsupported(`query_string syntax beyond terms, phrases, wildcards and AND/OR/NOT (in [${word}])`);
}

function unescapedIndex(s: string, ch: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === ch) return i;
  }
  return -1;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/gs, '$1');
}
