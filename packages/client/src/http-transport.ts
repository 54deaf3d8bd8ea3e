/**
 * The client's HTTP plumbing: URLs, credentials per API (basic auth for management calls,
 * X-API-KEY for the runtime API), JSON calls, and every failure turned into a
 * FlowdClientError carrying the server's message.
 */
import type { JsonValue } from './client-types.js';
import { FlowdClientError, serverMessage } from './flowd-client-error.js';

export type Api = 'management' | 'runtime';

export interface TransportOptions {
  url: string;
  user?: string;
  password?: string;
  apiKey?: string;
  fetch?: typeof globalThis.fetch;
}

export interface CallOptions {
  api?: Api;
  query?: Record<string, string | undefined>;
  /** A JSON value, or raw text with `contentType`. */
  json?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface Answer {
  status: number;
  body: JsonValue | undefined;
  headers: Headers;
}

export class HttpTransport {
  readonly url: string;
  readonly user: string;
  readonly #password: string | undefined;
  readonly #apiKey: string | undefined;
  readonly #fetch: typeof globalThis.fetch;

  constructor(opts: TransportOptions) {
    let parsed: URL;
    try {
      parsed = new URL(opts.url);
    } catch {
      throw new TypeError(`Invalid flowd URL [${opts.url}]: give an http(s) URL such as http://127.0.0.1:9200`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`Invalid flowd URL [${opts.url}]: only http:// and https:// are supported`);
    }
    this.url = opts.url.replace(/\/+$/, '');
    this.user = opts.user ?? 'admin';
    this.#password = opts.password;
    this.#apiKey = opts.apiKey;
    // Always called as a plain function: browsers refuse `fetch` called as a method of another
    // object ("Illegal invocation"), which `this.#fetch(…)` would be.
    const custom = opts.fetch;
    this.#fetch = custom ? (input, init) => custom(input, init) : (input, init) => globalThis.fetch(input, init);
  }

  urlOf(path: string, query: Record<string, string | undefined> = {}): string {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, v);
    const s = qs.toString();
    return `${this.url}${path}${s === '' ? '' : `?${s}`}`;
  }

  authHeaders(api: Api): Record<string, string> {
    if (api === 'runtime') {
      if (this.#apiKey === undefined || this.#apiKey === '') {
        throw new FlowdClientError({
          status: 0,
          kind: 'missing_credentials',
          message: 'the runtime API needs an API key (X-API-KEY)',
          api,
          method: '',
          url: this.url,
        });
      }
      return { 'x-api-key': this.#apiKey };
    }
    if (this.#password === undefined) return {};
    return { authorization: `Basic ${base64(`${this.user}:${this.#password}`)}` };
  }

  /**
   * A call's JSON body, as the type the route's schema declares (the server serializes every
   * answer from that schema: src/server/contract/, wire-types.ts).
   */
  async json<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    return (await this.call(method, path, opts)).body as T;
  }

  async call(method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
    const api = opts.api ?? 'management';
    const url = this.urlOf(path, opts.query);
    const headers: Record<string, string> = { accept: 'application/json', ...this.authHeaders(api), ...(opts.headers ?? {}) };
    let body: string | undefined;
    if (opts.text !== undefined) {
      body = opts.text;
      headers['content-type'] = opts.contentType ?? 'application/json';
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    }
    const res = await this.send(method, url, headers, body, api, opts.signal);
    if (!res) throw new FlowdClientError({ status: 0, kind: 'connection', message: 'the request was aborted', api, method, url });
    if (!res.ok) throw await this.httpError(res, method, url, api);
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : parseJson(text, url), headers: res.headers };
  }

  /** fetch, with "no answer" turned into a connection error (undefined when `signal` aborted it). */
  async send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    api: Api,
    signal?: AbortSignal,
  ): Promise<Response | undefined> {
    try {
      return await this.#fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), ...(signal ? { signal } : {}) });
    } catch (e) {
      if (signal?.aborted) return undefined;
      throw new FlowdClientError({
        status: 0,
        kind: 'connection',
        message: `cannot reach flowd at ${this.url}: ${describeCause(e)}`,
        api,
        method,
        url,
        cause: e,
      });
    }
  }

  async httpError(res: Response, method: string, url: string, api: Api): Promise<FlowdClientError> {
    const text = await res.text().catch(() => '');
    let body: JsonValue | undefined;
    try {
      body = text === '' ? undefined : (JSON.parse(text) as JsonValue);
    } catch {
      body = undefined;
    }
    return new FlowdClientError({
      status: res.status,
      kind: 'http',
      message: serverMessage(body, text, res.status),
      body,
      api,
      method,
      url,
    });
  }

  revoked(api: Api, url: string, detail?: string): FlowdClientError {
    const who = api === 'runtime' ? 'the API key (X-API-KEY)' : `the login of user ${this.user}`;
    const how = api === 'runtime' ? 'deleted or rotated' : 'deleted, or its password or roles changed';
    return new FlowdClientError({
      status: 401,
      kind: 'auth',
      message: `${who} was revoked while watching (${how}); the event stream stopped${detail !== undefined ? `: ${detail}` : ''}`,
      api,
      method: 'GET',
      url,
    });
  }
}

/** Base64 of the text's UTF-8 bytes (what basic auth sends), with what browsers and Node both have. */
function base64(text: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** JSON text the server wrote from a route schema, as that schema's type. */
export function parseJson<T = JsonValue>(text: string, url: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new FlowdClientError({
      status: 0,
      kind: 'bad_response',
      message: `the answer from ${url} is not JSON: ${text.slice(0, 200)}`,
      api: 'management',
      method: '',
      url,
    });
  }
}

/** fetch's "fetch failed" hides the useful part (ECONNREFUSED, ENOTFOUND, …) in `cause`. */
function describeCause(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return e instanceof Error ? e.message : String(e);
}
