/**
 * Watching a flowd event stream (Server-Sent Events) across reconnects: the server ends every
 * stream after its maximum lifetime and a connection may break off; both are reopened.
 */
import { FlowdClientError } from './flowd-client-error.js';
import type { Api, HttpTransport } from './http-transport.js';
import { SseParser } from './sse-parser.js';
import type { SseMessage } from './sse-parser.js';

/** Reopening a broken event stream: first wait, doubled per failed try up to the max, tries in a row. */
const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 4_000;
const RECONNECT_TRIES = 5;

/** How one event-stream connection ended: for good, at its maximum lifetime, or broken off. */
type StreamOutcome = 'ended' | 'lifetime' | 'broken';

/**
 * GET `path?watch=true` as Server-Sent Events, each message to `onMessage`, across
 * reconnects: the server ends every stream after its maximum lifetime (`event: end`, reason
 * `max_lifetime`), and a connection may break off; both are reopened (a broken one after a
 * short backoff, giving up after RECONNECT_TRIES failed tries in a row). The event a reopened
 * stream starts with is skipped when it repeats the last one seen. Resolves when the server
 * ends the stream for good (the watched thing is gone, or the server shut down) or `signal`
 * aborts; rejects with a FlowdClientError otherwise, of kind `auth` when the credential was
 * revoked.
 */
export async function watchStream(
  http: HttpTransport,
  path: string,
  api: Api,
  signal: AbortSignal | undefined,
  onMessage: (m: SseMessage, url: string) => void,
  query: Record<string, string | undefined> = {},
): Promise<void> {
  const url = http.urlOf(path, { ...query, watch: 'true' });
  let last: SseMessage | undefined;
  let reopened = false;
  let failures = 0;
  for (;;) {
    let skipRepeat = reopened;
    let outcome: StreamOutcome;
    try {
      outcome = await streamOnce(
        http,
        url,
        api,
        signal,
        reopened,
        () => (failures = 0),
        (m) => {
          const repeat = skipRepeat && last !== undefined && m.event === last.event && m.data === last.data;
          skipRepeat = false;
          last = m;
          if (!repeat) onMessage(m, url);
        },
      );
    } catch (e) {
      // The first connection's failures are the caller's to see; a reopened one is retried.
      if (!reopened || !(e instanceof FlowdClientError) || e.kind !== 'connection' || failures >= RECONNECT_TRIES) throw e;
      outcome = 'broken';
    }
    if (outcome === 'ended' || signal?.aborted) return;
    reopened = true;
    if (outcome === 'broken') {
      await sleep(Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** failures++), signal);
      if (signal?.aborted) return;
    }
  }
}

/** One connection of #stream: how it ended (or throws). `opened` runs once the server accepted it. */
async function streamOnce(
  http: HttpTransport,
  url: string,
  api: Api,
  signal: AbortSignal | undefined,
  reopened: boolean,
  opened: () => void,
  onMessage: (m: SseMessage) => void,
): Promise<StreamOutcome> {
  const res = await http.send('GET', url, { ...http.authHeaders(api), accept: 'text/event-stream' }, undefined, api, signal);
  if (!res) return 'ended'; // aborted before an answer
  if (!res.ok) {
    const err = await http.httpError(res, 'GET', url, api);
    // Refused on reopening: the credential went away between two connections.
    if (reopened && res.status === 401) throw http.revoked(api, url, err.message);
    throw err;
  }
  if (!res.body)
    throw new FlowdClientError({
      status: res.status,
      kind: 'bad_response',
      message: 'the event stream has no body',
      api,
      method: 'GET',
      url,
    });
  opened();
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        return 'ended';
      }
      for (const m of parser.push(decoder.decode(value, { stream: true }))) {
        if (signal?.aborted) return 'ended';
        if (m.event !== 'end') {
          onMessage(m);
          continue;
        }
        const reason = endReason(m.data);
        if (reason === 'access_revoked') throw http.revoked(api, url);
        if (reason === 'max_lifetime') return 'lifetime';
        return 'ended';
      }
    }
  } catch (e) {
    if (signal?.aborted) return 'ended';
    if (e instanceof FlowdClientError) throw e;
    return 'broken';
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
  }
}

/** The `reason` of an `event: end` message (`{"reason": ...}`), or undefined. */
function endReason(data: string): string | undefined {
  try {
    const v = JSON.parse(data) as unknown;
    const r = v !== null && typeof v === 'object' ? (v as { reason?: unknown }).reason : undefined;
    return typeof r === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
