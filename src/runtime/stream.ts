/**
 * The stream: how an input reaches an instance of a block's service and its output comes back
 * (NL Flow's "stream" service, `details.stream` in the status). On one node it is an in-process
 * channel to the local Service; a cluster implements the same interface over a message bus
 * (request/reply to whichever node holds a ready instance).
 */
import { internalError } from '../errors.js';
import type { JsonValue } from '../template/types.js';
import type { Service } from './instances/service.js';

export interface StreamContext {
  signal: AbortSignal;
  correlationId?: string;
}

export interface Stream {
  /** Sends `input` to one instance of the block's service; resolves with its output. */
  send(blockId: string, input: JsonValue, ctx: StreamContext): Promise<JsonValue>;
}

export class InProcessStream implements Stream {
  readonly #services: ReadonlyMap<string, Service>;

  constructor(services: ReadonlyMap<string, Service>) {
    this.#services = services;
  }

  send(blockId: string, input: JsonValue, ctx: StreamContext): Promise<JsonValue> {
    const svc = this.#services.get(blockId);
    if (!svc) return Promise.reject(internalError(`block ${blockId} has no service on this node`));
    return svc.dispatch(input, ctx);
  }
}

/** The other nodes' instances of a service, reached over the bus (cluster mode). */
export interface RemoteServices {
  canServe(serviceId: string): boolean;
  send(serviceId: string, input: JsonValue, ctx: StreamContext & { timeoutMs: number }): Promise<JsonValue>;
}

/**
 * Cluster mode: a block runs on this node when it has a ready instance here, otherwise on a
 * node that has a ready one, through the bus; only when none is ready anywhere does it wait
 * here for an instance to start. (Waiting here for a local instance while another node had a
 * ready one could strand the request: placement may move the local one away before it starts.)
 */
export class ClusterStream implements Stream {
  readonly #services: ReadonlyMap<string, Service>;
  readonly #remote: RemoteServices;

  constructor(services: ReadonlyMap<string, Service>, remote: RemoteServices) {
    this.#services = services;
    this.#remote = remote;
  }

  send(blockId: string, input: JsonValue, ctx: StreamContext): Promise<JsonValue> {
    const svc = this.#services.get(blockId);
    if (!svc) return Promise.reject(internalError(`block ${blockId} has no service on this node`));
    if (svc.canServe || !this.#remote.canServe(svc.id)) return svc.dispatch(input, ctx);
    // The remote node applies the block's own time limit; the margin covers the hop.
    return this.#remote.send(svc.id, input, { ...ctx, timeoutMs: svc.spec.limits.timeoutMs + 5_000 });
  }
}
