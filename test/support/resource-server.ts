/**
 * A small REST API for `http_request` steps to create resources on, with the behaviour a real
 * one has: POST creates (honouring Idempotency-Key, so a retried request returns the first
 * result), DELETE removes (404 when gone), and knobs to fail, delay or stall requests.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

export interface Created {
  id: string;
  key: string | undefined;
  name: string | undefined;
  at: number;
}

export class ResourceServer {
  url = '';
  readonly created = new Map<string, Created>();
  readonly byKey = new Map<string, string>();
  /** Every POST that actually created something (duplicates would show here). */
  readonly creations: Created[] = [];
  readonly deletions: string[] = [];
  readonly requests: Array<{ method: string; path: string; key: string | undefined }> = [];
  /** Per resource name: fail this many POSTs with 500 first. */
  readonly failFirst = new Map<string, number>();
  /** Per resource name: delay (ms) before answering. */
  readonly delayMs = new Map<string, number>();
  defaultDelayMs = 0;
  /** Delay (ms) after creating and before answering: a crash in this window tests replays. */
  respondDelayMs = 0;
  /** Names whose POST always fails with this status. */
  readonly failAlways = new Map<string, number>();
  inFlight = 0;
  maxInFlight = 0;
  aborted = 0;
  #server: Server | undefined;

  async start(): Promise<string> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    const addr = this.#server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    this.url = `http://127.0.0.1:${addr.port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const key = req.headers['idempotency-key'] as string | undefined;
    this.requests.push({ method: req.method ?? 'GET', path, key });
    const name = path.split('/')[2];
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let closed = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        closed = true;
        this.aborted++;
      }
    });
    try {
      const delay = (name ? this.delayMs.get(name) : undefined) ?? this.defaultDelayMs;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (closed) return;
      if (req.method === 'POST' && path.startsWith('/things/')) {
        const always = name ? this.failAlways.get(name) : undefined;
        if (always) return this.#send(res, always, { error: `${name} always fails` });
        const left = name ? (this.failFirst.get(name) ?? 0) : 0;
        if (left > 0 && name) {
          this.failFirst.set(name, left - 1);
          return this.#send(res, 500, { error: 'transient failure' });
        }
        if (key && this.byKey.has(key)) return this.#send(res, 200, { id: this.byKey.get(key), replayed: true });
        const c: Created = { id: randomUUID(), key, name, at: Date.now() };
        this.created.set(c.id, c);
        if (key) this.byKey.set(key, c.id);
        this.creations.push(c);
        if (this.respondDelayMs > 0) await new Promise((r) => setTimeout(r, this.respondDelayMs));
        return this.#send(res, 201, { id: c.id, name });
      }
      if (req.method === 'DELETE' && path.startsWith('/things/')) {
        const id = path.split('/')[2] ?? '';
        this.deletions.push(id);
        if (!this.created.delete(id)) return this.#send(res, 404, { error: 'not found' });
        return this.#send(res, 200, { deleted: id });
      }
      if (path.startsWith('/broken/')) return this.#send(res, 500, { error: 'this endpoint is broken' });
      return this.#send(res, 404, { error: 'no route' });
    } finally {
      this.inFlight--;
    }
  }

  #send(res: ServerResponse, status: number, body: unknown): void {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

/** An http_request node creating `/things/<name>` on the server, deletable on deprovision. */
export function thingNode(
  url: string,
  id: string,
  extra: Record<string, unknown> = {},
  prev: Record<string, string> = {},
): Record<string, unknown> {
  return {
    id,
    type: 'http_request',
    previous_node_inputs: prev,
    user_inputs: {
      method: 'POST',
      url: `${url}/things/${id}`,
      body: { name: id },
      id_path: '/id',
      delete_url: `${url}/things/\${resource_id}`,
      ...extra,
    },
  };
}
