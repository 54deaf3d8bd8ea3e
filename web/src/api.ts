/**
 * Talking to flowd: JSON calls and live streams. Credentials are the browser's: the first data
 * call meets basic auth's 401 and the browser asks for the user and password, then sends them on
 * every same-origin request (EventSource included).
 */

export const FF = '/_plugins/_flow_framework/workflow';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export interface HttpResult {
  status: number;
  body: unknown;
  text: string;
  ms: number;
}

/** The message in any of flowd's error bodies: `{error}`, `{errors: [{message}]}`, OpenSearch's `{error: {reason}}`. */
export function errorMessage(body: unknown, status: number): string {
  if (typeof body === 'object' && body !== null) {
    const b = body as { error?: unknown; errors?: Array<{ message?: unknown; node?: unknown }> };
    if (typeof b.error === 'string') return b.error;
    const first = b.errors?.[0];
    if (first && typeof first.message === 'string') return typeof first.node === 'string' ? `${first.node}: ${first.message}` : first.message;
    if (typeof b.error === 'object' && b.error !== null && typeof (b.error as { reason?: unknown }).reason === 'string') return (b.error as { reason: string }).reason;
  }
  return `HTTP ${status}`;
}

export async function request(method: string, path: string, body?: unknown): Promise<HttpResult> {
  const t0 = performance.now();
  const init: RequestInit = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, ms: performance.now() - t0 };
}

export async function getJson<T>(path: string): Promise<T> {
  const r = await request('GET', path);
  if (r.status < 200 || r.status >= 300) throw new HttpError(r.status, errorMessage(r.body, r.status), r.body);
  return r.body as T;
}

export type ConnectionMode = 'live' | 'polling' | 'reconnecting' | 'offline';
const connectionListeners = new Set<(mode: ConnectionMode) => void>();

/** Called with how the page currently follows the server. */
export function onConnection(fn: (mode: ConnectionMode) => void): void {
  connectionListeners.add(fn);
}

function report(mode: ConnectionMode): void {
  for (const fn of connectionListeners) fn(mode);
}

export interface WatchOptions {
  /** The Server-Sent Events URL. */
  url: string;
  /** Handlers by event name; each gets the event's parsed JSON data. */
  on: Record<string, (data: unknown) => void>;
  /** Where to poll, and which handler gets the result, when the stream is refused. */
  poll?: { url: string; event: string; everyMs: number; onMissing?: () => void };
}

/**
 * Follows a stream; when the server refuses it (an older server, a proxy that buffers), polls
 * instead so the page still updates. Returns the function that stops following.
 */
export function watch(opts: WatchOptions): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const es = new EventSource(opts.url);
  for (const [name, fn] of Object.entries(opts.on)) {
    es.addEventListener(name, (ev) => {
      report('live');
      fn(JSON.parse((ev as MessageEvent<string>).data) as unknown);
    });
  }
  es.onopen = () => report('live');
  const poll = async (): Promise<void> => {
    const p = opts.poll;
    if (stopped || !p) return;
    try {
      const r = await request('GET', p.url);
      if (r.status === 200) {
        report('polling');
        opts.on[p.event]?.(r.body);
      } else if (r.status === 404) p.onMissing?.();
      else report('offline');
    } catch {
      report('offline');
    }
    if (!stopped) timer = setTimeout(() => void poll(), p.everyMs);
  };
  es.onerror = () => {
    if (stopped) return;
    // CONNECTING: the browser retries by itself (the server restarted). CLOSED: it was refused.
    if (es.readyState === EventSource.CLOSED) {
      if (opts.poll) void poll();
      else report('offline');
    } else report('reconnecting');
  };
  return () => {
    stopped = true;
    es.close();
    if (timer) clearTimeout(timer);
  };
}
