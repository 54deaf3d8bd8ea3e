#!/usr/bin/env node
// A miniature OpenSearch for the semantic-search example: plain node:http, in memory, no
// dependencies. It answers the REST calls flowd's OpenSearch steps make (create_index,
// update_index, reindex, ingest and search pipelines) with OpenSearch's request and response
// shapes and its error body `{"error":{"root_cause":[…],"type","reason"},"status":N}`, plus a
// few read calls to look at what a workflow created:
//   GET /                               cluster info
//   PUT|GET|DELETE /{index}             create (settings, mappings, aliases), show, delete
//   GET|PUT /{index}/_settings          index settings (include_defaults=true supported)
//   GET /_cat/indices?format=json       the indices
//   PUT|GET|DELETE /_ingest/pipeline/{id}, /_search/pipeline/{id}; GET /_ingest/pipeline
//   POST /_reindex                      copies documents (none unless you add some)
// It stores what it is given; it does not index documents, run models or search.
//
//   PORT=9201 node examples/semantic-search/mini-opensearch.mjs
//
// PORT=0 picks a free port. The first line on stdout is `listening on http://127.0.0.1:<port>`;
// then one line per request.
import { randomUUID } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import process from 'node:process';

const PORT = Number(process.env.PORT ?? 9201);
const HOST = process.env.HOST ?? '127.0.0.1';

/** One line on stdout. @param {string} line */
const say = (line) => process.stdout.write(`${line}\n`);

/** @typedef {Record<string, unknown>} Obj */
/** @typedef {{ status: number, body: unknown }} Reply */
/** @typedef {{ uuid: string, settings: Record<string, string>, mappings: Obj, aliases: Obj, docs: Obj[] }} Index */

/** @type {Map<string, Index>} */
const indices = new Map();
/** @type {Map<string, Obj>} */
const ingestPipelines = new Map();
/** @type {Map<string, Obj>} */
const searchPipelines = new Map();

/** Settings OpenSearch refuses to change on an open index. */
const STATIC_SETTINGS = new Set(['index.number_of_shards', 'index.knn', 'index.codec']);
const DEFAULT_SETTINGS = {
  'index.refresh_interval': '1s',
  'index.default_pipeline': '_none',
  'index.search.default_pipeline': '_none',
  'index.knn': 'false',
  'index.max_result_window': '10000',
};

/** @param {unknown} v @returns {v is Obj} */
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** @param {unknown} body @returns {Reply} */
const ok = (body) => ({ status: 200, body });

/**
 * OpenSearch's error body.
 * @param {number} status @param {string} type @param {string} reason @param {Obj} [extra]
 * @returns {Reply}
 */
function osError(status, type, reason, extra = {}) {
  const cause = { type, reason, ...extra };
  return { status, body: { error: { root_cause: [cause], ...cause }, status } };
}

/** @param {string} name */
const indexNotFound = (name) =>
  osError(404, 'index_not_found_exception', `no such index [${name}]`, {
    'resource.type': 'index_or_alias',
    'resource.id': name,
    index: name,
  });

/**
 * Nested or flat settings → flat `index.*` strings, as OpenSearch stores them (null resets).
 * @param {Obj} obj @param {string} [prefix] @returns {Record<string, string | null>}
 */
function flatten(obj, prefix = '') {
  /** @type {Record<string, string | null>} */
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (isObject(v)) Object.assign(out, flatten(v, key));
    else out[key.startsWith('index.') ? key : `index.${key}`] = v === null ? null : typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/**
 * Flat keys → the nested form GET `_settings` returns.
 * @param {Record<string, string>} flat @returns {Obj}
 */
function nest(flat) {
  /** @type {Obj} */
  const root = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let node = root;
    let i = 0;
    for (; i < parts.length - 1; i++) {
      const part = parts[i] ?? '';
      const next = node[part];
      if (next === undefined) {
        /** @type {Obj} */
        const child = {};
        node[part] = child;
        node = child;
      } else if (isObject(next)) node = next;
      else break;
    }
    node[parts.slice(i).join('.')] = value;
  }
  return root;
}

/** @param {string} name @param {Record<string, string | null>} settings @returns {Index} */
function newIndex(name, settings) {
  const uuid = randomUUID().replace(/-/g, '').slice(0, 22);
  /** @type {Record<string, string>} */
  const flat = {
    'index.number_of_shards': '1',
    'index.number_of_replicas': '1',
    'index.uuid': uuid,
    'index.provided_name': name,
    'index.creation_date': String(Date.now()),
  };
  for (const [k, v] of Object.entries(settings)) if (v !== null) flat[k] = v;
  return { uuid, settings: flat, mappings: {}, aliases: {}, docs: [] };
}

/** @param {string} name @param {unknown} body @returns {Reply} */
function createIndex(name, body) {
  if (name !== name.toLowerCase()) {
    return osError(400, 'invalid_index_name_exception', `Invalid index name [${name}], must be lowercase`, { index: name });
  }
  const existing = indices.get(name);
  if (existing !== undefined) {
    return osError(400, 'resource_already_exists_exception', `index [${name}/${existing.uuid}] already exists`, { index: name });
  }
  const source = isObject(body) ? body : {};
  const unknown = Object.keys(source).find((k) => !['settings', 'mappings', 'aliases'].includes(k));
  if (unknown !== undefined) return osError(400, 'parse_exception', `unknown key [${unknown}] for create index`);
  const index = newIndex(name, flatten(isObject(source.settings) ? source.settings : {}));
  index.mappings = isObject(source.mappings) ? source.mappings : {};
  index.aliases = isObject(source.aliases) ? source.aliases : {};
  indices.set(name, index);
  return ok({ acknowledged: true, shards_acknowledged: true, index: name });
}

/** @param {string} name @param {Record<string, string>} query @returns {Reply} */
function getSettings(name, query) {
  const index = indices.get(name);
  if (index === undefined) return indexNotFound(name);
  /** @type {Obj} */
  const entry = { settings: nest(index.settings) };
  if (query.include_defaults === 'true') {
    entry.defaults = nest(Object.fromEntries(Object.entries(DEFAULT_SETTINGS).filter(([k]) => !(k in index.settings))));
  }
  return ok({ [name]: entry });
}

/** @param {string} name @param {unknown} body @returns {Reply} */
function putSettings(name, body) {
  const index = indices.get(name);
  if (index === undefined) return indexNotFound(name);
  const source = isObject(body) && isObject(body.settings) ? body.settings : isObject(body) ? body : {};
  const changes = flatten(source);
  const keys = Object.keys(changes);
  if (keys.length === 0) return osError(400, 'action_request_validation_exception', 'Validation Failed: 1: no settings to update;');
  const frozen = keys.filter((k) => STATIC_SETTINGS.has(k));
  if (frozen.length > 0) {
    return osError(
      400,
      'illegal_argument_exception',
      `Can't update non dynamic settings [[${frozen.join(', ')}]] for open indices [[${name}/${index.uuid}]]`,
    );
  }
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete index.settings[k];
    else index.settings[k] = v;
  }
  return ok({ acknowledged: true });
}

/** @param {unknown} body @param {Record<string, string>} query @returns {Reply} */
function reindex(body, query) {
  const src = isObject(body) && isObject(body.source) ? body.source.index : undefined;
  const dst = isObject(body) && isObject(body.dest) ? body.dest.index : undefined;
  if (typeof dst !== 'string' || (typeof src !== 'string' && !Array.isArray(src))) {
    return osError(400, 'action_request_validation_exception', 'Validation Failed: 1: index must be specified;');
  }
  /** @type {Obj[]} */
  const docs = [];
  for (const s of (Array.isArray(src) ? src : src.split(',')).map(String)) {
    const index = indices.get(s);
    if (index === undefined) return indexNotFound(s);
    docs.push(...index.docs);
  }
  let dest = indices.get(dst);
  if (dest === undefined) {
    dest = newIndex(dst, {});
    indices.set(dst, dest); // OpenSearch creates the destination
  }
  const maxDocs = isObject(body) && typeof body.max_docs === 'number' ? body.max_docs : docs.length;
  const copied = docs.slice(0, maxDocs);
  dest.docs.push(...copied);
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
    failures: [],
  });
}

/**
 * @param {string} method @param {Map<string, Obj>} store @param {'ingest' | 'search'} kind
 * @param {string | undefined} id @param {unknown} body @returns {Reply | undefined}
 */
function pipeline(method, store, kind, id, body) {
  if (id === undefined) return method === 'GET' ? ok(Object.fromEntries(store)) : undefined;
  if (method === 'GET') {
    const found = store.get(id);
    return found === undefined ? { status: 404, body: {} } : ok({ [id]: found });
  }
  if (method === 'DELETE')
    return store.delete(id) ? ok({ acknowledged: true }) : osError(404, 'resource_not_found_exception', `pipeline [${id}] is missing`);
  if (method !== 'PUT') return undefined;
  if (!isObject(body)) return osError(400, 'parse_exception', 'request body is required');
  if (kind === 'ingest' && !Array.isArray(body.processors)) {
    return osError(400, 'parse_exception', '[processors] required property is missing', { property_name: 'processors' });
  }
  store.set(id, body);
  return ok({ acknowledged: true });
}

/** @param {string} method @param {string[]} p @param {Record<string, string>} query @param {unknown} body @returns {Reply | undefined} */
function route(method, p, query, body) {
  const [a, b, c] = p;
  if (a === undefined) {
    if (method !== 'GET') return undefined;
    return ok({
      name: 'mini-opensearch',
      cluster_name: 'flowd-examples',
      cluster_uuid: 'mini',
      version: { distribution: 'opensearch', number: '2.19.0', minimum_wire_compatibility_version: '7.10.0' },
      tagline: 'The OpenSearch Project: https://opensearch.org/ (miniature, for flowd examples)',
    });
  }
  if (a === '_reindex' && p.length === 1 && method === 'POST') return reindex(body, query);
  if ((a === '_ingest' || a === '_search') && b === 'pipeline' && p.length <= 3) {
    return pipeline(method, a === '_ingest' ? ingestPipelines : searchPipelines, a === '_ingest' ? 'ingest' : 'search', c, body);
  }
  if (a === '_cat' && b === 'indices' && method === 'GET') {
    return ok(
      [...indices].map(([name, i]) => ({
        health: 'green',
        status: 'open',
        index: name,
        uuid: i.uuid,
        pri: i.settings['index.number_of_shards'],
        rep: i.settings['index.number_of_replicas'],
        'docs.count': String(i.docs.length),
      })),
    );
  }
  if (a.startsWith('_')) return undefined;
  if (p.length === 1) {
    if (method === 'PUT') return createIndex(a, body);
    const index = indices.get(a);
    if (method === 'GET')
      return index === undefined
        ? indexNotFound(a)
        : ok({ [a]: { aliases: index.aliases, mappings: index.mappings, settings: nest(index.settings) } });
    if (method === 'DELETE') return indices.delete(a) ? ok({ acknowledged: true }) : indexNotFound(a);
  }
  if (p.length === 2 && b === '_settings' && method === 'GET') return getSettings(a, query);
  if (p.length === 2 && b === '_settings' && method === 'PUT') return putSettings(a, body);
  return undefined;
}

/** @param {import('node:http').IncomingMessage} req @returns {Promise<Reply>} */
async function answer(req) {
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const text = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', 'http://mini');
  const method = req.method ?? 'GET';
  /** @type {unknown} */
  let body;
  try {
    body = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    return osError(400, 'parse_exception', 'Failed to parse content to map');
  }
  const parts = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  return (
    route(method, parts, Object.fromEntries(url.searchParams), body) ?? {
      status: 400,
      body: { error: `no handler found for uri [${url.pathname}] and method [${method}]` },
    }
  );
}

const server = createServer((req, res) => {
  answer(req)
    .catch((/** @type {unknown} */ e) => osError(500, 'exception', e instanceof Error ? e.message : String(e)))
    .then(({ status, body }) => {
      say(`${req.method ?? '?'} ${req.url ?? '/'} ${status}`);
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
    })
    .catch(() => res.destroy());
});

server.listen(PORT, HOST, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : PORT;
  say(`listening on http://${HOST}:${port} (mini OpenSearch 2.19.0, in memory)`);
});

// Stop cleanly on Ctrl-C or kill.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
