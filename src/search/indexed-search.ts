/**
 * workflow/_search and workflow/state/_search through the store's indexes: the planner
 * (query-plan.ts) narrows the documents to candidates the store reads by index, and the
 * evaluator (query-dsl.ts) answers on those, so the response is the one a scan of every
 * document gives. A query the planner cannot narrow reads every document, as before.
 */
import type { CandidatePlan, CandidateResult } from '../store/search-plan.js';
import type { StateRecord, Store, WorkflowRecord } from '../store/store.js';
import { searchDocuments } from './query-dsl.js';
import { type SearchTarget, planSearch } from './query-plan.js';
import type { SearchDoc, SearchOptions, SearchResponse } from './types.js';

export interface IndexedSearchOptions<R> extends SearchOptions {
  /** The document a record is searched as (serializeTemplate / stateDocument). */
  toDoc: (record: R) => SearchDoc;
}

export function searchTemplatesIndexed(
  store: Pick<Store, 'searchWorkflowCandidates'>,
  body: unknown,
  opts: IndexedSearchOptions<WorkflowRecord>,
): Promise<SearchResponse> {
  return searchIndexed('templates', (plan) => store.searchWorkflowCandidates(plan), body, opts);
}

export function searchStatesIndexed(
  store: Pick<Store, 'searchStateCandidates'>,
  body: unknown,
  opts: IndexedSearchOptions<StateRecord>,
): Promise<SearchResponse> {
  return searchIndexed('states', (plan) => store.searchStateCandidates(plan), body, opts);
}

async function searchIndexed<R>(
  target: SearchTarget,
  read: (plan: CandidatePlan) => Promise<CandidateResult<R>>,
  body: unknown,
  opts: IndexedSearchOptions<R>,
): Promise<SearchResponse> {
  const { toDoc, ...searchOpts } = opts;
  const { plan } = planSearch(body, target, searchOpts);
  const found = await read(plan);
  return searchDocuments(found.records.map(toDoc), body, {
    ...searchOpts,
    ...(found.total === undefined ? {} : { knownTotal: found.total }),
  });
}
