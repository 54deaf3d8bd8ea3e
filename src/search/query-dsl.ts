/**
 * In-memory evaluator of the OpenSearch search request DSL over JSON documents, answering with
 * OpenSearch's exact `SearchResponse` shape. flowd's `workflow/_search` and `workflow/state/_search`
 * call it with every stored template or state document.
 *
 * Deliberate simplifications (there is no mapping and no ranking):
 * - Every hit scores 1.0: `max_score` is 1.0 when there are hits, null when there are none. When
 *   sorting, `_score` and `max_score` are null (unless sorting by `_score` or `track_scores`) and
 *   each hit carries its `sort` values.
 * - A string is read both as keyword and as text: `term` matches the raw value or one of its
 *   lowercase tokens (lowercase + split on non-alphanumerics); `field.keyword` compares the raw
 *   value only. `match` analyzes the query the same way.
 * - Any object or array of objects can be queried with `nested`, and plain queries see inside
 *   nested arrays too (a real index would need the `nested` mapping and query respectively).
 * - Dates are epoch millis or ISO strings, in UTC; `range` supports date math.
 * Unsupported features (aggregations, highlight, scripts, ...) are refused with a 400, never ignored
 * when ignoring would change the hits. Bad input only ever throws SearchRequestError.
 */
import { SearchRequestError, illegalArgument, parsingError, unsupported } from './errors.js';
import { type Matcher, rootContext } from './fields.js';
import { type ParseEnv, parseQuery } from './query-parse.js';
import { type SortKey, type SortValue, compareTuples, parseSearchAfter, parseSort, sortValue } from './sort.js';
import { type SourceSpec, SourceFilter, parseSourceSpec } from './source-filter.js';
import type { SearchDoc, SearchHit, SearchOptions, SearchResponse } from './types.js';
import { entries, isObject, readBool, readInt, readNumber, readText, tokenName } from './values.js';

export { SearchRequestError } from './errors.js';
export type { SearchDoc, SearchHit, SearchOptions, SearchResponse } from './types.js';

const MAX_RESULT_WINDOW = 10000;
const DEFAULT_TRACK_TOTAL_HITS = 10000;

interface SearchRequest {
  query: Matcher | undefined;
  postFilter: Matcher | undefined;
  from: number;
  size: number;
  sort: SortKey[] | undefined;
  searchAfter: unknown[] | undefined;
  source: SourceSpec | undefined;
  storedFields: boolean;
  /** -1: disabled; Infinity: accurate. */
  trackTotalHits: number;
  trackScores: boolean;
  version: boolean;
  seqNoPrimaryTerm: boolean;
  minScore: number | undefined;
  terminateAfter: number;
}

/** Top-level keys OpenSearch accepts that would change the response in ways flowd cannot reproduce. */
const UNSUPPORTED_KEYS = new Set([
  'aggs', 'aggregations', 'suggest', 'rescore', 'collapse', 'slice', 'pit', 'script_fields', 'derived', 'highlight',
  'docvalue_fields', 'fields', 'indices_boost', 'search_pipeline',
]);

export function executeSearch(docs: Iterable<SearchDoc>, body: unknown, opts: SearchOptions): SearchResponse {
  const started = performance.now();
  const env: ParseEnv = { now: Date.now() };
  const req = parseRequest(body, env);
  const filter = opts.filter === undefined ? undefined : parseQuery(opts.filter, env);
  const sortKeys = req.sort ?? [];
  // A lone `_score desc` is OpenSearch's default order, not a sort: no `sort` values on hits.
  const sorting = sortKeys.length > 0 && !(sortKeys.length === 1 && sortKeys[0]?.kind === 'score' && sortKeys[0].desc);
  const after = req.searchAfter === undefined ? undefined : parseSearchAfter(req.searchAfter, sortKeys);
  if (after !== undefined && req.from > 0) {
    throw illegalArgument('`from` parameter must be set to 0 when `search_after` is used.');
  }

  let matched: { doc: SearchDoc; tuple: SortValue[]; index: number }[] = [];
  let index = 0;
  for (const doc of docs) {
    const ctx = rootContext(doc, opts.index);
    const i = index++;
    if (filter !== undefined && !filter(ctx)) continue;
    if (req.query !== undefined && !req.query(ctx)) continue;
    if (req.postFilter !== undefined && !req.postFilter(ctx)) continue;
    const tuple = after !== undefined || sorting ? sortKeys.map((k) => sortValue(k, ctx, i)) : [];
    matched.push({ doc, tuple, index: i });
  }
  if (req.minScore !== undefined && req.minScore > 1) matched = []; // every score is 1.0
  let terminatedEarly: boolean | undefined;
  if (req.terminateAfter > 0) {
    terminatedEarly = matched.length > req.terminateAfter;
    matched = matched.slice(0, req.terminateAfter);
  }
  const total = matched.length;
  if (sorting) matched.sort((a, b) => compareTuples(a.tuple, b.tuple, sortKeys) || a.index - b.index);
  if (after !== undefined) matched = matched.filter((m) => compareTuples(m.tuple, after, sortKeys) > 0);

  const fetchSource = req.source?.fetch ?? !req.storedFields;
  const sourceFilter = new SourceFilter(req.source?.includes ?? [], [...(req.source?.excludes ?? []), ...(opts.excludes ?? [])]);
  const withScores = !sorting || req.trackScores || sortKeys.some((k) => k.kind === 'score');
  const hits = matched.slice(req.from, req.from + req.size).map(({ doc, tuple }): SearchHit => {
    // built in OpenSearch's key order: _index, _id, _version, _seq_no, _primary_term, _score, _source, sort
    const hit: SearchHit = {
      _index: opts.index,
      _id: doc._id,
      ...(req.version ? { _version: doc._version ?? 1 } : {}),
      ...(req.seqNoPrimaryTerm && doc._seq_no !== undefined
        ? { _seq_no: doc._seq_no, _primary_term: doc._primary_term ?? 1 }
        : {}),
      _score: withScores ? 1.0 : null,
    };
    if (fetchSource) hit._source = isObject(doc._source) ? sourceFilter.apply(doc._source) : {};
    if (sorting) hit.sort = tuple;
    return hit;
  });

  const hasScores = total > 0 && req.size > 0 && (!sorting || req.trackScores);
  const response: SearchResponse = {
    took: opts.tookMs ?? Math.round(performance.now() - started),
    timed_out: false,
    ...(terminatedEarly === undefined ? {} : { terminated_early: terminatedEarly }),
    _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
    hits: { max_score: hasScores ? 1.0 : null, hits },
  };
  if (req.trackTotalHits >= 0) {
    const value = Math.min(total, req.trackTotalHits);
    response.hits = { total: { value, relation: total > value ? 'gte' : 'eq' }, ...response.hits };
  }
  return response;
}

/** SearchSourceBuilder.parseXContent: each key is accepted only with the token types OpenSearch allows. */
function parseRequest(body: unknown, env: ParseEnv): SearchRequest {
  const req: SearchRequest = {
    query: undefined, postFilter: undefined, from: 0, size: 10, sort: undefined, searchAfter: undefined,
    source: undefined, storedFields: false, trackTotalHits: DEFAULT_TRACK_TOTAL_HITS, trackScores: false,
    version: false, seqNoPrimaryTerm: false, minScore: undefined, terminateAfter: 0,
  };
  if (body === undefined || body === null) return req; // no body: match_all
  if (!isObject(body)) throw parsingError(`Expected [START_OBJECT] but found [${tokenName(body)}]`);
  for (const [k, v] of entries(body)) {
    const token = tokenName(v);
    const unknownKey = () => parsingError(`Unknown key for a ${token} in [${k}].`);
    if (token === 'VALUE_STRING' || token === 'VALUE_NUMBER' || token === 'VALUE_BOOLEAN') {
      switch (k) {
        case 'from': req.from = nonNegative(k, readInt(v, k)); break;
        case 'size': req.size = nonNegative(k, readInt(v, k)); break;
        case 'timeout': checkTimeValue(readText(v, k)); break;
        case 'terminate_after':
          req.terminateAfter = readInt(v, k);
          if (req.terminateAfter < 0) throw illegalArgument('terminateAfter must be > 0');
          break;
        case 'min_score': req.minScore = readNumber(v, k); break;
        case 'version': req.version = readBool(v, k); break;
        case 'seq_no_primary_term': req.seqNoPrimaryTerm = readBool(v, k); break;
        case 'track_scores': req.trackScores = readBool(v, k); break;
        case 'explain': case 'profile': case 'include_named_queries_score': case 'verbose_pipeline':
          readBool(v, k);
          break;
        case 'track_total_hits': req.trackTotalHits = parseTrackTotalHits(v); break;
        case '_source': req.source = parseSourceSpec(v); break;
        case 'stored_fields': req.storedFields = true; break;
        case 'sort': req.sort = parseSort(v, env); break;
        default: throw UNSUPPORTED_KEYS.has(k) ? unsupported(`[${k}]`) : unknownKey();
      }
    } else if (token === 'START_OBJECT') {
      switch (k) {
        case 'query': req.query = parseQuery(v, env); break;
        case 'post_filter': req.postFilter = parseQuery(v, env); break;
        case '_source': req.source = parseSourceSpec(v); break;
        case 'sort': req.sort = parseSort(v, env); break;
        case 'ext': break; // plugin sections; none of them changes flowd's hits
        default: throw UNSUPPORTED_KEYS.has(k) ? unsupported(`[${k}]`) : unknownKey();
      }
    } else if (token === 'START_ARRAY') {
      const list = v as unknown[];
      switch (k) {
        case 'sort': req.sort = parseSort(v, env); break;
        case '_source': req.source = parseSourceSpec(v); break;
        case 'search_after': req.searchAfter = list; break;
        case 'stored_fields':
          list.forEach((f) => readText(f, k));
          req.storedFields = true;
          break;
        case 'stats':
          for (const s of list) {
            if (typeof s !== 'string') throw parsingError(`Expected [VALUE_STRING] in [stats] but found [${tokenName(s)}]`);
          }
          break;
        default: throw UNSUPPORTED_KEYS.has(k) ? unsupported(`[${k}]`) : unknownKey();
      }
    } else {
      throw unknownKey();
    }
  }
  if (req.from + req.size > MAX_RESULT_WINDOW) {
    throw illegalArgument(
      `Result window is too large, from + size must be less than or equal to: [${MAX_RESULT_WINDOW}] but was [${req.from + req.size}]. ` +
        'See the scroll api for a more efficient way to request large data sets. ' +
        'This limit can be set by changing the [index.max_result_window] index level setting.',
    );
  }
  return req;
}

function nonNegative(field: string, n: number): number {
  if (n < 0) throw illegalArgument(`[${field}] parameter cannot be negative, found [${n}]`);
  return n;
}

/** true / false (or their strings) / an integer limit; -1 disables counting. */
function parseTrackTotalHits(v: unknown): number {
  if (typeof v === 'boolean' || v === 'true' || v === 'false') {
    return v === true || v === 'true' ? Number.POSITIVE_INFINITY : -1;
  }
  const n = readInt(v, 'track_total_hits');
  if (n < -1) throw illegalArgument(`[track_total_hits] parameter must be positive or equals to -1, got ${n}`);
  return n;
}

/** TimeValue.parseTimeValue: the value is ignored (searches are synchronous) but must be well-formed. */
function checkTimeValue(s: string): void {
  if (!/^(-1|0|\d+(\.\d+)?\s*(nanos|micros|ms|s|m|h|d))$/i.test(s.trim())) {
    throw new SearchRequestError(
      'parse_exception',
      `failed to parse setting [timeout] with value [${s}] as a time value: unit is missing or unrecognized`,
    );
  }
}
