/**
 * The stream: how an input reaches an instance of a block's service and its output comes back
 * (NL Flow's "stream" service, `details.stream` in the status). On one node it is an in-process
 * channel to the local Service; a cluster implements the same interface over a message bus
 * (request/reply to whichever node holds a ready instance).
 */
import { internalError } from '../errors.js';
import type { JsonValue } from '../util/json.js';
import { sleep } from '../util/sleep.js';
import type { Instance } from './instances/instance.js';
import type { Service } from './instances/service.js';

export interface StreamContext {
  signal: AbortSignal;
  correlationId?: string;
}

export interface Stream {
  /** Sends `input` to one instance of the block's service; resolves with its output. */
  send(blockId: string, input: JsonValue, ctx: StreamContext): Promise<JsonValue>;
  /**
   * Sends `input` through a chain of blocks (each the only upstream of the next) in one go,
   * instance to instance; resolves with the last block's output. Undefined when some block
   * has no ready instance here: the caller then sends block by block.
   */
  sendChain(blockIds: readonly string[], input: JsonValue, ctx: StreamContext): Promise<JsonValue> | undefined;
}

/** One ready local instance per block, first to last, or undefined if some block has none. */
function chainOf(services: ReadonlyMap<string, Service>, blockIds: readonly string[]): Instance[] | undefined {
  const out: Instance[] = [];
  for (const id of blockIds) {
    const inst = services.get(id)?.pickReady();
    if (!inst) return undefined;
    out.push(inst);
  }
  return out;
}

function runChain(services: ReadonlyMap<string, Service>, blockIds: readonly string[], input: JsonValue, ctx: StreamContext): Promise<JsonValue> | undefined {
  const chain = chainOf(services, blockIds);
  if (!chain) return undefined;
  const [first, ...rest] = chain as [Instance, ...Instance[]];
  return first.runThrough(rest, input, ctx);
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

  sendChain(blockIds: readonly string[], input: JsonValue, ctx: StreamContext): Promise<JsonValue> | undefined {
    return runChain(this.#services, blockIds, input, ctx);
  }
}

/** The other nodes' instances of a service, reached over the bus (cluster mode). */
export interface RemoteServices {
  canServe(serviceId: string): boolean;
  send(serviceId: string, input: JsonValue, ctx: StreamContext & { timeoutMs: number }): Promise<JsonValue>;
}

/** How often a request waiting for a ready instance anywhere in the cluster looks again. */
const READY_POLL_MS = 20;

/**
 * Cluster mode: a block runs on this node when it has a ready instance here, otherwise on a
 * node that has a ready one, through the bus. When none is ready anywhere (a cold start, a
 * re-placement), the request waits for the first that is, here or elsewhere, up to the
 * service's wait. (Waiting only for a local instance could strand it: placement may put the
 * instance on another node, or move the local one away before it starts.)
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
    return this.#route(svc, input, ctx) ?? this.#whenReady(svc, input, ctx);
  }

  /** Only when every block of the chain has a ready instance on this node. */
  sendChain(blockIds: readonly string[], input: JsonValue, ctx: StreamContext): Promise<JsonValue> | undefined {
    return runChain(this.#services, blockIds, input, ctx);
  }

  /** To a ready instance here, else to one elsewhere; undefined when none is ready. */
  #route(svc: Service, input: JsonValue, ctx: StreamContext): Promise<JsonValue> | undefined {
    if (svc.canServe) return svc.dispatch(input, ctx);
    // The remote node applies the block's own time limit; the margin covers the hop.
    if (this.#remote.canServe(svc.id)) return this.#remote.send(svc.id, input, { ...ctx, timeoutMs: svc.spec.limits.timeoutMs + 5_000 });
    return undefined;
  }

  async #whenReady(svc: Service, input: JsonValue, ctx: StreamContext): Promise<JsonValue> {
    const started = Date.now();
    for (;;) {
      await sleep(READY_POLL_MS, ctx.signal); // rejects when the caller gives up
      const sent = this.#route(svc, input, ctx);
      if (sent) return sent;
      if (Date.now() - started >= svc.waitReadyMs) throw svc.unavailableError(svc.waitReadyMs);
    }
  }
}
