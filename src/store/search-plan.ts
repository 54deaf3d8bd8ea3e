/**
 * The candidate query a search planner (search/query-plan.ts) hands the store: a small,
 * dialect-neutral condition tree over the indexed fields of the templates or the states, and
 * optionally a page (order + limit) and a count when the condition answers the search exactly.
 * Each dialect renders it to SQL (search-sql.ts) over the columns and indexes of migration 10.
 */

/** Indexed fields of `workflow/_search` documents (the serialized template). */
export type TemplateField = 'id' | 'name' | 'use_case' | 'description' | 'created_time' | 'last_updated_time' | 'last_provisioned_time';
/** Indexed fields of `workflow/state/_search` documents. */
export type StateField = 'workflow_id' | 'state' | 'progress' | 'start_time' | 'end_time';
export type SearchField = TemplateField | StateField;

export type SearchValue = string | number;

export type Cond =
  | { op: 'all' }
  | { op: 'none' }
  /** The field holds one of the values (strings compare byte-exactly, numbers numerically). */
  | { op: 'in'; field: SearchField; values: SearchValue[] }
  /** A string field starts with `prefix`. */
  | { op: 'prefix'; field: SearchField; prefix: string }
  /** A numeric field within the bounds (absent bound: open). */
  | { op: 'range'; field: SearchField; gt?: number; gte?: number; lt?: number; lte?: number }
  | { op: 'exists'; field: SearchField }
  /**
   * A string field whose lowercased form (JavaScript's toLowerCase) may contain `token` (ASCII
   * letters, digits, `_`): every such row matches, and possibly others (a filter, never exact).
   */
  | { op: 'contains'; field: SearchField; token: string }
  /** The OS user's backend roles (templates' `user`, states' os_user) hold one of the values. */
  | { op: 'role'; values: string[] }
  | { op: 'and'; conds: Cond[] }
  | { op: 'or'; conds: Cond[] }
  /** Rendered null-safe: a row where `cond` is unknown (NULL) counts as not matching it. */
  | { op: 'not'; cond: Cond };

export interface CandidatePage {
  /**
   * One numeric field to order by (missing values last in both directions, ties in listing
   * order); absent: listing order (templates: created_at, id; states: workflow_id).
   */
  order?: { field: SearchField; desc: boolean };
  /**
   * search_after (with `order` only): only rows past this value in the order; a missing value
   * sorts after every value, and nothing sorts after a missing one. Not applied to the count.
   */
  after?: { value: number } | 'missing';
  /** The first `limit` rows in that order. */
  limit: number;
}

export interface CandidatePlan {
  /** Every true hit matches it (a superset); the caller re-evaluates the query on the rows. */
  where: Cond;
  /** Only when `where` is exact: fetch just this page instead of every matching row. */
  page?: CandidatePage;
  /** With `page`: count the rows matching `where`, stopping at this many (Infinity: all). */
  countUpTo?: number;
}

export interface CandidateResult<R> {
  /** Matching rows in the page's order, or (without a page) every matching row in listing order. */
  records: R[];
  /** With `countUpTo`: min(count, countUpTo). */
  total?: number;
}
