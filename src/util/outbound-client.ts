/**
 * Every outbound HTTP call goes through here, under one `OutboundPolicy` (outbound-policy.ts):
 * - the URL (and every redirect target) is checked against the scheme and the allow list;
 * - the host is resolved (all its addresses), each address checked, and the connection pinned
 *   to the checked address (a custom `lookup`), so a DNS answer that changes between the check
 *   and the connect (rebinding) cannot send the call elsewhere;
 * - redirects are followed by hand, a few hops at most, never to another host nor from https
 *   down to http;
 * - the answer is read as a stream and the call aborted past `maxResponseBytes`.
 *
 * Secret parts of a request (`Secret`) are revealed only here, when the request is built, and
 * no error of this module quotes a URL's path, query, user info, a header or a body: callers
 * put the unresolved template in their own messages.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import { stepFailure, validationError } from '../errors.js';
import type { MaybeSecret } from './secret.js';
import { reveal } from './secret.js';
import type { OutboundPolicy } from './outbound-policy.js';
import { CompiledOutboundPolicy, DEFAULT_OUTBOUND_POLICY, ipLiteral } from './outbound-policy.js';

export interface OutboundRequest {
  method: string;
  url: MaybeSecret;
  headers?: Readonly<Record<string, MaybeSecret>>;
  body?: MaybeSecret;
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string>;
  /** The body as UTF-8 text (at most `maxResponseBytes`). */
  text: string;
}

export interface OutboundClientOptions {
  /**
   * Send through this `fetch` instead of node:http (tests that capture requests). Policy
   * checks still run, but the connection cannot be pinned to the checked address.
   */
  fetch?: typeof fetch;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

interface Prepared {
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A response whose body is not read yet. */
interface Pending {
  status: number;
  headers: Record<string, string>;
  read(max: number): Promise<string>;
  discard(): void;
}

const tooLarge = (max: number): Error =>
  stepFailure(`the answer is larger than ${max} bytes (FLOWD_OUTBOUND_MAX_RESPONSE_BYTES / outboundMaxResponseBytes)`, {
    status: 502,
    code: 'outbound.response_too_large',
  });

function unreachable(e: unknown): Error {
  // fetch says "fetch failed" and keeps the real reason (ECONNREFUSED…) in `cause`.
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return stepFailure(detail, { status: 502, code: 'outbound.unreachable', retryable: true, cause: e });
}

function flatHeaders(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** A `lookup` that answers the address already checked, whatever the name resolves to now. */
function pinnedLookup(pin: LookupAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) callback(null, [pin]);
    else callback(null, pin.address, pin.family);
  };
}

async function readCapped(chunks: AsyncIterable<Uint8Array>, max: number, abort: () => void): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.byteLength;
    if (size > max) {
      abort();
      throw tooLarge(max);
    }
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts).toString('utf8');
}

function declaredTooLarge(headers: Record<string, string>, max: number): boolean {
  const n = Number(headers['content-length']);
  return Number.isFinite(n) && n > max;
}

export class OutboundClient {
  readonly policy: OutboundPolicy;
  readonly #checks: CompiledOutboundPolicy;
  readonly #fetch: typeof fetch | undefined;
  // Own agents, so a socket kept alive under one client's policy is never reused under another's.
  readonly #httpAgent = new http.Agent({ keepAlive: true });
  readonly #httpsAgent = new https.Agent({ keepAlive: true });

  constructor(policy: OutboundPolicy = DEFAULT_OUTBOUND_POLICY, opts: OutboundClientOptions = {}) {
    this.policy = policy;
    this.#checks = new CompiledOutboundPolicy(policy);
    this.#fetch = opts.fetch;
  }

  /** Sends the request under the policy and reads the answer (redirects to the same host followed). */
  async request(req: OutboundRequest): Promise<OutboundResponse> {
    let url: URL;
    try {
      url = new URL(reveal(req.url));
    } catch {
      throw validationError('the URL is not a valid absolute URL', { code: 'outbound.invalid_url' });
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k] = reveal(v);
    let prepared: Prepared = { method: req.method.toUpperCase(), headers, body: req.body === undefined ? undefined : reveal(req.body) };
    for (let hop = 0; ; hop++) {
      const res = await this.#send(url, prepared, req.signal);
      const location = res.headers['location'];
      if (!REDIRECTS.has(res.status) || location === undefined) {
        if (declaredTooLarge(res.headers, this.policy.maxResponseBytes)) {
          res.discard();
          throw tooLarge(this.policy.maxResponseBytes);
        }
        const text = await this.#guard(req.signal, () => res.read(this.policy.maxResponseBytes));
        return { status: res.status, headers: res.headers, text };
      }
      res.discard();
      if (hop >= MAX_REDIRECTS) {
        throw stepFailure(`more than ${MAX_REDIRECTS} redirects`, { status: 502, code: 'outbound.too_many_redirects' });
      }
      url = this.#redirectTarget(url, location);
      prepared = redirected(prepared, res.status);
    }
  }

  #redirectTarget(from: URL, location: string): URL {
    let next: URL;
    try {
      next = new URL(location, from);
    } catch {
      throw stepFailure(`the answer redirects to an invalid URL`, { status: 502, code: 'outbound.redirect_refused' });
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw stepFailure(`the answer redirects to a ${next.protocol} URL, which outbound calls do not follow`, {
        status: 502,
        code: 'outbound.redirect_refused',
      });
    }
    if (next.host !== from.host) {
      throw stepFailure(`the answer redirects from ${from.host} to another host (${next.host}), which outbound calls do not follow`, {
        status: 502,
        code: 'outbound.redirect_refused',
      });
    }
    if (from.protocol === 'https:' && next.protocol === 'http:') {
      throw stepFailure(`the answer redirects from https down to http, which outbound calls do not follow`, {
        status: 502,
        code: 'outbound.redirect_refused',
      });
    }
    return next;
  }

  /** The caller's abort wins over whatever error it caused. */
  async #guard<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (signal?.aborted === true) throw signal.reason;
      throw e;
    }
  }

  /** Checks the URL and its addresses; the address to connect to, when it must be pinned. */
  async #check(url: URL): Promise<LookupAddress | undefined> {
    this.#checks.checkUrl(url);
    if (!this.#checks.checksAddresses) return undefined;
    const literal = ipLiteral(url);
    if (literal !== undefined) {
      this.#checks.checkAddress(literal, literal);
      return { address: literal, family: literal.includes(':') ? 6 : 4 };
    }
    let addresses: LookupAddress[];
    try {
      addresses = await dnsLookup(url.hostname, { all: true, verbatim: true });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw stepFailure(`could not resolve ${url.hostname} (${typeof code === 'string' ? code : (e as Error).message})`, {
        status: 502,
        code: 'outbound.unreachable',
        retryable: true,
        cause: e,
      });
    }
    for (const a of addresses) this.#checks.checkAddress(url.hostname, a.address);
    const first = addresses[0];
    if (first === undefined)
      throw stepFailure(`could not resolve ${url.hostname}`, { status: 502, code: 'outbound.unreachable', retryable: true });
    return first;
  }

  async #send(url: URL, req: Prepared, signal: AbortSignal | undefined): Promise<Pending> {
    const pin = await this.#check(url);
    return this.#guard(signal, () => (this.#fetch ? this.#viaFetch(this.#fetch, url, req, signal) : this.#viaNode(url, req, signal, pin)));
  }

  #viaNode(url: URL, req: Prepared, signal: AbortSignal | undefined, pin: LookupAddress | undefined): Promise<Pending> {
    const secure = url.protocol === 'https:';
    const headers = { ...req.headers };
    if (req.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
      headers['content-length'] = String(Buffer.byteLength(req.body));
    }
    const options: https.RequestOptions = { method: req.method, headers, agent: secure ? this.#httpsAgent : this.#httpAgent };
    if (signal !== undefined) options.signal = signal;
    if (pin !== undefined) options.lookup = pinnedLookup(pin);
    return new Promise<Pending>((resolve, reject) => {
      let outgoing: http.ClientRequest;
      try {
        outgoing = (secure ? https : http).request(url, options, (res) => {
          resolve({
            status: res.statusCode ?? 0,
            headers: flatHeaders(res.headers),
            read: (max) => readCapped(res, max, () => res.destroy()),
            discard: () => res.destroy(),
          });
        });
      } catch (e) {
        // Invalid header names or values are refused before anything is sent.
        reject(validationError(`the request cannot be sent: ${(e as Error).message}`, { code: 'outbound.invalid_request', cause: e }));
        return;
      }
      outgoing.on('error', (e) => reject(unreachable(e)));
      outgoing.end(req.body);
    });
  }

  async #viaFetch(f: typeof fetch, url: URL, req: Prepared, signal: AbortSignal | undefined): Promise<Pending> {
    const init: RequestInit = { method: req.method, headers: req.headers, redirect: 'manual' };
    if (signal !== undefined) init.signal = signal;
    if (req.body !== undefined) init.body = req.body;
    let res: Response;
    try {
      res = await f(url.toString(), init);
    } catch (e) {
      throw unreachable(e);
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    const body = res.body;
    return {
      status: res.status,
      headers,
      read: (max) => (body === null ? Promise.resolve('') : readCapped(body, max, () => void body.cancel().catch(() => undefined))),
      discard: () => void body?.cancel().catch(() => undefined),
    };
  }
}

/** The request to send to a redirect target (303, and 301/302 after a POST, become a GET without body, as browsers do). */
function redirected(req: Prepared, status: number): Prepared {
  const toGet = (status === 303 && req.method !== 'HEAD') || ((status === 301 || status === 302) && req.method === 'POST');
  if (!toGet) return req;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (!/^content-(type|length)$/i.test(k)) headers[k] = v;
  return { method: 'GET', headers, body: undefined };
}
