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
 * - `regexp` queries and `/regex/` in query_string are refused (no user regex is ever run here).
 * Unsupported features (aggregations, highlight, scripts, ...) are refused with a 400, never ignored
 * when ignoring would change the hits. Bad input only ever throws a search error (search/errors.ts).
 *
 * Cost: every matcher is linear in the values it reads (times the pattern's width for wildcards),
 * `searchDocuments` yields to the event loop between slices of documents, and a work meter stops a
 * search past its `timeout`, or one slice past MAX_STALL_MS, answering `timed_out: true`.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { illegalArgument } from './errors.js';
import { type Matcher, rootContext } from './fields.js';
import { type ParseEnv, parseQuery } from './query-parse.js';
import { type SearchRequest, parseRequest } from './search-request.js';
import { type SortKey, type SortValue, compareTuples, parseSearchAfter, sortValue } from './sort.js';
import { SourceFilter } from './source-filter.js';
import type { SearchDoc, SearchHit, SearchOptions, SearchResponse } from './types.js';
import { isObject } from './values.js';
import { SearchTimedOut, WorkMeter, metered } from './work-meter.js';

export { searchError, searchErrorType } from './errors.js';
export type { SearchDoc, SearchHit, SearchOptions, SearchResponse } from './types.js';

/** searchDocuments gives the event loop a turn after this much evaluation. */
const YIELD_AFTER_MS = 10;
/**
 * The longest one slice may hold the event loop (one huge document against a huge query): past it
 * the search stops with `timed_out: true` rather than stall every other request on the node.
 */
export const MAX_STALL_MS = 500;

/** Evaluate a search synchronously (a `timeout` in the body still applies). */
export function executeSearch(docs: Iterable<SearchDoc>, body: unknown, opts: SearchOptions): SearchResponse {
  const run = new SearchRun(body, opts);
  run.openSlice(Number.POSITIVE_INFINITY);
  for (const doc of docs) if (!run.consume(doc)) break;
  const hits: SearchHit[] = [];
  for (const m of run.page()) {
    const hit = run.hit(m);
    if (hit === undefined) break;
    hits.push(hit);
  }
  return run.response(hits);
}

/**
 * Evaluate a search without holding the event loop: documents and hits are processed in slices of
 * about YIELD_AFTER_MS, with a turn of the event loop between slices, so other requests (and the
 * instances' heartbeats) are served while a large search runs.
 */
export async function searchDocuments(docs: Iterable<SearchDoc>, body: unknown, opts: SearchOptions): Promise<SearchResponse> {
  const run = new SearchRun(body, opts);
  let sliceStart = run.openSlice(MAX_STALL_MS);
  for (const doc of docs) {
    if (!run.consume(doc)) break;
    if (performance.now() - sliceStart >= YIELD_AFTER_MS) {
      await nextTurn();
      sliceStart = run.openSlice(MAX_STALL_MS);
    }
  }
  const hits: SearchHit[] = [];
  for (const m of run.page()) {
    const hit = run.hit(m);
    if (hit === undefined) break;
    hits.push(hit);
    if (performance.now() - sliceStart >= YIELD_AFTER_MS) {
      await nextTurn();
      sliceStart = run.openSlice(MAX_STALL_MS);
    }
  }
  return run.response(hits);
}

interface Match {
  doc: SearchDoc;
  tuple: SortValue[];
  index: number;
}

/** One search: the parsed request, then documents fed one at a time, then the page of hits. */
class SearchRun {
  readonly #started = performance.now();
  readonly #opts: SearchOptions;
  readonly #req: SearchRequest;
  readonly #filter: Matcher | undefined;
  readonly #sortKeys: SortKey[];
  readonly #sorting: boolean;
  readonly #after: SortValue[] | undefined;
  /** Fields hidden from the caller's `_source` are hidden from its queries and sorts too. */
  readonly #hidden: SourceFilter | undefined;
  readonly #sourceFilter: SourceFilter;
  readonly #deadline: number;
  readonly #meter = new WorkMeter(Number.POSITIVE_INFINITY);
  #matched: Match[] = [];
  #index = 0;
  #total = 0;
  #terminatedEarly: boolean | undefined;
  #timedOut = false;

  constructor(body: unknown, opts: SearchOptions) {
    this.#opts = opts;
    const env: ParseEnv = { now: Date.now() };
    this.#req = parseRequest(body, env);
    this.#filter = opts.filter === undefined ? undefined : parseQuery(opts.filter, env);
    this.#sortKeys = this.#req.sort ?? [];
    // A lone `_score desc` is OpenSearch's default order, not a sort: no `sort` values on hits.
    const [first] = this.#sortKeys;
    this.#sorting = this.#sortKeys.length > 0 && !(this.#sortKeys.length === 1 && first?.kind === 'score' && first.desc);
    this.#after = this.#req.searchAfter === undefined ? undefined : parseSearchAfter(this.#req.searchAfter, this.#sortKeys);
    if (this.#after !== undefined && this.#req.from > 0) {
      throw illegalArgument('`from` parameter must be set to 0 when `search_after` is used.');
    }
    const excludes = opts.excludes ?? [];
    this.#hidden = excludes.length === 0 ? undefined : new SourceFilter([], excludes);
    this.#sourceFilter = new SourceFilter(this.#req.source?.includes ?? [], [...(this.#req.source?.excludes ?? []), ...excludes]);
    this.#deadline = this.#req.timeoutMs === undefined ? Number.POSITIVE_INFINITY : this.#started + this.#req.timeoutMs;
  }

  /** Start a slice of work that may last `maxMs` (within the request's own timeout); returns its start. */
  openSlice(maxMs: number): number {
    const now = performance.now();
    this.#meter.deadline = Math.min(this.#deadline, now + maxMs);
    return now;
  }

  /** Evaluate one document; false once the search has timed out. */
  consume(doc: SearchDoc): boolean {
    return this.#metered(() => {
      this.#meter.check();
      const i = this.#index++;
      const full = rootContext(doc, this.#opts.index);
      if (this.#filter !== undefined && !this.#filter(full)) return;
      const ctx =
        this.#hidden === undefined
          ? full
          : rootContext({ ...doc, _source: isObject(doc._source) ? this.#hidden.apply(doc._source) : {} }, this.#opts.index);
      const { query, postFilter } = this.#req;
      if (query !== undefined && !query(ctx)) return;
      if (postFilter !== undefined && !postFilter(ctx)) return;
      const tuple = this.#after !== undefined || this.#sorting ? this.#sortKeys.map((k) => sortValue(k, ctx, i)) : [];
      this.#matched.push({ doc, tuple, index: i });
    });
  }

  /** The matches on the requested page, in order (call once, after the last document). */
  page(): Match[] {
    const req = this.#req;
    const sortKeys = this.#sortKeys;
    const after = this.#after;
    let matched = this.#matched;
    if (req.minScore !== undefined && req.minScore > 1) matched = []; // every score is 1.0
    if (req.terminateAfter > 0) {
      this.#terminatedEarly = matched.length > req.terminateAfter;
      matched = matched.slice(0, req.terminateAfter);
    }
    // A search that ran out of time reports what it collected, not the index's count.
    this.#total = this.#timedOut ? matched.length : (this.#opts.knownTotal ?? matched.length);
    if (this.#sorting) matched.sort((a, b) => compareTuples(a.tuple, b.tuple, sortKeys) || a.index - b.index);
    if (after !== undefined) matched = matched.filter((m) => compareTuples(m.tuple, after, sortKeys) > 0);
    return matched.slice(req.from, req.from + req.size);
  }

  /** One hit in OpenSearch's key order; undefined once the search has timed out. */
  hit({ doc, tuple }: Match): SearchHit | undefined {
    const req = this.#req;
    const withScores = !this.#sorting || req.trackScores || this.#sortKeys.some((k) => k.kind === 'score');
    const hit: SearchHit = {
      _index: this.#opts.index,
      _id: doc._id,
      ...(req.version ? { _version: doc._version ?? 1 } : {}),
      ...(req.seqNoPrimaryTerm && doc._seq_no !== undefined ? { _seq_no: doc._seq_no, _primary_term: doc._primary_term ?? 1 } : {}),
      _score: withScores ? 1.0 : null,
    };
    const fetchSource = req.source?.fetch ?? !req.storedFields;
    if (fetchSource && !this.#metered(() => void (hit._source = isObject(doc._source) ? this.#sourceFilter.apply(doc._source) : {}))) {
      return undefined;
    }
    if (this.#sorting) hit.sort = tuple;
    return hit;
  }

  response(hits: SearchHit[]): SearchResponse {
    const req = this.#req;
    const total = this.#total;
    const hasScores = total > 0 && req.size > 0 && (!this.#sorting || req.trackScores);
    const response: SearchResponse = {
      // measured here, after the query ran and the hits were built
      took: this.#opts.tookMs ?? Math.round(performance.now() - (this.#opts.startedAt ?? this.#started)),
      timed_out: this.#timedOut,
      ...(this.#terminatedEarly === undefined ? {} : { terminated_early: this.#terminatedEarly }),
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: { max_score: hasScores ? 1.0 : null, hits },
    };
    if (req.trackTotalHits >= 0) {
      const value = Math.min(total, req.trackTotalHits);
      response.hits = { total: { value, relation: total > value ? 'gte' : 'eq' }, ...response.hits };
    }
    return response;
  }

  /** Run `fn` under this search's meter; false (and the search marked timed out) when it ran out of time. */
  #metered(fn: () => void): boolean {
    if (this.#timedOut) return false;
    try {
      metered(this.#meter, fn);
      return true;
    } catch (e) {
      if (!(e instanceof SearchTimedOut)) throw e;
      this.#timedOut = true;
      return false;
    }
  }
}
