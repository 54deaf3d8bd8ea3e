/**
 * `_search` over one kind of ML resource, as ML Commons answers it: the query DSL over the
 * documents a GET would return (a connector without its credential), each hit reported in the
 * system index ML Commons keeps that kind in. One function for every kind, so connectors, model
 * groups, models, agents and tasks search alike.
 */
import type { SearchResponse } from '../search/query-dsl.js';
import { searchDocuments } from '../search/query-dsl.js';
import type { Store } from '../store/store.js';
import type { JsonObject } from '../util/json.js';
import { AGENT_KIND, publicAgent } from './agents.js';
import { CONNECTOR_KIND, publicConnector } from './connectors.js';
import { MODEL_GROUP_KIND, MODEL_KIND } from './models.js';

/** The ML task documents (`GET /_plugins/_ml/tasks/{id}`) are stored under this kind. */
export const TASK_KIND = 'ml_task';

export type MlSearchKind = typeof CONNECTOR_KIND | typeof MODEL_KIND | typeof MODEL_GROUP_KIND | typeof AGENT_KIND | typeof TASK_KIND;

/** The system index ML Commons keeps each kind in, reported as every hit's `_index`. */
export const ML_INDEX: Readonly<Record<MlSearchKind, string>> = {
  [CONNECTOR_KIND]: '.plugins-ml-connector',
  [MODEL_KIND]: '.plugins-ml-model',
  [MODEL_GROUP_KIND]: '.plugins-ml-model-group',
  [AGENT_KIND]: '.plugins-ml-agent',
  [TASK_KIND]: '.plugins-ml-task',
};

/** What a caller may see of a stored document of `kind` (the same view GET gives). */
const PUBLIC_VIEW: Readonly<Record<MlSearchKind, (doc: JsonObject) => JsonObject>> = {
  [CONNECTOR_KIND]: publicConnector,
  [MODEL_KIND]: (d) => d,
  [MODEL_GROUP_KIND]: (d) => d,
  [AGENT_KIND]: publicAgent,
  [TASK_KIND]: (d) => d,
};

export interface MlSearchOptions {
  /** performance.now() when the request started, so `took` covers loading the documents. */
  startedAt?: number;
  /** Dotted paths hidden from the caller (and from its query), e.g. `user`. */
  excludes?: string[];
  /** Extra filter query ANDed with the caller's (e.g. a tenant or backend-role filter). */
  filter?: unknown;
}

/** Run an OpenSearch search `body` over every stored resource of `kind`. */
export async function searchMlResources(
  store: Store,
  kind: MlSearchKind,
  body: unknown,
  opts: MlSearchOptions = {},
): Promise<SearchResponse> {
  const view = PUBLIC_VIEW[kind];
  const docs = (await store.listMlResources(kind)).map((r) => ({
    _id: r.id,
    _source: view(r.doc),
    _version: 1,
    _seq_no: 0,
    _primary_term: 1,
  }));
  return searchDocuments(docs, body, {
    index: ML_INDEX[kind],
    ...(opts.excludes ? { excludes: opts.excludes } : {}),
    ...(opts.filter !== undefined ? { filter: opts.filter } : {}),
    ...(opts.startedAt !== undefined ? { startedAt: opts.startedAt } : {}),
  });
}
