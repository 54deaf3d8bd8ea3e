#!/usr/bin/env node
// A tiny OpenAI-compatible model server for the remote-model example: plain node:http, no
// dependencies, no account. It answers
//   POST /v1/chat/completions  → the last user message echoed back ("Echo: …")
//   POST /v1/embeddings        → a deterministic unit vector per input text
//   GET  /v1/models            → the one model it serves
// with OpenAI's request and response shapes, and checks `Authorization: Bearer <key>` the way
// a hosted API does, so the connector's credential is really used.
//
//   PORT=8081 MODEL_SERVER_API_KEY=local-demo-key node examples/remote-model/model-server.mjs
//
// PORT=0 picks a free port. The first line on stdout is `listening on http://127.0.0.1:<port>`;
// then one line per request.
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import process from 'node:process';

const PORT = Number(process.env.PORT ?? 8081);
const HOST = process.env.HOST ?? '127.0.0.1';

/** One line on stdout. @param {string} line */
const say = (line) => process.stdout.write(`${line}\n`);
const API_KEY = process.env.MODEL_SERVER_API_KEY ?? 'local-demo-key';
const MODEL = 'local-echo-1';
const DIMENSIONS = 8;

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 */
function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * OpenAI's error body.
 * @param {string} message
 * @param {string} type
 * @param {string | null} [code]
 */
const openAiError = (message, type, code = null) => ({ error: { message, type, param: null, code } });

/** @param {unknown} v @returns {v is Record<string, unknown>} */
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** @param {string} text */
const countWords = (text) => text.split(/\s+/).filter(Boolean).length;

/**
 * A deterministic unit vector for a text (same text, same vector).
 * @param {string} text
 * @returns {number[]}
 */
function embed(text) {
  const digest = createHash('sha256').update(text).digest();
  const raw = Array.from({ length: DIMENSIONS }, (_, i) => (digest[i] ?? 0) / 255 - 0.5);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

/**
 * @param {unknown} body
 * @returns {[number, unknown]}
 */
function chat(body) {
  if (!isObject(body) || typeof body.model !== 'string')
    return [400, openAiError('you must provide a model parameter', 'invalid_request_error')];
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0)
    return [400, openAiError("'messages' is a required property", 'invalid_request_error')];
  /** @type {unknown[]} */
  const list = messages;
  const lastUser = [...list].reverse().find((m) => isObject(m) && m.role === 'user');
  const prompt = isObject(lastUser) && typeof lastUser.content === 'string' ? lastUser.content : '';
  const content = `Echo: ${prompt}`;
  const promptTokens = countWords(prompt);
  const completionTokens = countWords(content);
  return [
    200,
    {
      id: `chatcmpl-${createHash('sha1').update(prompt).digest('hex').slice(0, 12)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    },
  ];
}

/**
 * @param {unknown} body
 * @returns {[number, unknown]}
 */
function embeddings(body) {
  if (!isObject(body) || typeof body.model !== 'string')
    return [400, openAiError('you must provide a model parameter', 'invalid_request_error')];
  const input = body.input;
  /** @type {string[] | undefined} */
  let texts;
  if (typeof input === 'string') texts = [input];
  else if (Array.isArray(input) && input.length > 0 && input.every((t) => typeof t === 'string')) texts = input.map(String);
  if (texts === undefined) return [400, openAiError("'input' must be a string or a non-empty list of strings", 'invalid_request_error')];
  const tokens = texts.reduce((n, t) => n + countWords(t), 0);
  return [
    200,
    {
      object: 'list',
      data: texts.map((t, index) => ({ object: 'embedding', index, embedding: embed(t) })),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
  ];
}

/**
 * @param {import('node:http').IncomingMessage} req
 * @returns {Promise<string>}
 */
async function readBody(req) {
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * @param {import('node:http').IncomingMessage} req
 * @returns {Promise<[number, unknown]>}
 */
async function answer(req) {
  const text = await readBody(req);
  const path = (req.url ?? '/').split('?')[0];
  if (req.headers.authorization !== `Bearer ${API_KEY}`) {
    return [401, openAiError('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key')];
  }
  if (req.method === 'GET' && path === '/v1/models') {
    return [200, { object: 'list', data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'flowd-example' }] }];
  }
  if (req.method !== 'POST') return [405, openAiError(`Method ${req.method ?? ''} not allowed`, 'invalid_request_error')];
  /** @type {unknown} */
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return [400, openAiError('We could not parse the JSON body of your request.', 'invalid_request_error')];
  }
  if (path === '/v1/chat/completions') return chat(body);
  if (path === '/v1/embeddings') return embeddings(body);
  return [404, openAiError(`Unknown request URL: POST ${path}.`, 'invalid_request_error', 'unknown_url')];
}

const server = createServer((req, res) => {
  answer(req).then(
    ([status, body]) => {
      say(`${req.method ?? '?'} ${req.url ?? '/'} ${status}`);
      send(res, status, body);
    },
    (/** @type {unknown} */ e) => send(res, 500, openAiError(e instanceof Error ? e.message : String(e), 'server_error')),
  );
});

server.listen(PORT, HOST, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : PORT;
  say(
    `listening on http://${HOST}:${port} (model ${MODEL}, key ${API_KEY === 'local-demo-key' ? 'local-demo-key' : '<from MODEL_SERVER_API_KEY>'})`,
  );
});

// Stop cleanly on Ctrl-C or kill.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
