/**
 * The search request body: SearchSourceBuilder.parseXContent's checks and messages, giving the
 * compiled queries, paging, sorting and fetch options the evaluator runs with.
 */
import { searchError, illegalArgument, parsingError, unsupported } from './errors.js';
import type { Matcher } from './fields.js';
import { type ParseEnv, parseQuery } from './query-parse.js';
import { type SortKey, parseSort } from './sort.js';
import { type SourceSpec, parseSourceSpec } from './source-filter.js';
import { entries, isObject, readBool, readInt, readNumber, readText, tokenName } from './values.js';

const MAX_RESULT_WINDOW = 10000;
const DEFAULT_TRACK_TOTAL_HITS = 10000;

export interface SearchRequest {
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
  /** `timeout` in ms; undefined: none (-1). */
  timeoutMs: number | undefined;
}

/** Top-level keys OpenSearch accepts that would change the response in ways flowd cannot reproduce. */
const UNSUPPORTED_KEYS = new Set([
  'aggs',
  'aggregations',
  'suggest',
  'rescore',
  'collapse',
  'slice',
  'pit',
  'script_fields',
  'derived',
  'highlight',
  'docvalue_fields',
  'fields',
  'indices_boost',
  'search_pipeline',
]);

/** SearchSourceBuilder.parseXContent: each key is accepted only with the token types OpenSearch allows. */
export function parseRequest(body: unknown, env: ParseEnv): SearchRequest {
  const req: SearchRequest = {
    query: undefined,
    postFilter: undefined,
    from: 0,
    size: 10,
    sort: undefined,
    searchAfter: undefined,
    source: undefined,
    storedFields: false,
    trackTotalHits: DEFAULT_TRACK_TOTAL_HITS,
    trackScores: false,
    version: false,
    seqNoPrimaryTerm: false,
    minScore: undefined,
    terminateAfter: 0,
    timeoutMs: undefined,
  };
  if (body === undefined || body === null) return req; // no body: match_all
  if (!isObject(body)) throw parsingError(`Expected [START_OBJECT] but found [${tokenName(body)}]`);
  for (const [k, v] of entries(body)) {
    const token = tokenName(v);
    const unknownKey = () => parsingError(`Unknown key for a ${token} in [${k}].`);
    if (token === 'VALUE_STRING' || token === 'VALUE_NUMBER' || token === 'VALUE_BOOLEAN') {
      switch (k) {
        case 'from':
          req.from = nonNegative(k, readInt(v, k));
          break;
        case 'size':
          req.size = nonNegative(k, readInt(v, k));
          break;
        case 'timeout':
          req.timeoutMs = parseTimeout(readText(v, k));
          break;
        case 'terminate_after':
          req.terminateAfter = readInt(v, k);
          if (req.terminateAfter < 0) throw illegalArgument('terminateAfter must be > 0');
          break;
        case 'min_score':
          req.minScore = readNumber(v, k);
          break;
        case 'version':
          req.version = readBool(v, k);
          break;
        case 'seq_no_primary_term':
          req.seqNoPrimaryTerm = readBool(v, k);
          break;
        case 'track_scores':
          req.trackScores = readBool(v, k);
          break;
        case 'explain':
        case 'profile':
        case 'include_named_queries_score':
        case 'verbose_pipeline':
          readBool(v, k);
          break;
        case 'track_total_hits':
          req.trackTotalHits = parseTrackTotalHits(v);
          break;
        case '_source':
          req.source = parseSourceSpec(v);
          break;
        case 'stored_fields':
          req.storedFields = true;
          break;
        case 'sort':
          req.sort = parseSort(v, env);
          break;
        default:
          throw UNSUPPORTED_KEYS.has(k) ? unsupported(`[${k}]`) : unknownKey();
      }
    } else if (token === 'START_OBJECT') {
      switch (k) {
        case 'query':
          req.query = parseQuery(v, env);
          break;
        case 'post_filter':
          req.postFilter = parseQuery(v, env);
          break;
        case '_source':
          req.source = parseSourceSpec(v);
          break;
        case 'sort':
          req.sort = parseSort(v, env);
          break;
        case 'ext':
          break; // plugin sections; none of them changes flowd's hits
        default:
          throw UNSUPPORTED_KEYS.has(k) ? unsupported(`[${k}]`) : unknownKey();
      }
    } else if (token === 'START_ARRAY') {
      const list = v as unknown[];
      switch (k) {
        case 'sort':
          req.sort = parseSort(v, env);
          break;
        case '_source':
          req.source = parseSourceSpec(v);
          break;
        case 'search_after':
          req.searchAfter = list;
          break;
        case 'stored_fields':
          list.forEach((f) => readText(f, k));
          req.storedFields = true;
          break;
        case 'stats':
          for (const s of list) {
            if (typeof s !== 'string') throw parsingError(`Expected [VALUE_STRING] in [stats] but found [${tokenName(s)}]`);
          }
          break;
        default:
          throw UNSUPPORTED_KEYS.has(k) ? unsupported(`[${k}]`) : unknownKey();
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

const TIME_UNITS_MS: Record<string, number> = { nanos: 1e-6, micros: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 };

/** TimeValue.parseTimeValue for `timeout`: ms, or undefined for -1 (no timeout). */
function parseTimeout(s: string): number | undefined {
  const t = s.trim().toLowerCase();
  if (t === '-1') return undefined;
  if (t === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)$/.exec(t);
  if (m === null) {
    throw searchError(
      'parse_exception',
      `failed to parse setting [timeout] with value [${s}] as a time value: unit is missing or unrecognized`,
    );
  }
  return Number(m[1]) * (TIME_UNITS_MS[m[2] as string] ?? 1);
}
