/**
 * A real HTTP server on 127.0.0.1 that speaks the OpenAI request/response shapes flowd's
 * connectors are written for: `POST /v1/chat/completions` and `POST /v1/embeddings`, with
 * `Authorization: Bearer <key>` checked (401 with OpenAI's error body otherwise). Answers are
 * deterministic (chat echoes the last user message; embeddings hash the text), requests are
 * recorded, and failures or delays can be injected.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonObject, JsonValue } from '../../src/util/json.js';
import { readBody, sendJson } from './http-bodies.js';

export interface FakeModelServerOptions {
  /** The API key clients must send as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** Embedding size (default 8). */
  dimensions?: number;
}

export interface RecordedModelRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  headers: Record<string, string>;
  body: JsonValue | undefined;
}

interface Injected {
  status: number;
  body: JsonValue;
}

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const openAiError = (message: string, type: string, code: string | null = null): JsonObject => ({
  error: { message, type, param: null, code },
});

/** A deterministic unit vector per text. */
function embed(text: string, dims: number): number[] {
  const digest = createHash('sha256').update(text).digest();
  const raw = Array.from({ length: dims }, (_, i) => (digest[i % digest.length] ?? 0) / 255 - 0.5);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

export class FakeModelServer {
  readonly requests: RecordedModelRequest[] = [];
  /** Milliseconds to wait before answering (timeouts, aborts). */
  delayMs = 0;
  readonly #opts: Required<FakeModelServerOptions>;
  readonly #injected: Injected[] = [];
  readonly #server = createServer((req, res) => void this.#handle(req, res));
  #url = '';

  private constructor(opts: FakeModelServerOptions) {
    this.#opts = { dimensions: 8, ...opts };
  }

  static async start(opts: FakeModelServerOptions): Promise<FakeModelServer> {
    const s = new FakeModelServer(opts);
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.#url = `http://127.0.0.1:${(s.#server.address() as AddressInfo).port}`;
    return s;
  }

  /** e.g. `http://127.0.0.1:43121` */
  get url(): string {
    return this.#url;
  }

  /** The next request (after the auth check) is answered with this instead. */
  failNext(status: number, body: JsonValue = openAiError('The server had an error while processing your request.', 'server_error')): void {
    this.#injected.push({ status, body });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    let body: JsonValue | undefined;
    let badJson = false;
    try {
      body = text === '' ? undefined : (JSON.parse(text) as JsonValue);
    } catch {
      badJson = true;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    this.requests.push({ method: req.method ?? 'GET', path, authorization: req.headers.authorization, headers, body });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (res.destroyed) return;

    if (req.headers.authorization !== `Bearer ${this.#opts.apiKey}`) {
      sendJson(res, 401, openAiError('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
      return;
    }
    const injected = this.#injected.shift();
    if (injected) return sendJson(res, injected.status, injected.body);
    if (badJson) return sendJson(res, 400, openAiError('We could not parse the JSON body of your request.', 'invalid_request_error'));
    if (req.method !== 'POST') return sendJson(res, 405, openAiError(`Method ${req.method ?? ''} not allowed`, 'invalid_request_error'));
    if (path === '/v1/chat/completions') return sendJson(res, ...this.#chat(body));
    if (path === '/v1/embeddings') return sendJson(res, ...this.#embeddings(body));
    sendJson(res, 404, openAiError(`Unknown request URL: POST ${path}.`, 'invalid_request_error', 'unknown_url'));
  }

  #chat(body: JsonValue | undefined): [number, JsonValue] {
    if (!isObject(body) || typeof body['model'] !== 'string')
      return [400, openAiError('you must provide a model parameter', 'invalid_request_error')];
    const messages = body['messages'];
    if (!Array.isArray(messages) || messages.length === 0)
      return [400, openAiError("'messages' is a required property", 'invalid_request_error')];
    const lastUser = [...messages].reverse().find((m) => isObject(m) && m['role'] === 'user');
    const prompt = isObject(lastUser) && typeof lastUser['content'] === 'string' ? lastUser['content'] : '';
    const content = `Echo: ${prompt}`;
    const promptTokens = prompt.split(/\s+/).filter(Boolean).length;
    const completionTokens = content.split(/\s+/).length;
    return [
      200,
      {
        id: 'chatcmpl-fake',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body['model'],
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      },
    ];
  }

  #embeddings(body: JsonValue | undefined): [number, JsonValue] {
    if (!isObject(body) || typeof body['model'] !== 'string')
      return [400, openAiError('you must provide a model parameter', 'invalid_request_error')];
    const input = body['input'];
    const texts =
      typeof input === 'string' ? [input] : Array.isArray(input) && input.every((t) => typeof t === 'string') ? input : undefined;
    if (texts === undefined || texts.length === 0)
      return [400, openAiError("'input' must be a string or a list of strings", 'invalid_request_error')];
    const tokens = texts.reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0);
    return [
      200,
      {
        object: 'list',
        data: texts.map((t, index) => ({ object: 'embedding', index, embedding: embed(t, this.#opts.dimensions) })),
        model: body['model'],
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      },
    ];
  }
}

/**
 * The body of an ML Commons connector to this server's OpenAI chat route (what the connector
 * API, `create_connector` steps and inline `connector`s take), authenticated with `apiKey`.
 */
export function openAiChatConnector(endpoint: string, apiKey: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'OpenAI Chat Connector',
    description: 'chat',
    version: '1',
    protocol: 'http',
    parameters: { endpoint, model: 'gpt-4o-mini' },
    credential: { openAI_key: apiKey },
    actions: [
      {
        action_type: 'predict',
        method: 'POST',
        url: '${parameters.endpoint}/v1/chat/completions',
        headers: { Authorization: 'Bearer ${credential.openAI_key}' },
        request_body: '{ "model": "${parameters.model}", "messages": ${parameters.messages} }',
      },
    ],
    ...extra,
  };
}
