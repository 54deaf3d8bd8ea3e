/**
 * Server-Sent Events responses, one implementation for every watch route: the head (with the
 * request id, since a hijacked reply skips Fastify's hooks), serialized refreshes so events
 * never go out of order, unchanged payloads not repeated, a comment every 15 s so proxies keep
 * an idle stream open, cleanup when the client leaves, and every stream ended when the server
 * closes (so a graceful shutdown does not wait for watchers).
 *
 * Streams do not outlive what let them in: each ends (with `event: end`, `{"reason": ...}`)
 * when the caller's credential is revoked (StreamGuard) and after a maximum lifetime, so a
 * credential checked once cannot be listened with forever; clients reconnect, which checks it
 * again (browsers' EventSource does so by itself).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER } from '../request-ids.js';

const HEARTBEAT_MS = 15_000;
export const DEFAULT_STREAM_MAX_LIFETIME_MS = 3_600_000;
/** setTimeout's largest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How every event stream of an app is bounded; set once with registerStreamPolicy. */
export interface StreamPolicy {
  /** Longest a stream stays open (streamMaxLifetimeMs). */
  maxLifetimeMs: number;
  /** Ends a stream when the credential of its request is revoked; returns the unwatch. */
  watchCaller?: (req: FastifyRequest, revoke: () => void) => () => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    flowdStreamPolicy: StreamPolicy | undefined;
  }
}

/** Call on the root instance before the route plugins: every EventStreams created below uses it. */
export function registerStreamPolicy(app: FastifyInstance, policy: StreamPolicy): void {
  app.decorate('flowdStreamPolicy', policy);
}

export interface StreamEvent {
  event: string;
  data: string;
  /** Ends the stream after this event (the watched thing is gone). */
  last?: boolean;
}

export interface OpenStream {
  /** Computes and sends the next event (coalesced while a refresh runs). */
  trigger: () => void;
  /** Runs when the stream ends, whoever ends it. */
  onEnd: (fn: () => void) => void;
}

export class EventStreams {
  readonly #open = new Set<() => void>();
  readonly #policy: StreamPolicy;

  constructor(app: FastifyInstance) {
    this.#policy = (app.hasDecorator('flowdStreamPolicy') ? app.flowdStreamPolicy : undefined) ?? {
      maxLifetimeMs: DEFAULT_STREAM_MAX_LIFETIME_MS,
    };
    app.addHook('preClose', async () => {
      for (const end of [...this.#open]) end();
    });
  }

  /** Hijacks `reply` into an event stream fed by `refresh` (undefined = nothing to send). */
  open(req: FastifyRequest, reply: FastifyReply, refresh: () => Promise<StreamEvent | undefined> | StreamEvent | undefined): OpenStream {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      [REQUEST_ID_HEADER]: req.id,
    });
    let closed = false;
    let running = false;
    let again = false;
    let lastText = '';
    const cleanups: Array<() => void> = [];
    const cleanup = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(beat);
      clearTimeout(lifetime);
      unwatch();
      for (const fn of cleanups) fn();
      this.#open.delete(end);
    };
    const end = (): void => {
      cleanup();
      res.end();
    };
    /** Ends the stream telling the client why (it may reconnect). */
    const endFor = (reason: 'max_lifetime' | 'access_revoked'): void => {
      if (closed) return;
      res.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
      end();
    };
    const trigger = (): void => {
      if (closed) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      Promise.resolve()
        .then(refresh)
        .then((ev) => {
          if (closed || !ev) return;
          const text = `event: ${ev.event}\ndata: ${ev.data}\n\n`;
          if (text !== lastText) {
            lastText = text;
            res.write(text);
          }
          if (ev.last === true) end();
        })
        .catch((e: unknown) => req.log.warn({ err: e, reqId: req.id, url: req.url }, 'event stream: could not compute the next event'))
        .finally(() => {
          running = false;
          if (again) {
            again = false;
            trigger();
          }
        });
    };
    const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const lifetime = setTimeout(() => endFor('max_lifetime'), Math.min(this.#policy.maxLifetimeMs, MAX_TIMER_MS));
    const unwatch = this.#policy.watchCaller?.(req, () => endFor('access_revoked')) ?? ((): void => undefined);
    this.#open.add(end);
    req.raw.on('close', cleanup);
    return { trigger, onEnd: (fn) => cleanups.push(fn) };
  }
}
