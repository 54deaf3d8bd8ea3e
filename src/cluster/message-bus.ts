/**
 * The message bus between the nodes of a cluster: NATS core request/reply with queue groups
 * (a block request reaches exactly one node that serves the block) and plain publish/subscribe
 * for events every node should see. NATS reconnects by itself; while it is away, requests fail
 * fast with a retryable error and events are dropped (watchers re-read the store anyway).
 */
import { connect, ErrorCode, Events } from 'nats';
import type { NatsConnection, NatsError, Subscription } from 'nats';
import type { Logger } from 'pino';
import { internalError, timeoutError, unavailable, validationError } from '../errors.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const enc = new TextEncoder();
const dec = new TextDecoder();
const encode = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));
const decode = (b: Uint8Array): unknown => (b.length === 0 ? null : JSON.parse(dec.decode(b)));

export class MessageBus {
  readonly #nc: NatsConnection;
  readonly #logger: Logger;

  private constructor(nc: NatsConnection, logger: Logger) {
    this.#nc = nc;
    this.#logger = logger;
  }

  static async connect(url: string, name: string, logger: Logger): Promise<MessageBus> {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 5000 });
    } catch (e) {
      throw new Error(`Cannot reach the message bus at ${url} (FLOWD_BUS_URL): ${(e as Error).message}. Start NATS or fix the URL.`);
    }
    const bus = new MessageBus(nc, logger);
    void bus.#watchStatus();
    return bus;
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === Events.Disconnect || s.type === Events.Reconnect)
        this.#logger.warn({ bus: s.type, server: typeof s.data === 'string' ? s.data : undefined }, 'message bus connection changed');
    }
  }

  /** Answer requests on `subject`; with a queue group only one member gets each request. */
  serve(subject: string, queue: string | undefined, handler: (body: unknown) => Promise<unknown>): () => void {
    const sub: Subscription = this.#nc.subscribe(subject, {
      ...(queue ? { queue } : {}),
      callback: (err: NatsError | null, msg) => {
        if (err) return;
        let body: unknown;
        try {
          body = decode(msg.data);
        } catch {
          msg.respond(encode({ error: validationError('malformed bus request', { code: 'bus.malformed' }).toJSON() }));
          return;
        }
        handler(body).then(
          (out) => msg.respond(encode(out)),
          (e: unknown) =>
            msg.respond(
              encode({ error: internalError(e instanceof Error ? e.message : String(e), { code: 'bus.handler_failed' }).toJSON() }),
            ),
        );
      },
    });
    return () => sub.unsubscribe();
  }

  /** One request to one responder; a missing responder or a timeout is a retryable 503/504. */
  async request(subject: string, body: unknown, timeoutMs: number): Promise<unknown> {
    try {
      const m = await this.#nc.request(subject, encode(body), { timeout: timeoutMs, noMux: false });
      return decode(m.data);
    } catch (e) {
      const code = (e as NatsError).code;
      if (code === (ErrorCode.NoResponders as string))
        throw unavailable(`No node serves ${subject} right now`, { code: 'bus.no_responders' });
      if (code === (ErrorCode.Timeout as string))
        throw timeoutError(`No answer on ${subject} within ${timeoutMs} ms`, { code: 'bus.timeout' });
      throw unavailable(`Message bus request failed: ${(e as Error).message}`, { code: 'bus.unavailable' });
    }
  }

  publish(subject: string, body: unknown): void {
    try {
      this.#nc.publish(subject, encode(body));
    } catch (e) {
      this.#logger.debug({ err: e, subject }, 'bus publish dropped');
    }
  }

  subscribe(subject: string, handler: (body: unknown) => void): () => void {
    const sub = this.#nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        try {
          handler(decode(msg.data));
        } catch (e) {
          this.#logger.warn({ err: e, subject }, 'bad bus event');
        }
      },
    });
    return () => sub.unsubscribe();
  }

  async close(): Promise<void> {
    try {
      await this.#nc.drain();
    } catch {
      await this.#nc.close();
    }
  }
}
