/**
 * Server-Sent Events responses, one implementation for every watch route: the head (with the
 * request id, since a hijacked reply skips Fastify's hooks), serialized refreshes so events
 * never go out of order, unchanged payloads not repeated, a comment every 15 s so proxies keep
 * an idle stream open, cleanup when the client leaves, and every stream ended when the server
 * closes (so a graceful shutdown does not wait for watchers).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER } from '../request-ids.js';

const HEARTBEAT_MS = 15_000;

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

  constructor(app: FastifyInstance) {
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
      for (const fn of cleanups) fn();
      this.#open.delete(end);
    };
    const end = (): void => {
      cleanup();
      res.end();
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
    this.#open.add(end);
    req.raw.on('close', cleanup);
    return { trigger, onEnd: (fn) => cleanups.push(fn) };
  }
}
