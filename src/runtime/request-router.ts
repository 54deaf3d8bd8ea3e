/**
 * Routes a block's input to an instance of its service and brings the output back (NL Flow's
 * "stream" service, `details.stream` in the status): to a ready instance on this node, else
 * to a node that has one, over the cluster's bus. When none is ready anywhere (a cold start, a
 * re-placement) the request waits for the first that is, here or elsewhere, up to the
 * service's wait. A node with no peers hands it to the local service, which queues it until
 * one of its instances is ready.
 */
import { internalError, isFlowdError } from '../errors.js';
import type { JsonValue } from '../util/json.js';
import { waitUntil } from '../util/wait-until.js';
import type { Watch } from '../util/wait-until.js';
import type { Instance } from './instances/instance.js';
import type { Service } from './instances/service.js';

export interface RouteContext {
  signal: AbortSignal;
  correlationId?: string;
}

/** The other nodes' instances of a service, reached over the cluster. */
export interface RemoteServices {
  /** Some other node is live (it may get instances of the service). */
  hasPeers(): boolean;
  canServe(serviceId: string): boolean;
  send(serviceId: string, input: JsonValue, ctx: RouteContext & { timeoutMs: number }): Promise<JsonValue>;
}

/** A node alone: nothing elsewhere, no notifications to wait for. */
export const NO_PEERS: RemoteServices = {
  hasPeers: () => false,
  canServe: () => false,
  send: () => Promise.reject(internalError('this node has no peers')),
};

const noWatch: Watch = () => () => undefined;

/** A waiting request looks again this often even without a change notification (remote state arrives by heartbeat too). */
const RECHECK_MS = 50;

/**
 * After the bus said nobody serves a service (a node that died reports its instances until its
 * heartbeat expires), requests stop trying other nodes for it this long and wait for a ready
 * instance instead.
 */
const NO_RESPONDERS_BACKOFF_MS = 250;

const noResponders = (e: unknown): boolean => isFlowdError(e) && e.code === 'bus.no_responders';

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

interface Routed {
  sent: Promise<JsonValue>;
  /** Sent to another node over the bus. */
  remote: boolean;
}

export class RequestRouter {
  readonly #services: ReadonlyMap<string, Service>;
  readonly #remote: RemoteServices;
  readonly #watch: Watch;
  /** Service id → until when other nodes are not tried (the bus had no responder for it). */
  readonly #refused = new Map<string, number>();

  /** `watch`: notified when an instance here or on another node may have become ready. */
  constructor(services: ReadonlyMap<string, Service>, remote: RemoteServices = NO_PEERS, watch: Watch = noWatch) {
    this.#services = services;
    this.#remote = remote;
    this.#watch = watch;
  }

  /** Sends `input` to one instance of the block's service; resolves with its output. */
  send(blockId: string, input: JsonValue, ctx: RouteContext): Promise<JsonValue> {
    const svc = this.#services.get(blockId);
    if (!svc) return Promise.reject(internalError(`block ${blockId} has no service on this node`));
    const deadline = Date.now() + svc.waitReadyMs;
    const routed = this.#route(svc, input, ctx);
    if (routed) return this.#orWait(routed, svc, input, ctx, deadline);
    return this.#remote.hasPeers() ? this.#whenReady(svc, input, ctx, deadline) : svc.dispatch(input, ctx);
  }

  /** A remote send nobody answered (its node is gone) waits for a ready instance instead, until `deadline`. */
  #orWait(routed: Routed, svc: Service, input: JsonValue, ctx: RouteContext, deadline: number): Promise<JsonValue> {
    if (!routed.remote) return routed.sent;
    return routed.sent.catch((e: unknown) => {
      if (!noResponders(e) || Date.now() >= deadline) throw e;
      this.#refused.set(svc.id, Date.now() + NO_RESPONDERS_BACKOFF_MS);
      return this.#whenReady(svc, input, ctx, deadline);
    });
  }

  /**
   * Sends `input` through a chain of blocks (each the only upstream of the next) in one go,
   * instance to instance; resolves with the last block's output. Undefined when some block has
   * no ready instance on this node: the caller then sends block by block.
   */
  sendChain(blockIds: readonly string[], input: JsonValue, ctx: RouteContext): Promise<JsonValue> | undefined {
    const chain = chainOf(this.#services, blockIds);
    if (!chain) return undefined;
    const [first, ...rest] = chain as [Instance, ...Instance[]];
    return first.runThrough(rest, input, ctx);
  }

  /** To a ready instance here, else to one elsewhere; undefined when none is ready. */
  #route(svc: Service, input: JsonValue, ctx: RouteContext): Routed | undefined {
    if (svc.canServe) return { sent: svc.dispatch(input, ctx), remote: false };
    const refusedUntil = this.#refused.get(svc.id);
    if (refusedUntil !== undefined) {
      if (Date.now() < refusedUntil) return undefined;
      this.#refused.delete(svc.id);
    }
    // The remote node applies the block's own time limit; the margin covers the hop.
    if (this.#remote.canServe(svc.id))
      return { sent: this.#remote.send(svc.id, input, { ...ctx, timeoutMs: svc.spec.limits.timeoutMs + 5_000 }), remote: true };
    return undefined;
  }

  async #whenReady(svc: Service, input: JsonValue, ctx: RouteContext, deadline: number): Promise<JsonValue> {
    const routed = await waitUntil(() => this.#route(svc, input, ctx), this.#watch, {
      signal: ctx.signal,
      timeoutMs: Math.max(0, deadline - Date.now()),
      recheckMs: RECHECK_MS,
    });
    if (!routed) throw svc.unavailableError(svc.waitReadyMs);
    return this.#orWait(routed, svc, input, ctx, deadline);
  }
}
