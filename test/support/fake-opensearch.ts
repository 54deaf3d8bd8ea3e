/**
 * A real HTTP server that answers the few OpenSearch APIs flowd's OpenSearch steps call, with
 * OpenSearch's request/response shapes and its documented error body
 * `{"error":{"root_cause":[...],"type","reason"},"status":N}`. State lives in memory and is
 * public so tests can assert on it (and seed it, e.g. documents to reindex).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { JsonObject, JsonValue } from '../../src/util/json.js';

export type FlatSettings = Record<string, string | string[]>;

export interface FakeIndex {
  uuid: string;
  /** Flat `index.*` keys with string values, as OpenSearch stores them. */
  settings: FlatSettings;
  mappings: JsonObject;
  aliases: JsonObject;
  docs: JsonObject[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: JsonValue | undefined;
  authorization: string | undefined;
}

export interface FakeOpenSearchOptions {
  /** Delay before every answer (to test aborts and timeouts). */
  delayMs?: number;
  /** When set, requests need this HTTP basic auth (401 otherwise, like the security plugin). */
  username?: string;
  password?: string;
}

interface Reply {
  status: number;
  body: JsonValue | string;
}

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Settings OpenSearch refuses to change on an open index. */
const STATIC_SETTINGS = new Set(['index.number_of_shards', 'index.knn', 'index.codec']);
const DEFAULT_SETTINGS: FlatSettings = {
  'index.refresh_interval': '1s',
  'index.default_pipeline': '_none',
  'index.search.default_pipeline': '_none',
  'index.knn': 'false',
  'index.max_result_window': '10000',
};
const CREATE_INDEX_KEYS = new Set(['settings', 'mappings', 'aliases']);

function osError(status: number, type: string, reason: string, extra: JsonObject = {}): Reply {
  const cause: JsonObject = { type, reason, ...extra };
  return { status, body: { error: { root_cause: [cause], ...cause }, status } };
}

const indexNotFound = (name: string): Reply =>
  osError(404, 'index_not_found_exception', `no such index [${name}]`, {
    'resource.type': 'index_or_alias',
    'resource.id': name,
    index_uuid: '_na_',
    index: name,
  });

const ok = (body: JsonValue): Reply => ({ status: 200, body });

/** Nested or flat settings → flat `index.*` string settings (null marks a reset). */
export function flatten(obj: JsonObject, prefix = ''): Record<string, string | string[] | null> {
  const out: Record<string, string | string[] | null> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (isObject(v)) Object.assign(out, flatten(v, key));
    else {
      const full = key.startsWith('index.') ? key : `index.${key}`;
      const text = (x: JsonValue): string => (typeof x === 'string' ? x : JSON.stringify(x));
      out[full] = v === null ? null : Array.isArray(v) ? v.map(text) : text(v);
    }
  }
  return out;
}

/** Flat keys → the nested form GET `_settings` returns. */
function nest(flat: FlatSettings): JsonObject {
  const root: JsonObject = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let node = root;
    let i = 0;
    for (; i < parts.length - 1; i++) {
      const next = node[parts[i]!];
      if (next === undefined) node = node[parts[i]!] = {};
      else if (isObject(next)) node = next;
      else break; // a value already sits here: keep the rest of the key dotted
    }
    node[parts.slice(i).join('.')] = value;
  }
  return root;
}

export class FakeOpenSearch {
  readonly indices = new Map<string, FakeIndex>();
  readonly ingestPipelines = new Map<string, JsonObject>();
  readonly searchPipelines = new Map<string, JsonObject>();
  readonly requests: RecordedRequest[] = [];
  /** Failures the next `_reindex` reports (bulk failures in a 200 answer). */
  nextReindexFailures: JsonObject[] = [];
  delayMs: number;
  private readonly auth: string | undefined;

  constructor(opts: FakeOpenSearchOptions = {}) {
    this.delayMs = opts.delayMs ?? 0;
    this.auth =
      opts.username === undefined ? undefined : `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
  }

  /** Adds an index directly (test setup), as if created with default settings. */
  addIndex(name: string, docs: JsonObject[] = []): FakeIndex {
    const index = this.newIndex(name, {});
    index.docs.push(...docs);
    this.indices.set(name, index);
    return index;
  }

  start(): Promise<{ url: string; close(): Promise<void> }> {
    const server = createServer((req, res) => {
      const crashed = (e: unknown): Reply => osError(500, 'exception', e instanceof Error ? e.message : String(e));
      void this.answer(req)
        .catch(crashed)
        .then(({ status, body }) => {
          const text = typeof body === 'string' ? body : JSON.stringify(body);
          const type = typeof body === 'string' ? 'text/plain' : 'application/json; charset=UTF-8';
          res.writeHead(status, { 'content-type': type }).end(text);
        });
    });
    return new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        resolve({
          url: `http://127.0.0.1:${port}`,
          close: () =>
            new Promise<void>((done) => {
              server.closeAllConnections();
              server.close(() => done());
            }),
        });
      });
    });
  }

  private async answer(req: IncomingMessage): Promise<Reply> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    let body: JsonValue | undefined;
    try {
      body = text.trim() === '' ? undefined : (JSON.parse(text) as JsonValue);
    } catch {
      return osError(400, 'parse_exception', 'Failed to parse content to map');
    }
    const query = Object.fromEntries(url.searchParams);
    const authorization = req.headers.authorization;
    this.requests.push({ method, path: url.pathname, query, body, authorization });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.auth !== undefined && authorization !== this.auth) return { status: 401, body: 'Unauthorized' };
    const parts = url.pathname
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    return (
      this.route(method, parts, query, body) ?? {
        status: 400,
        body: { error: `no handler found for uri [${url.pathname}] and method [${method}]` },
      }
    );
  }

  private route(method: string, p: string[], query: Record<string, string>, body?: JsonValue): Reply | undefined {
    const [a, b, c] = p;
    if (p.length === 1 && a === '_reindex' && method === 'POST') return this.reindex(body, query);
    if (p.length === 3 && b === 'pipeline' && (a === '_ingest' || a === '_search')) {
      return this.pipeline(method, a === '_ingest' ? this.ingestPipelines : this.searchPipelines, c!, body);
    }
    if (a === undefined || a.startsWith('_')) return undefined;
    if (p.length === 1 && method === 'PUT') return this.createIndex(a, body);
    if (p.length === 1 && method === 'DELETE') {
      if (!this.indices.delete(a)) return indexNotFound(a);
      return ok({ acknowledged: true });
    }
    if (p.length === 2 && b === '_settings' && method === 'GET') return this.getSettings(a, query);
    if (p.length === 2 && b === '_settings' && method === 'PUT') return this.putSettings(a, body);
    return undefined;
  }

  private newIndex(name: string, settings: Record<string, string | string[] | null>): FakeIndex {
    const uuid = randomUUID().replace(/-/g, '').slice(0, 22);
    const flat: FlatSettings = {
      'index.number_of_shards': '1',
      'index.number_of_replicas': '1',
      'index.uuid': uuid,
      'index.provided_name': name,
      'index.creation_date': String(Date.now()),
      'index.version.created': '136387927',
    };
    for (const [k, v] of Object.entries(settings)) if (v !== null) flat[k] = v;
    return { uuid, settings: flat, mappings: {}, aliases: {}, docs: [] };
  }

  private createIndex(name: string, body: JsonValue | undefined): Reply {
    if (name !== name.toLowerCase()) {
      return osError(400, 'invalid_index_name_exception', `Invalid index name [${name}], must be lowercase`, {
        index_uuid: '_na_',
        index: name,
      });
    }
    const existing = this.indices.get(name);
    if (existing !== undefined) {
      return osError(400, 'resource_already_exists_exception', `index [${name}/${existing.uuid}] already exists`, {
        index_uuid: existing.uuid,
        index: name,
      });
    }
    const source = isObject(body) ? body : {};
    const unknown = Object.keys(source).find((k) => !CREATE_INDEX_KEYS.has(k));
    if (unknown !== undefined) return osError(400, 'parse_exception', `unknown key [${unknown}] for create index`);
    const mappings = isObject(source.mappings) ? source.mappings : {};
    if (Object.keys(mappings).length === 1 && isObject(mappings._doc)) {
      return osError(
        400,
        'mapper_parsing_exception',
        `Root mapping definition has unsupported parameters:  [_doc : ${JSON.stringify(mappings._doc)}]`,
      );
    }
    const index = this.newIndex(name, flatten(isObject(source.settings) ? source.settings : {}));
    index.mappings = mappings;
    index.aliases = isObject(source.aliases) ? source.aliases : {};
    this.indices.set(name, index);
    return ok({ acknowledged: true, shards_acknowledged: true, index: name });
  }

  private getSettings(name: string, query: Record<string, string>): Reply {
    const index = this.indices.get(name);
    if (index === undefined) return indexNotFound(name);
    const entry: JsonObject = { settings: nest(index.settings) };
    if (query.include_defaults === 'true') {
      const defaults = Object.entries(DEFAULT_SETTINGS).filter(([k]) => !(k in index.settings));
      entry.defaults = nest(Object.fromEntries(defaults));
    }
    return ok({ [name]: entry });
  }

  private putSettings(name: string, body: JsonValue | undefined): Reply {
    const index = this.indices.get(name);
    if (index === undefined) return indexNotFound(name);
    const source = isObject(body) && isObject(body.settings) ? body.settings : isObject(body) ? body : {};
    const changes = flatten(source);
    const keys = Object.keys(changes);
    if (keys.length === 0) {
      return osError(400, 'action_request_validation_exception', 'Validation Failed: 1: no settings to update;');
    }
    const frozen = keys.filter((k) => STATIC_SETTINGS.has(k));
    if (frozen.length > 0) {
      const open = `[[${name}/${index.uuid}]]`;
      const reason = `Can't update non dynamic settings [[${frozen.join(', ')}]] for open indices ${open}`;
      return osError(400, 'illegal_argument_exception', reason);
    }
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete index.settings[k];
      else index.settings[k] = v;
    }
    return ok({ acknowledged: true });
  }

  private reindex(body: JsonValue | undefined, query: Record<string, string>): Reply {
    const src = isObject(body) && isObject(body.source) ? body.source.index : undefined;
    const dst = isObject(body) && isObject(body.dest) ? body.dest.index : undefined;
    if (typeof dst !== 'string' || (typeof src !== 'string' && !Array.isArray(src))) {
      return osError(400, 'action_request_validation_exception', 'Validation Failed: 1: index must be specified;');
    }
    const sources = (Array.isArray(src) ? src : src.split(',')).map(String);
    const docs: JsonObject[] = [];
    for (const s of sources) {
      const index = this.indices.get(s);
      if (index === undefined) return indexNotFound(s);
      docs.push(...index.docs);
    }
    let dest = this.indices.get(dst);
    if (query.require_alias === 'true') {
      dest = [...this.indices.values()].find((i) => dst in i.aliases);
      if (dest === undefined) {
        const reason = `no such index [${dst}] and [require_alias] request flag is [true] and [${dst}] is not an alias`;
        return osError(404, 'index_not_found_exception', reason, { index: dst });
      }
    }
    if (dest === undefined) {
      dest = this.newIndex(dst, {});
      this.indices.set(dst, dest); // OpenSearch auto-creates the destination
    }
    const maxDocs = isObject(body) && typeof body.max_docs === 'number' ? body.max_docs : docs.length;
    const copied = docs.slice(0, maxDocs);
    dest.docs.push(...copied);
    const failures = this.nextReindexFailures;
    this.nextReindexFailures = [];
    return ok({
      took: 1,
      timed_out: false,
      total: copied.length,
      updated: 0,
      created: copied.length,
      deleted: 0,
      batches: copied.length > 0 ? 1 : 0,
      version_conflicts: 0,
      noops: 0,
      retries: { bulk: 0, search: 0 },
      throttled_millis: 0,
      requests_per_second: Number(query.requests_per_second ?? '-1'),
      throttled_until_millis: 0,
      failures,
    });
  }

  private pipeline(method: string, store: Map<string, JsonObject>, id: string, body: JsonValue | undefined): Reply | undefined {
    const missing = (): Reply => osError(404, 'resource_not_found_exception', `pipeline [${id}] is missing`);
    if (method === 'GET') {
      const found = store.get(id);
      return found === undefined ? { status: 404, body: {} } : ok({ [id]: found });
    }
    if (method === 'DELETE') return store.delete(id) ? ok({ acknowledged: true }) : missing();
    if (method !== 'PUT') return undefined;
    if (!isObject(body)) return osError(400, 'parse_exception', 'request body is required');
    if (store === this.ingestPipelines && !Array.isArray(body.processors)) {
      return osError(400, 'parse_exception', '[processors] required property is missing', {
        property_name: 'processors',
      });
    }
    store.set(id, body);
    return ok({ acknowledged: true });
  }
}
