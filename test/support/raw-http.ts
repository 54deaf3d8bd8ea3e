/**
 * A bare HTTP client for adversarial tests and benchmarks (node:http, no fetch): sends any
 * bytes with any headers (malformed query strings, wrong content types, huge bodies), can
 * choose its source address inside 127.0.0.0/8 (so per-address throttling sees distinct
 * clients), never waits longer than `timeoutMs`, keeps at most `keepBytes` of the answer, and
 * stops reading an event stream once its headers arrived.
 */
import http from 'node:http';

export interface RawRequest {
  /** e.g. http://127.0.0.1:9200 */
  base: string;
  method: string;
  /** Path and query, sent as given (only characters Node refuses are escaped). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Source address, e.g. 127.0.0.7. */
  localAddress?: string;
  timeoutMs: number;
  /** How much of the response body to keep (the rest is read and counted). Default 64 KiB. */
  keepBytes?: number;
  /** A keep-alive agent to reuse connections; default a new connection per request. */
  agent?: http.Agent;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The first `keepBytes` of the body, as UTF-8. */
  text: string;
  bodyBytes: number;
  ms: number;
  /** True when the answer was an event stream and reading stopped after its headers. */
  stream: boolean;
  /** The connection was reset after the answer began (the server answered without reading the request body). */
  cutShort?: boolean;
}

/**
 * Why a request got no answer: `timeout` (nothing within timeoutMs), `connection` (refused, or
 * reset once the request was sent), or `closed-while-sending` (the server closed the connection
 * before it had read the whole body: an early rejection whose answer the reset swallowed).
 */
export class NoAnswer extends Error {
  constructor(
    readonly reason: 'timeout' | 'connection' | 'closed-while-sending',
    message: string,
  ) {
    super(message);
    this.name = 'NoAnswer';
  }
}

/** Node refuses raw spaces, control and non-ASCII characters in a request path: escape only those. */
export function sendablePath(path: string): string {
  return path.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
}

export function rawRequest(r: RawRequest): Promise<RawResponse> {
  const url = new URL(r.base);
  const keep = r.keepBytes ?? 64 * 1024;
  const t0 = performance.now();
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const headers: Record<string, string | number> = { ...(r.headers ?? {}) };
    if (r.body !== undefined) headers['content-length'] = Buffer.byteLength(r.body);
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: r.method,
      path: sendablePath(r.path),
      headers,
      agent: r.agent ?? false,
      ...(r.localAddress !== undefined ? { localAddress: r.localAddress } : {}),
    });
    const timer = setTimeout(() => {
      finish(() => reject(new NoAnswer('timeout', `no answer to ${r.method} ${r.path.slice(0, 200)} within ${r.timeoutMs} ms`)));
      req.destroy();
    }, r.timeoutMs);
    let sent = false;
    req.on('finish', () => (sent = true));
    req.on('error', (e: NodeJS.ErrnoException) => {
      // EPIPE: we were still writing when the server closed; a reset before our body was out: same.
      // A body larger than the socket buffers may count as "out" (finish) while the server has not
      // read it yet: a reset then is the same early refusal (a server that died instead is caught
      // by the health and log checks of the suites that send such bodies).
      const bulky = r.body !== undefined && Buffer.byteLength(r.body) > 64 * 1024;
      const early = r.body !== undefined && (e.code === 'EPIPE' || (e.code === 'ECONNRESET' && (!sent || bulky)));
      finish(() =>
        reject(new NoAnswer(early ? 'closed-while-sending' : 'connection', `${r.method} ${r.path.slice(0, 200)}: ${e.message}`)),
      );
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        finish(() => resolve({ status, headers: res.headers, text: '', bodyBytes: 0, ms: performance.now() - t0, stream: true }));
        res.destroy();
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let kept = 0;
      let total = 0;
      res.on('data', (c: Buffer) => {
        total += c.length;
        if (kept < keep) {
          const part = c.subarray(0, keep - kept);
          chunks.push(part);
          kept += part.length;
        }
      });
      res.on('end', () => finish(() => resolve(done(false))));
      const done = (cutShort: boolean): RawResponse => ({
        status,
        headers: res.headers,
        text: Buffer.concat(chunks).toString('utf8'),
        bodyBytes: total,
        ms: performance.now() - t0,
        stream: false,
        ...(cutShort ? { cutShort } : {}),
      });
      res.on('error', (e) =>
        // The server answered without reading our body (it closes such connections), and the reset
        // that closing causes cut the answer short: the answer stands.
        finish(() =>
          r.body !== undefined
            ? resolve(done(true))
            : reject(new NoAnswer('connection', `${r.method} ${r.path.slice(0, 200)}: response: ${e.message}`)),
        ),
      );
    });
    req.end(r.body);
  });
}

/** `rawRequest` that returns the NoAnswer instead of throwing it (for load loops that count failures). */
export async function tryRawRequest(r: RawRequest): Promise<RawResponse | NoAnswer> {
  try {
    return await rawRequest(r);
  } catch (e) {
    if (e instanceof NoAnswer) return e;
    throw e;
  }
}

export const basicAuth = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

/** GET with a JSON body (fetch cannot send one), as OpenSearch clients and the spec stories send searches. */
export function getWithJsonBody(base: string, path: string, body: unknown, authorization: string): Promise<RawResponse> {
  return rawRequest({
    base,
    method: 'GET',
    path,
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    timeoutMs: 10_000,
  });
}
