/**
 * A small fetch-based client for the few OpenSearch REST APIs the OpenSearch-backed steps use
 * (indices, index settings, reindex, ingest and search pipelines). Every failure becomes a
 * FlowdError `step_failure`: an OpenSearch error body keeps its `reason` as the message and its
 * HTTP status; a cluster that cannot be reached says so with its URL. Aborts propagate as the
 * signal's reason so the engine sees its own timeout/cancel cause.
 */
import { stepFailure } from '../../errors.js';
import type { JsonObject, JsonValue } from '../../util/json.js';

export interface OpenSearchClientOptions {
  /** Cluster URL, e.g. `http://localhost:9200` (FLOWD_OPENSEARCH_URL). */
  url: string;
  username?: string;
  password?: string;
  /** Injectable for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface AcknowledgedResponse {
  acknowledged: boolean;
}

export interface CreateIndexResponse extends AcknowledgedResponse {
  shards_acknowledged: boolean;
  index: string;
}

/** `GET /{index}/_settings?include_defaults=true` for one index, as OpenSearch nests it. */
export interface IndexSettingsResponse {
  settings: JsonObject;
  defaults: JsonObject;
}

export interface ReindexResponse {
  took: number;
  timed_out: boolean;
  total: number;
  created: number;
  updated: number;
  failures: JsonValue[];
  [k: string]: JsonValue;
}

/** Query parameters of `POST /_reindex`. */
export type ReindexParams = Record<string, string | number | boolean>;

export interface OpenSearchClient {
  readonly baseUrl: string;
  createIndex(name: string, body: JsonObject | undefined, signal: AbortSignal): Promise<CreateIndexResponse>;
  /** Resolves when the index is gone, including when it did not exist (404). */
  deleteIndex(name: string, signal: AbortSignal): Promise<void>;
  getIndexSettings(name: string, signal: AbortSignal): Promise<IndexSettingsResponse>;
  putIndexSettings(name: string, settings: JsonObject, signal: AbortSignal): Promise<AcknowledgedResponse>;
  reindex(body: JsonObject, params: ReindexParams, signal: AbortSignal): Promise<ReindexResponse>;
  putIngestPipeline(id: string, body: JsonObject, signal: AbortSignal): Promise<AcknowledgedResponse>;
  /** Resolves when the pipeline is gone, including when it did not exist (404). */
  deleteIngestPipeline(id: string, signal: AbortSignal): Promise<void>;
  putSearchPipeline(id: string, body: JsonObject, signal: AbortSignal): Promise<AcknowledgedResponse>;
  /** Resolves when the pipeline is gone, including when it did not exist (404). */
  deleteSearchPipeline(id: string, signal: AbortSignal): Promise<void>;
}

interface RequestSpec {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean>;
  body?: JsonObject;
  signal: AbortSignal;
  /** A 404 is "already gone" (deletes): resolve with undefined instead of failing. */
  notFoundOk?: boolean;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Statuses worth retrying: the cluster is busy or a proxy in front of it is. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/** User info in the cluster URL moves to Basic auth: fetch refuses it, quoting the URL (and its password) in the error. */
function splitUserInfo(opts: OpenSearchClientOptions): { url: string; username: string | undefined; password: string | undefined } {
  let u: URL;
  try {
    u = new URL(opts.url);
  } catch {
    return { url: opts.url, username: opts.username, password: opts.password };
  }
  if (u.username === '' && u.password === '') return { url: opts.url, username: opts.username, password: opts.password };
  const decode = (x: string): string => {
    try {
      return decodeURIComponent(x);
    } catch {
      return x;
    }
  };
  const username = opts.username ?? decode(u.username);
  const password = opts.password ?? decode(u.password);
  u.username = '';
  u.password = '';
  return { url: u.toString(), username, password };
}

export function createOpenSearchClient(opts: OpenSearchClientOptions): OpenSearchClient {
  const auth = splitUserInfo(opts);
  const baseUrl = auth.url.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? fetch;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (auth.username !== undefined) {
    const token = Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64');
    headers.authorization = `Basic ${token}`;
  }

  async function request(spec: RequestSpec): Promise<JsonValue | undefined> {
    const url = new URL(baseUrl + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) url.searchParams.set(k, String(v));
    const init: RequestInit = { method: spec.method, headers: { ...headers }, signal: spec.signal };
    if (spec.body !== undefined) {
      init.body = JSON.stringify(spec.body);
      init.headers = { ...headers, 'content-type': 'application/json' };
    }
    let res: Response;
    let text: string;
    try {
      res = await doFetch(url, init);
      text = await res.text();
    } catch (e) {
      // An abort is the caller's decision (timeout, cancel): surface its own reason unchanged.
      spec.signal.throwIfAborted();
      throw unreachable(baseUrl, e);
    }
    const parsed = parseBody(text);
    if (res.ok) return parsed;
    if (res.status === 404 && spec.notFoundOk === true) return undefined;
    throw errorFromResponse(spec, res.status, parsed, text);
  }

  const enc = encodeURIComponent;
  return {
    baseUrl,
    async createIndex(name, body, signal) {
      const res = await request({ method: 'PUT', path: `/${enc(name)}`, body, signal });
      return asObject(res) as unknown as CreateIndexResponse;
    },
    async deleteIndex(name, signal) {
      await request({ method: 'DELETE', path: `/${enc(name)}`, signal, notFoundOk: true });
    },
    async getIndexSettings(name, signal) {
      const res = asObject(await request({ method: 'GET', path: `/${enc(name)}/_settings`, query: { include_defaults: true }, signal }));
      // Keyed by the concrete index name, which differs from `name` when `name` is an alias.
      const entry = res[name] ?? Object.values(res)[0];
      const settings = isObject(entry) && isObject(entry.settings) ? entry.settings : {};
      const defaults = isObject(entry) && isObject(entry.defaults) ? entry.defaults : {};
      return { settings, defaults };
    },
    async putIndexSettings(name, settings, signal) {
      const res = await request({ method: 'PUT', path: `/${enc(name)}/_settings`, body: settings, signal });
      return asObject(res) as unknown as AcknowledgedResponse;
    },
    async reindex(body, params, signal) {
      const res = await request({ method: 'POST', path: '/_reindex', query: params, body, signal });
      return asObject(res) as unknown as ReindexResponse;
    },
    async putIngestPipeline(id, body, signal) {
      const res = await request({ method: 'PUT', path: `/_ingest/pipeline/${enc(id)}`, body, signal });
      return asObject(res) as unknown as AcknowledgedResponse;
    },
    async deleteIngestPipeline(id, signal) {
      await request({ method: 'DELETE', path: `/_ingest/pipeline/${enc(id)}`, signal, notFoundOk: true });
    },
    async putSearchPipeline(id, body, signal) {
      const res = await request({ method: 'PUT', path: `/_search/pipeline/${enc(id)}`, body, signal });
      return asObject(res) as unknown as AcknowledgedResponse;
    },
    async deleteSearchPipeline(id, signal) {
      await request({ method: 'DELETE', path: `/_search/pipeline/${enc(id)}`, signal, notFoundOk: true });
    },
  };
}

function parseBody(text: string): JsonValue | undefined {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

function asObject(v: JsonValue | undefined): JsonObject {
  return isObject(v) ? v : {};
}

function unreachable(baseUrl: string, e: unknown): Error {
  // Node's fetch reports "fetch failed" and hides the real cause (ECONNREFUSED, ENOTFOUND...).
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  const code = isObject(cause) && typeof cause.code === 'string' ? cause.code : undefined;
  const detail = code ?? (cause instanceof Error ? cause.message : String(cause));
  return stepFailure(`The OpenSearch cluster at ${baseUrl} is unreachable (${detail})`, {
    status: 503,
    code: 'opensearch.unreachable',
    retryable: true,
    cause: e,
  });
}

/** OpenSearch error body `{"error":{"type","reason","root_cause":[..]},"status":N}` → FlowdError. */
function errorFromResponse(spec: RequestSpec, status: number, body: JsonValue | undefined, text: string): Error {
  let type: string | undefined;
  let reason: string | undefined;
  if (isObject(body)) {
    const err = body.error;
    if (isObject(err)) {
      type = typeof err.type === 'string' ? err.type : undefined;
      reason = typeof err.reason === 'string' ? err.reason : undefined;
      const root = Array.isArray(err.root_cause) ? err.root_cause[0] : undefined;
      if (reason === undefined && isObject(root) && typeof root.reason === 'string') reason = root.reason;
    } else if (typeof err === 'string') {
      reason = err;
    }
  }
  const detail = text.trim() === '' ? '' : `: ${text.slice(0, 200)}`;
  const message = reason ?? `OpenSearch ${spec.method} ${spec.path} failed with status ${status}${detail}`;
  return stepFailure(message, {
    status,
    code: type === undefined ? 'opensearch.error' : `opensearch.${type}`,
    retryable: RETRYABLE_STATUSES.has(status),
  });
}
