/**
 * A real HTTP server on 127.0.0.1 for tests of outbound calls: it records every request and
 * answers by path, the way a hostile or careless remote service would:
 * - `/echo…`: 200 with the request (method, path, headers, body) as JSON;
 * - `/deny…`: 401 echoing the request in the error body;
 * - `/chat…`: an OpenAI-shaped chat answer that also echoes the Authorization header;
 * - `/redirect?to=<url>&status=<3xx>`: a redirect; `/loop`: a redirect to itself;
 * - `/big?bytes=<n>[&chunked=1]`: n bytes, with or without Content-Length;
 * - anything else: 200 `{"ok":true,"path":…}`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, sendJson } from './http-bodies.js';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface OutboundTarget {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

async function handle(req: IncomingMessage, res: ServerResponse, requests: RecordedRequest[]): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
  const rec: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers, body: await readBody(req) };
  requests.push(rec);
  const u = new URL(rec.path, 'http://target');
  if (u.pathname.startsWith('/echo')) return sendJson(res, 200, rec);
  if (u.pathname.startsWith('/deny')) return sendJson(res, 401, { error: 'invalid credentials', request: rec });
  if (u.pathname.startsWith('/chat')) {
    return sendJson(res, 200, {
      choices: [{ message: { role: 'assistant', content: 'hi' } }],
      seen_authorization: headers['authorization'] ?? null,
    });
  }
  if (u.pathname === '/loop') {
    res.writeHead(302, { location: '/loop' });
    res.end();
    return;
  }
  if (u.pathname === '/redirect') {
    res.writeHead(Number(u.searchParams.get('status') ?? 302), { location: u.searchParams.get('to') ?? '/' });
    res.end();
    return;
  }
  if (u.pathname === '/big') {
    const bytes = Number(u.searchParams.get('bytes') ?? 0);
    const chunked = u.searchParams.get('chunked') === '1';
    res.writeHead(200, { 'content-type': 'text/plain', ...(chunked ? {} : { 'content-length': String(bytes) }) });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('error', () => undefined); // the client may hang up past its cap
    pump();
    return;
  }
  sendJson(res, 200, { ok: true, path: rec.path });
}

export async function startOutboundTarget(): Promise<OutboundTarget> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    handle(req, res, requests).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
