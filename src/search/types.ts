/** Wire types of the search evaluator: the documents it reads and the `SearchResponse` it returns. */

export interface SearchDoc {
  _id: string;
  _source: Record<string, unknown>;
  _version?: number;
  _seq_no?: number;
  _primary_term?: number;
}

export interface SearchOptions {
  /** Reported as `_index` on every hit. */
  index: string;
  /**
   * Dotted paths (`*` wildcards allowed) always removed from `_source`, e.g. 'workflows.provision.nodes.user_inputs.credential', 'user'.
   * Like OpenSearch's field-level security, they do not exist for the caller's query, post_filter and sort either.
   */
  excludes?: string[];
  /** Extra filter query (an object in the same DSL) ANDed with the user's query, e.g. backend-role filtering; it sees the whole document. */
  filter?: unknown;
  /** Fixed `took` (tests); measured when absent. */
  tookMs?: number;
  /** performance.now() when the request started, so `took` covers loading the documents too; default: when the search started. */
  startedAt?: number;
  /**
   * The number of matches, when the documents given are only the requested page's candidates
   * (an index answered the query: search/indexed-search.ts); `hits.total` reports it.
   */
  knownTotal?: number;
}

export interface SearchHit {
  _index: string;
  _id: string;
  _version?: number;
  _seq_no?: number;
  _primary_term?: number;
  /** 1.0 for every hit (flowd does not rank); null when sorting without `_score` or `track_scores`. */
  _score: number | null;
  _source?: Record<string, unknown>;
  sort?: unknown[];
}

export interface SearchResponse {
  took: number;
  timed_out: boolean;
  terminated_early?: boolean;
  _shards: { total: number; successful: number; skipped: number; failed: number };
  hits: {
    /** Absent when `track_total_hits` is false. */
    total?: { value: number; relation: 'eq' | 'gte' };
    max_score: number | null;
    hits: SearchHit[];
  };
}
