#!/usr/bin/env node
// A tiny REST API for the http-resources example ("a help-desk SaaS"): plain node:http, in
// memory, no dependencies. flowd's `http_request` steps create resources on it and delete them
// on deprovision or rollback.
//   POST   /teams                     {name}             → 201 {id, name}
//   POST   /teams/{team}/queues       {name, sla_hours}  → 201 {id, team, name, sla_hours}
//   POST   /queues/{queue}/webhooks   {url}              → 201 {id, queue, url}; 422 unless url is https://
//   DELETE /teams/{id}, /queues/{id}, /webhooks/{id}      → 200, 404 when already gone
//   GET    /                          what exists now, and the log of every create and delete
// A POST with an `Idempotency-Key` header it has seen returns the first answer again instead of
// creating a second resource (flowd sends one, stable across retries and restarts).
//
//   PORT=8082 node examples/http-resources/rest-server.mjs
//
// PORT=0 picks a free port. The first line on stdout is `listening on http://127.0.0.1:<port>`;
// then one line per request.
import { randomUUID } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import process from 'node:process';

const PORT = Number(process.env.PORT ?? 8082);
const HOST = process.env.HOST ?? '127.0.0.1';

/** One line on stdout. @param {string} line */
const say = (line) => process.stdout.write(`${line}\n`);

/** @typedef {Record<string, unknown>} Obj */
/** @typedef {{ status: number, body: unknown }} Reply */

/** Resources by kind, then id. @type {Record<string, Map<string, Obj>>} */
const store = { teams: new Map(), queues: new Map(), webhooks: new Map() };
/** Answers already given, by Idempotency-Key. @type {Map<string, Reply>} */
const replays = new Map();
/** @type {string[]} */
const log = [];

/** @param {unknown} v @returns {v is Obj} */
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** @param {number} status @param {string} message @returns {Reply} */
const fail = (status, message) => ({ status, body: { error: message } });

/** @param {string} kind @param {Obj} fields @returns {Reply} */
function create(kind, fields) {
  const id = `${kind.slice(0, -1)}-${randomUUID().slice(0, 8)}`;
  const resource = { id, ...fields };
  store[kind]?.set(id, resource);
  log.push(`created ${id}`);
  return { status: 201, body: resource };
}

/** @param {string} method @param {string[]} p @param {unknown} body @returns {Reply} */
function route(method, p, body) {
  const [a, b, c] = p;
  if (method === 'GET' && a === undefined) {
    /** @type {Obj} */
    const now = {};
    for (const [kind, items] of Object.entries(store)) now[kind] = [...items.values()];
    return { status: 200, body: { ...now, log } };
  }
  if (method === 'DELETE' && p.length === 2 && a !== undefined && b !== undefined && a in store) {
    if (store[a]?.delete(b) !== true) return fail(404, `${a} ${b} not found`);
    log.push(`deleted ${b}`);
    return { status: 200, body: { deleted: b } };
  }
  if (method !== 'POST') return fail(404, `no route for ${method} /${p.join('/')}`);
  const fields = isObject(body) ? body : {};
  if (a === 'teams' && p.length === 1) {
    if (typeof fields.name !== 'string' || fields.name === '') return fail(422, 'a team needs a name');
    return create('teams', { name: fields.name });
  }
  if (a === 'teams' && c === 'queues' && p.length === 3 && b !== undefined) {
    if (!store.teams?.has(b)) return fail(404, `team ${b} not found`);
    if (typeof fields.name !== 'string' || fields.name === '') return fail(422, 'a queue needs a name');
    return create('queues', { team: b, name: fields.name, sla_hours: Number(fields.sla_hours ?? 24) });
  }
  if (a === 'queues' && c === 'webhooks' && p.length === 3 && b !== undefined) {
    if (!store.queues?.has(b)) return fail(404, `queue ${b} not found`);
    if (typeof fields.url !== 'string' || !fields.url.startsWith('https://')) {
      return fail(422, `webhook url must start with https:// (got ${JSON.stringify(fields.url ?? null)})`);
    }
    return create('webhooks', { queue: b, url: fields.url });
  }
  return fail(404, `no route for POST /${p.join('/')}`);
}

/** @param {import('node:http').IncomingMessage} req @returns {Promise<Reply>} */
async function answer(req) {
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const text = Buffer.concat(chunks).toString('utf8');
  const method = req.method ?? 'GET';
  /** @type {unknown} */
  let body;
  try {
    body = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    return fail(400, 'the body is not JSON');
  }
  const key = req.headers['idempotency-key'];
  const replayKey = method === 'POST' && typeof key === 'string' ? `${req.url ?? ''} ${key}` : undefined;
  const seen = replayKey === undefined ? undefined : replays.get(replayKey);
  if (seen !== undefined) return seen;
  const parts = new URL(req.url ?? '/', 'http://rest').pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  const reply = route(method, parts, body);
  if (replayKey !== undefined && reply.status === 201) replays.set(replayKey, reply);
  return reply;
}

const server = createServer((req, res) => {
  answer(req)
    .catch((/** @type {unknown} */ e) => fail(500, e instanceof Error ? e.message : String(e)))
    .then(({ status, body }) => {
      say(`${req.method ?? '?'} ${req.url ?? '/'} ${status}`);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    })
    .catch(() => res.destroy());
});

server.listen(PORT, HOST, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : PORT;
  say(`listening on http://${HOST}:${port} (help-desk REST API, in memory)`);
});

// Stop cleanly on Ctrl-C or kill.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
