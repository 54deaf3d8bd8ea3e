/**
 * Keeps this node's flows in line with the publications in the store. Publishing writes the
 * publication, then reconciles: every node (a lone node is a one-node cluster) computes the
 * same placement from the stored publications and the live nodes, and starts, resizes,
 * republishes or stops its share. It reconciles on every announcement and membership change,
 * and on a timer (a missed announcement costs one period). Each flow's tasks are the
 * TaskQueue's: it is told when a flow starts, changes and stops.
 */
import type { Logger } from 'pino';
import { stepFailure, unavailable } from '../errors.js';
import type { BlockType } from '../blocks/block.js';
// A `custom` block runs operator code with the server's rights: its module must come from a folder the operator allowed.
import { checkCustomModule } from '../blocks/custom-block.js';
import { flowSpecToJson, parseFlowSpec } from '../blocks/flow-spec.js';
import type { FlowSpec } from '../blocks/flow-spec.js';
import type { MlService } from '../ml/ml-service.js';
import type { PublicationRecord, Store } from '../store/store.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { TurnBatch } from '../util/turn-batch.js';
import { waitUntil } from '../util/wait-until.js';
import { admit, footprintOf } from './admission.js';
import type { Capacity, Footprint } from './admission.js';
import { place } from './placement.js';
import type { Placement } from './placement.js';
import { PublishedFlow, serviceIdOf } from './published-flow.js';
import type { PreparedBlock } from './published-flow.js';
import type { RuntimeCluster, ServiceReport } from './runtime-cluster.js';
import type { RuntimeEvents } from './runtime-events.js';
import type { ServiceStatusBody } from './runtime-status.js';

/** What the controller tells the task side about each flow's life on this node. */
export interface FlowTasks {
  attach(flow: PublishedFlow, base: (blockId: string, replicas: number) => number): void;
  reset(workflowId: string): void;
  detach(workflowId: string): Promise<void>;
}

export interface PublicationControllerDeps {
  store: Store;
  ml: MlService;
  logger: Logger;
  events: RuntimeEvents;
  cluster: RuntimeCluster;
  blocks: { readonly get: (name: string) => BlockType | undefined };
  tasks: FlowTasks;
  /** This node's capacity; admission counts every live node's. */
  capacity: Capacity;
  /** Folders `custom` block modules may come from (realpaths compared); empty = none. */
  customBlockDirs: readonly string[];
  /** How often to reconcile with the stored publications anyway. */
  reconcileMs: number;
}

interface Entry {
  flow: PublishedFlow;
  footprint: Footprint;
  /** This node's share of each block's replicas (block id → instances). */
  shares: Map<string, number>;
  /** Stop answering other nodes' requests, by service id. */
  serving: Map<string, () => void>;
}

export interface Published {
  serviceIds: string[];
  mode: string;
  version: number;
}

const SYNC_WAIT_READY_MS = 5_000;
const ASYNC_WAIT_READY_MS = 120_000;
/** A publish waiting for readiness looks again this often without a notification (other nodes report by heartbeat too). */
const READY_RECHECK_MS = 100;

export class PublicationController {
  readonly #deps: PublicationControllerDeps;
  readonly #flows = new Map<string, Entry>();
  /** Publishes of one workflow run one at a time. */
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Workflows whose instances changed in this turn: one announcement each. */
  readonly #announce = new TurnBatch<string>((ids) => {
    for (const id of new Set(ids)) this.#announceStatus(id);
  });
  #timer: NodeJS.Timeout | undefined;
  #offCluster: (() => void) | undefined;
  #reconciling: Promise<void> | undefined;
  #reconcileAgain = false;
  #closed = false;

  constructor(deps: PublicationControllerDeps) {
    this.#deps = deps;
  }

  flow(workflowId: string): PublishedFlow | undefined {
    return this.#flows.get(workflowId)?.flow;
  }

  /** The workflows whose flows run on this node. */
  publishedIds(): string[] {
    return [...this.#flows.keys()];
  }

  /** What this node runs, by service id (heartbeats and GET /_flowd/nodes). */
  localReports(): Record<string, ServiceReport> {
    const out: Record<string, ServiceReport> = {};
    for (const e of this.#flows.values()) Object.assign(out, e.flow.reports());
    return out;
  }

  #serial<T>(workflowId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(workflowId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.#locks.set(workflowId, next);
    void next
      .finally(() => {
        if (this.#locks.get(workflowId) === next) this.#locks.delete(workflowId);
      })
      .catch(() => undefined);
    return next;
  }

  #parse(flow: JsonObject): FlowSpec {
    // Placeholders were substituted by provisioning: nothing may refer to a node any more.
    const spec = parseFlowSpec(flow, { blockType: this.#deps.blocks.get, provisionNodeIds: new Set() });
    for (const b of spec.blocks) if (b.type === 'custom') checkCustomModule(b.id, b.config, this.#deps.customBlockDirs);
    return spec;
  }

  async #prepare(workflowId: string, spec: FlowSpec): Promise<PreparedBlock[]> {
    const out: PreparedBlock[] = [];
    for (const block of spec.blocks) {
      const t = this.#deps.blocks.get(block.type);
      const prepared = t?.prepare ? await t.prepare(block.config, { ml: this.#deps.ml, workflowId }) : {};
      out.push({ block, prepared });
    }
    return out;
  }

  #othersFootprint(workflowId: string): Footprint {
    const f: Footprint = { instances: 0, memoryMb: 0 };
    for (const [id, e] of this.#flows) {
      if (id === workflowId) continue;
      f.instances += e.footprint.instances;
      f.memoryMb += e.footprint.memoryMb;
    }
    return f;
  }

  /** Admission counts every live node's capacity. */
  #clusterCapacity(): Capacity {
    const nodes = this.#deps.cluster.liveNodes();
    const cap = this.#deps.capacity;
    return {
      ...cap,
      maxInstances: nodes.reduce((n, x) => n + x.maxInstances, 0),
      maxInstanceMemoryMb: cap.maxInstanceMemoryMb * Math.max(1, nodes.length),
    };
  }

  /**
   * Stores the publication (every node reconciles from it), starts this node's share, then
   * waits until the services are rolled out on every node (SYNC: and usable). A first publish
   * that fails is withdrawn; a republish that fails stays, and its status says why.
   */
  publish(workflowId: string, flow: JsonObject, signal: AbortSignal): Promise<Published> {
    return this.#serial(workflowId, async () => {
      if (this.#closed) throw unavailable('flowd is shutting down', { code: 'node.shutting_down' });
      const spec = this.#parse(flow);
      const footprint = footprintOf(spec, this.#deps.capacity);
      admit(workflowId, footprint, this.#othersFootprint(workflowId), this.#clusterCapacity());
      const blocks = await this.#prepare(workflowId, spec);
      const existing = this.#flows.get(workflowId);
      if (existing && existing.flow.mode !== spec.mode) await this.#stop(workflowId, existing); // SYNC <-> ASYNC: a fresh start
      const rec = await this.#deps.store.putPublication({
        workflowId,
        mode: spec.mode,
        spec: flowSpecToJson(spec),
        desiredStatus: 'PUBLISHED',
        at: Date.now(),
      });
      this.#deps.cluster.announcePublication(workflowId);
      await this.#apply(rec, spec, blocks, footprint, this.#placement(await this.#deps.store.listPublications()));
      try {
        await this.#whenReady(workflowId, spec, signal);
      } catch (e) {
        if (rec.version === 1 || existing === undefined) await this.#withdraw(workflowId);
        throw e;
      }
      return { serviceIds: this.#flows.get(workflowId)?.flow.serviceIds() ?? [], mode: spec.mode, version: rec.version };
    });
  }

  async #whenReady(workflowId: string, spec: FlowSpec, signal: AbortSignal): Promise<void> {
    const flow = this.#flows.get(workflowId)?.flow;
    if (!flow)
      throw stepFailure(`Publishing the flow of workflow ${workflowId} failed: it was unpublished meanwhile`, {
        code: 'runtime.publish_failed',
      });
    const ready = (): true | undefined => {
      // Read without recording a transition: the status view owns what watchers see.
      const st = flow.status(undefined, (b) => this.#deps.cluster.clusterStatus(b), false);
      const services = st.details.services.filter((s: ServiceStatusBody) => s.blockId !== undefined);
      const failed = services.find((s) => s.rolloutStatus === 'Failed');
      if (failed) {
        throw stepFailure(
          `Publishing the flow of workflow ${workflowId} failed: block [${failed.blockId ?? failed.id}] failed to start: ${failed.rolloutStatusReason ?? 'unknown reason'}`,
          { code: 'runtime.publish_failed' },
        );
      }
      return services.every((s) => s.rolloutStatus === 'Complete') && (spec.mode === 'ASYNC' || st.usable) ? true : undefined;
    };
    try {
      await waitUntil(ready, flow.watch, { signal, recheckMs: READY_RECHECK_MS });
    } catch (e) {
      if (!signal.aborted) throw e;
      const reason: unknown = signal.reason;
      throw stepFailure(
        `Publishing the flow of workflow ${workflowId} failed: ${reason instanceof Error ? reason.message : 'cut off before every node was ready'}`,
        {
          code: 'runtime.publish_failed',
          cause: reason,
        },
      );
    }
  }

  /** A first publish that did not come up: as if it never was. */
  async #withdraw(workflowId: string): Promise<void> {
    const entry = this.#flows.get(workflowId);
    if (entry) await this.#stop(workflowId, entry);
    await this.#deps.store.deletePublication(workflowId);
    this.#deps.cluster.announcePublication(workflowId);
    this.#deps.events.notify(workflowId);
  }

  #placement(pubs: readonly PublicationRecord[]): Placement {
    const services = pubs.flatMap((p) => {
      const blocks = Array.isArray(p.spec['blocks']) ? p.spec['blocks'] : [];
      return blocks.flatMap((b) => {
        if (typeof b !== 'object' || b === null || Array.isArray(b)) return [];
        const id = b['id'];
        const replicas = b['replicas'];
        return typeof id === 'string'
          ? [{ key: serviceIdOf(p.workflowId, id), replicas: typeof replicas === 'number' ? replicas : 1 }]
          : [];
      });
    });
    return place(services, this.#deps.cluster.liveNodes());
  }

  /** Brings this node in line with one stored publication and the placement. */
  async #apply(pub: PublicationRecord, spec: FlowSpec, blocks: PreparedBlock[], footprint: Footprint, placement: Placement): Promise<void> {
    const mine = placement.shares.get(this.#deps.cluster.nodeId) ?? new Map<string, number>();
    const shares = new Map(spec.blocks.map((b) => [b.id, mine.get(serviceIdOf(pub.workflowId, b.id)) ?? 0]));
    let entry = this.#flows.get(pub.workflowId);
    if (!entry) {
      entry = this.#start(pub.workflowId, spec, pub.version, blocks, footprint, shares);
    } else if (entry.flow.version < pub.version) {
      entry.shares = shares;
      entry.footprint = footprint;
      await entry.flow.republish(spec, pub.version, blocks);
      this.#deps.tasks.reset(pub.workflowId);
    } else {
      entry.shares = shares;
      // An autoscaled ASYNC flow sizes its services from the work this node claims.
      const autoscaled = spec.mode === 'ASYNC' && spec.autoscaling.preset !== 'disabled';
      if (!autoscaled) for (const [blockId, n] of shares) entry.flow.service(blockId)?.setDesired(n);
      this.#deps.tasks.reset(pub.workflowId);
    }
    this.#syncServing(entry);
  }

  /** Answer other nodes' requests for the services that have instances here, and only those. */
  #syncServing(entry: Entry): void {
    for (const svc of entry.flow.services()) {
      const want = svc.desired > 0;
      const off = entry.serving.get(svc.id);
      if (want && !off) {
        entry.serving.set(
          svc.id,
          this.#deps.cluster.serve(svc.id, (input, ctx) =>
            svc.dispatch(input, { ...(ctx.correlationId !== undefined ? { correlationId: ctx.correlationId } : {}) }),
          ),
        );
      } else if (!want && off) {
        off();
        entry.serving.delete(svc.id);
      }
    }
  }

  #start(
    workflowId: string,
    spec: FlowSpec,
    version: number,
    blocks: PreparedBlock[],
    footprint: Footprint,
    shares: Map<string, number>,
  ): Entry {
    const cluster = this.#deps.cluster;
    const localShare = (blockId: string): number => this.#flows.get(workflowId)?.shares.get(blockId) ?? shares.get(blockId) ?? 0;
    const flow = new PublishedFlow(workflowId, spec, version, blocks, {
      logger: this.#deps.logger.child({ workflowId }),
      blockType: this.#deps.blocks.get,
      onChange: () => this.#changed(workflowId),
      waitReadyMs: spec.mode === 'ASYNC' ? ASYNC_WAIT_READY_MS : SYNC_WAIT_READY_MS,
      localReplicas: localShare,
      remote: {
        hasPeers: () => cluster.liveNodes().length > 1,
        canServe: (serviceId: string) => cluster.remoteReports(serviceId).some(({ report }) => report.replicas.some((r) => r.ready)),
        send: (serviceId: string, input: JsonValue, ctx: { correlationId?: string; timeoutMs: number }) =>
          cluster.send(serviceId, input, ctx),
      },
    });
    const entry: Entry = { flow, footprint, shares, serving: new Map() };
    this.#flows.set(workflowId, entry);
    flow.start();
    // This node's own instances (its placement share) bound what it claims.
    this.#deps.tasks.attach(flow, localShare);
    return entry;
  }

  unpublish(workflowId: string): Promise<boolean> {
    return this.#serial(workflowId, async () => {
      const entry = this.#flows.get(workflowId);
      if (entry) await this.#stop(workflowId, entry);
      const existed = await this.#deps.store.deletePublication(workflowId);
      this.#deps.cluster.announcePublication(workflowId);
      this.#deps.events.notify(workflowId);
      return existed || entry !== undefined;
    });
  }

  async #stop(workflowId: string, e: Entry): Promise<void> {
    this.#flows.delete(workflowId);
    for (const off of e.serving.values()) off();
    e.serving.clear();
    await this.#deps.tasks.detach(workflowId);
    await e.flow.stop();
  }

  #changed(workflowId: string): void {
    this.#deps.events.notify(workflowId);
    // Coalesced: a burst of instance changes becomes one announcement.
    this.#announce.add(workflowId);
  }

  #announceStatus(workflowId: string): void {
    const e = this.#flows.get(workflowId);
    if (!e) return;
    this.#syncServing(e);
    this.#deps.cluster.announceStatus(workflowId, e.flow.reports());
  }

  /** Reconciles every stored publication with what runs here (coalesced). */
  reconcile(): Promise<void> {
    if (this.#reconciling) {
      this.#reconcileAgain = true;
      return this.#reconciling;
    }
    const run = async (): Promise<void> => {
      do {
        this.#reconcileAgain = false;
        await this.#reconcileOnce();
      } while (this.#reconcileAgain && !this.#closed);
    };
    this.#reconciling = run().finally(() => {
      this.#reconciling = undefined;
    });
    return this.#reconciling;
  }

  async #reconcileOnce(): Promise<void> {
    if (this.#closed) return;
    const pubs = await this.#deps.store.listPublications();
    const placement = this.#placement(pubs);
    const published = new Set(pubs.map((p) => p.workflowId));
    for (const pub of pubs) {
      await this.#serial(pub.workflowId, async () => {
        if (this.#closed) return;
        const current = await this.#deps.store.getPublication(pub.workflowId);
        if (!current) return;
        const entry = this.#flows.get(pub.workflowId);
        if (entry && entry.flow.version >= current.version) {
          await this.#apply(current, entry.flow.spec, [], entry.footprint, placement);
          return;
        }
        const spec = this.#parse(current.spec);
        if (entry && entry.flow.mode !== spec.mode) await this.#stop(pub.workflowId, entry);
        const blocks = await this.#prepare(current.workflowId, spec);
        await this.#apply(current, spec, blocks, footprintOf(spec, this.#deps.capacity), placement);
      }).catch((e: unknown) => this.#deps.logger.error({ err: e, workflowId: pub.workflowId }, 'could not bring a published flow up'));
    }
    for (const [id, e] of [...this.#flows]) {
      if (!published.has(id)) await this.#serial(id, () => this.#stop(id, e));
    }
  }

  /**
   * At start: brings the stored publications up, then reconciles on every announcement and
   * membership change and every period. Returns how many flows run here.
   */
  async restore(): Promise<number> {
    await this.reconcile();
    this.#offCluster = this.#deps.cluster.onChange((ev) => {
      if (ev.kind === 'status') {
        if (ev.workflowId !== undefined) {
          this.#flows.get(ev.workflowId)?.flow.remoteChanged();
          this.#deps.events.notify(ev.workflowId);
        }
        return;
      }
      this.reconcile().catch((e: unknown) => this.#deps.logger.error({ err: e }, 'reconcile failed'));
      if (ev.kind === 'membership') {
        for (const [id, e] of this.#flows) {
          e.flow.remoteChanged();
          this.#deps.events.notify(id);
        }
      }
    });
    this.#timer = setInterval(() => {
      this.reconcile().catch((e: unknown) => this.#deps.logger.warn({ err: e }, 'reconcile failed; retrying next period'));
    }, this.#deps.reconcileMs);
    this.#timer.unref();
    return this.#flows.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#offCluster?.();
    clearInterval(this.#timer);
    await this.#reconciling?.catch(() => undefined);
    await Promise.all([...this.#flows.entries()].map(([id, e]) => this.#stop(id, e)));
  }
}
