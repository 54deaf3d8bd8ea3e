/**
 * Talking to flowd, through @flowd/client (the same client as the CLI's). Credentials are the
 * browser's: the client is made without a password, so the first data call meets basic auth's
 * 401 and the browser asks for the user and password, then sends them on every same-origin
 * request (the event streams included).
 */
import { FlowdClient, FlowdClientError } from '@flowd/client';

/** The flowd that serves this page (or, under `npx vite web`, the one Vite forwards to). */
export const flowd = new FlowdClient({ url: location.origin });

/** The text to show for a failed call: the server's own message when it answered. */
export function failure(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** True when flowd answered with an error status (as opposed to no answer at all). */
export function refused(e: unknown): e is FlowdClientError {
  return e instanceof FlowdClientError && e.kind === 'http';
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

/** How long to wait before opening a stream again after it ended or broke off. */
const RECONNECT_MS = 2_000;

export interface FollowOptions {
  /**
   * Opens the stream with one of the client's `watch…` calls, passing `signal` to it and calling
   * `live()` on every event; resolves when the stream ends, rejects when it is refused or broken.
   */
  stream: (signal: AbortSignal, live: () => void) => Promise<void>;
  /** Reads the same thing once; used every `everyMs` when the server refuses the stream. */
  poll?: { read: () => Promise<void>; everyMs: number };
}

/**
 * Follows a stream, reopening it when it ends or the connection breaks (the server restarted);
 * when the server refuses it (an older server, a proxy that buffers), polls instead so the page
 * still updates. Returns the function that stops following.
 */
export function follow(opts: FollowOptions): () => void {
  const controller = new AbortController();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = (fn: () => Promise<void>, ms: number): void => {
    if (!stopped) timer = setTimeout(() => void fn(), ms);
  };
  const poll = async (): Promise<void> => {
    const p = opts.poll;
    if (stopped || !p) return;
    try {
      await p.read();
      report('polling');
    } catch {
      report('offline');
    }
    later(poll, p.everyMs);
  };
  const open = async (): Promise<void> => {
    try {
      await opts.stream(controller.signal, () => report('live'));
      if (stopped) return;
      report('reconnecting');
      later(open, RECONNECT_MS);
    } catch (e) {
      if (stopped) return;
      if (refused(e)) {
        if (opts.poll) await poll();
        else report('offline');
      } else {
        report('reconnecting');
        later(open, RECONNECT_MS);
      }
    }
  };
  void open();
  return () => {
    stopped = true;
    controller.abort();
    if (timer) clearTimeout(timer);
  };
}
