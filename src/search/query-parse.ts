/**
 * Query DSL entry point: the `{"<type>": {...}}` envelope (checked as AbstractQueryBuilder's
 * parseInnerQueryBuilder does), the compound queries, and dispatch to the leaf parsers. Every
 * query compiles to a Matcher; scoring is not modelled, so boosts are validated and ignored.
 */
import { illegalArgument, parsingError, unsupported, xContentError } from './errors.js';
import { type EvalContext, type Matcher, nodesAt } from './fields.js';
import { parseRange } from './query-range.js';
import { parseQueryString } from './query-string.js';
import { parseExists, parseIds, parseMultiTerm, parseTerm, parseTerms } from './query-term.js';
import { minShould, parseMatch, parseMultiMatch } from './query-text.js';
import { type JsonObject, entries, isObject, isScalar, readBool, readBoost, readNumber, readText, tokenName } from './values.js';

export interface ParseEnv {
  /** `now` for date math, fixed once per request. */
  readonly now: number;
}

/** OpenSearch's default for indices.query.bool.max_nested_depth; also bounds our recursion. */
const MAX_DEPTH = 20;

type QueryParser = (body: JsonObject, env: ParseEnv, depth: number) => Matcher;

const PARSERS = new Map<string, QueryParser>([
  ['match_all', (b) => boostOnly('match_all', b, true, () => true)],
  ['match_none', (b) => boostOnly('match_none', b, false, () => false)],
  ['term', (b) => parseTerm(b)],
  ['terms', (b) => parseTerms(b)],
  ['ids', (b) => parseIds(b)],
  ['exists', (b) => parseExists(b)],
  ['prefix', (b) => parseMultiTerm('prefix', b)],
  ['wildcard', (b) => parseMultiTerm('wildcard', b)],
  ['range', (b, env) => parseRange(b, env.now)],
  ['match', (b) => parseMatch('match', b)],
  ['match_phrase', (b) => parseMatch('match_phrase', b)],
  ['match_phrase_prefix', (b) => parseMatch('match_phrase_prefix', b)],
  ['multi_match', (b) => parseMultiMatch(b)],
  ['query_string', (b) => parseQueryString(b)],
  ['bool', parseBool],
  ['nested', parseNested],
  ['constant_score', parseConstantScore],
  ['dis_max', parseDisMax],
  ['boosting', parseBoosting],
]);

/** Query types OpenSearch knows but this evaluator does not: refuse clearly instead of "unknown query". */
const KNOWN_UNSUPPORTED = new Set([
  'regexp',
  'fuzzy',
  'simple_query_string',
  'match_bool_prefix',
  'terms_set',
  'function_score',
  'script',
  'script_score',
  'geo_distance',
  'geo_bounding_box',
  'geo_polygon',
  'geo_shape',
  'more_like_this',
  'span_term',
  'span_near',
  'span_or',
  'span_not',
  'span_first',
  'span_multi',
  'span_containing',
  'span_within',
  'field_masking_span',
  'has_child',
  'has_parent',
  'parent_id',
  'intervals',
  'distance_feature',
  'wrapper',
  'knn',
  'neural',
  'neural_sparse',
  'hybrid',
  'percolate',
  'rank_feature',
  'combined_fields',
  'common',
  'template',
]);

export function parseQuery(q: unknown, env: ParseEnv, depth = 1): Matcher {
  if (!isObject(q)) throw parsingError('[_na] query malformed, must start with start_object');
  const keys = Object.keys(q);
  const name = keys[0];
  if (name === undefined) throw illegalArgument('query malformed, empty clause found');
  const body = q[name];
  if (!isObject(body)) throw parsingError(`[${name}] query malformed, no start_object after query name`);
  const parser = PARSERS.get(name);
  if (parser === undefined) {
    if (KNOWN_UNSUPPORTED.has(name)) throw unsupported(`the [${name}] query`);
    throw parsingError(`unknown query [${name}]`);
  }
  if (depth > MAX_DEPTH) {
    throw illegalArgument(
      'The nested depth of the query exceeds the maximum nested depth for queries set in [indices.query.bool.max_nested_depth]',
    );
  }
  const matcher = parser(body, env, depth);
  if (keys.length > 1) throw parsingError(`[${name}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]`);
  return matcher;
}

/** match_all / match_none: only boost and _name (match_all uses ObjectParser, hence its error type). */
function boostOnly(kind: string, body: JsonObject, objectParser: boolean, m: Matcher): Matcher {
  for (const [k, v] of entries(body)) {
    if (k === 'boost') readBoost(v, kind);
    else if (k === '_name') readText(v, k);
    else if (objectParser) throw xContentError(`[${kind}] unknown field [${k}]`);
    else throw parsingError(`[${kind}] query does not support [${k}]`);
  }
  return m;
}

/** A clause list: one query object, an array of them, or null. */
function clauseList(kind: string, key: string, v: unknown, env: ParseEnv, depth: number): Matcher[] {
  if (v === null) return [];
  if (isObject(v)) return [parseQuery(v, env, depth + 1)];
  if (Array.isArray(v)) return (v as unknown[]).map((q) => parseQuery(q, env, depth + 1));
  throw xContentError(`[${kind}] ${key} doesn't support values of type: ${tokenName(v)}`);
}

function parseBool(body: JsonObject, env: ParseEnv, depth: number): Matcher {
  const must: Matcher[] = [];
  const filter: Matcher[] = [];
  const should: Matcher[] = [];
  const mustNot: Matcher[] = [];
  let msm: string | undefined;
  for (const [k, v] of entries(body)) {
    switch (k) {
      case 'must':
        must.push(...clauseList('bool', k, v, env, depth));
        break;
      case 'filter':
        filter.push(...clauseList('bool', k, v, env, depth));
        break;
      case 'should':
        should.push(...clauseList('bool', k, v, env, depth));
        break;
      case 'must_not':
        mustNot.push(...clauseList('bool', k, v, env, depth));
        break;
      case 'minimum_should_match':
        if (v !== null && !isScalar(v)) throw xContentError(`[bool] ${k} doesn't support values of type: ${tokenName(v)}`);
        msm = v === null ? undefined : String(v);
        break;
      case 'adjust_pure_negative':
        readBool(v, k);
        break;
      case 'boost':
        readBoost(v, 'bool');
        break;
      case '_name':
        readText(v, k);
        break;
      default:
        throw xContentError(`[bool] unknown field [${k}]`);
    }
  }
  if (must.length + filter.length + should.length + mustNot.length === 0) return () => true;
  // Lucene: with no required clause, at least one should must match; minimum_should_match applies
  // even when there are no should clauses (then nothing matches).
  const shouldRequired = must.length + filter.length === 0 && should.length > 0;
  const need = Math.max(minShould(should.length, msm, shouldRequired ? 1 : 0), shouldRequired ? 1 : 0);
  return (ctx) => {
    if (!must.every((m) => m(ctx)) || !filter.every((m) => m(ctx)) || mustNot.some((m) => m(ctx))) return false;
    if (need === 0) return true;
    let hits = 0;
    for (const m of should) if (m(ctx) && ++hits >= need) return true;
    return false;
  };
}

/**
 * `nested`: the inner query must match within one element of the array at `path` (fields keep their
 * full dotted names). flowd has no mapping, so any object or array of objects can be queried so.
 */
function parseNested(body: JsonObject, env: ParseEnv, depth: number): Matcher {
  let path: string | undefined;
  let inner: Matcher | undefined;
  for (const [k, v] of entries(body)) {
    if (k === 'query') {
      if (!isObject(v)) throw parsingError(`[nested] query does not support [${k}]`);
      inner = parseQuery(v, env, depth + 1);
    } else if (k === 'inner_hits') {
      if (!isObject(v)) throw parsingError(`[nested] query does not support [${k}]`);
    } else if (k === 'path') {
      path = readText(v, k);
    } else if (k === 'score_mode') {
      const mode = readText(v, k);
      if (!['avg', 'sum', 'min', 'max', 'none'].includes(mode)) throw illegalArgument(`illegal score_mode [${mode}]`);
    } else if (k === 'ignore_unmapped') {
      readBool(v, k);
    } else if (k === 'boost') {
      readBoost(v, 'nested');
    } else if (k !== '_name') {
      throw parsingError(`[nested] query does not support [${k}]`);
    }
  }
  if (inner === undefined) throw parsingError("[nested] requires 'query' field");
  if (path === undefined) throw parsingError("[nested] requires 'path' field");
  const m = inner;
  const p = path;
  return (ctx) => nodesAt(ctx, p).some((el) => isObject(el) && m({ ...ctx, base: el, basePath: p } satisfies EvalContext));
}

function parseConstantScore(body: JsonObject, env: ParseEnv, depth: number): Matcher {
  let filter: Matcher | undefined;
  for (const [k, v] of entries(body)) {
    if (k === 'filter') {
      if (!isObject(v)) throw parsingError(`[constant_score] query does not support [${k}]`);
      filter = parseQuery(v, env, depth + 1);
    } else if (k === 'boost') {
      readBoost(v, 'constant_score');
    } else if (k !== '_name') {
      throw parsingError(`[constant_score] query does not support [${k}]`);
    }
  }
  if (filter === undefined) throw parsingError("[constant_score] requires a 'filter' element");
  return filter;
}

function parseDisMax(body: JsonObject, env: ParseEnv, depth: number): Matcher {
  const queries: Matcher[] = [];
  for (const [k, v] of entries(body)) {
    if (k === 'queries') {
      if (!isObject(v) && !Array.isArray(v)) throw parsingError(`[dis_max] query does not support [${k}]`);
      queries.push(...clauseList('dis_max', k, v, env, depth));
    } else if (k === 'tie_breaker') {
      readNumber(v, k);
    } else if (k === 'boost') {
      readBoost(v, 'dis_max');
    } else if (k !== '_name') {
      throw parsingError(`[dis_max] query does not support [${k}]`);
    }
  }
  if (queries.length === 0) throw parsingError("[dis_max] requires 'queries' field with at least one clause");
  return (ctx) => queries.some((m) => m(ctx));
}

/** `boosting`: the negative query only lowers scores, so matching is the positive query's. */
function parseBoosting(body: JsonObject, env: ParseEnv, depth: number): Matcher {
  let positive: Matcher | undefined;
  let negative = false;
  let negativeBoost = -1;
  for (const [k, v] of entries(body)) {
    if ((k === 'positive' || k === 'negative') && !isObject(v)) {
      throw parsingError(`[boosting] query does not support [${k}]`);
    }
    if (k === 'positive') positive = parseQuery(v, env, depth + 1);
    else if (k === 'negative') negative = parseQuery(v, env, depth + 1) !== undefined;
    else if (k === 'negative_boost') negativeBoost = readNumber(v, k);
    else if (k === 'boost') readBoost(v, 'boosting');
    else if (k !== '_name') throw parsingError(`[boosting] query does not support [${k}]`);
  }
  if (positive === undefined) throw parsingError("[boosting] query requires 'positive' query");
  if (!negative) throw parsingError("[boosting] query requires 'negative' query");
  if (negativeBoost < 0) throw parsingError("[boosting] query requires 'negative_boost' to be set to be a positive value'");
  return positive;
}
