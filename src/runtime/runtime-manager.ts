/**
 * The runtime of this node: publishes flows (the `publish_flow` step calls it through the
 * FlowPublisher port), keeps their services, serves SYNC analyses, and runs ASYNC tasks with
 * autoscaling. Publications are stored, so a restarted node brings its flows back up and
 * requeues the tasks its previous process left RUNNING.
 */
import type { Logger } from 'pino';
import { conflict, notFound, stepFailure } from '../errors.js';
import type { BlockType } from '../blocks/block.js';
import { getBlockType } from '../blocks/block-registry.js';
// A `custom` block runs operator code with the server's rights: its module must come from a folder the operator allowed.
import { checkCustomModule } from '../blocks/custom-block.js';
import { flowSpecToJson, parseFlowSpec } from '../blocks/flow-spec.js';
import type { FlowSpec } from '../blocks/flow-spec.js';
import type { MlService } from '../ml/ml-service.js';
import type { FlowPublisher } from '../steps/services.js';
import type { Store } from '../store/store.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { admit, footprintOf } from './admission.js';
import type { Capacity, Footprint } from './admission.js';
import type { ServiceReport } from './runtime-cluster.js';
import { Autoscaler } from './autoscaler.js';
import type { FlowResult } from './flow-executor.js';
import { PublishedFlow } from './published-flow.js';
import type { PreparedBlock } from './published-flow.js';
import type { RuntimeEvents } from './runtime-events.js';
import type { RuntimeStatusBody } from './runtime-status.js';
import { TaskRunner } from './task-runner.js';
import type { TaskObserver } from './task-runner.js';
import { TaskService } from './task-service.js';
import type { RuntimeCluster } from './runtime-cluster.js';
import { mergeClusterStatus } from './cluster-status.js';
import { place } from './placement.js';
import type { Placement } from './placement.js';
import { serviceIdOf } from './published-flow.js';
import type { PublicationRecord } from '../store/store.js';
import { TurnBatch } from '../util/turn-batch.js';

export interface RuntimeManagerDeps {
  store: Store;
  ml: MlService;
  logger: Logger;
  events: RuntimeEvents;
  capacity: Capacity;
  nodeId: string;
  leaseMs: number;
  /** Attempts a task gets when its runs end the instance or the node (then dead-lettered). */
  maxAttempts: number;
  taskTtlMs: number;
  shutdownGraceMs: number;
  /** Folders `custom` block modules may come from (realpaths compared); empty = none. */
  customBlockDirs: readonly string[];
  /** Metrics: task wait and run times of every ASYNC flow. */
  taskObserver?: TaskObserver;
  /** Several nodes on one store: instances placed over them, blocks reached over the bus. */
  cluster?: RuntimeCluster;
  /** Cluster: how often to reconcile with the stored publications and requeue expired tasks. */
  reconcileMs?: number;
  /** How often a task long-poll re-reads the store in case a wake-up was missed (default 1 s). */
  taskWaitRecheckMs?: number;
}

interface Entry {
  flow: PublishedFlow;
  footprint: Footprint;
  runner?: TaskRunner;
  scaler?: Autoscaler;
  /** Cluster: this node's share of each block's replicas (block id → instances). */
  shares?: Map<string, number>;
  /** Cluster: stop answering bus requests, by service id. */
  serving?: Map<string, () => void>;
}

const SYNC_WAIT_READY_MS = 5_000;
const ASYNC_WAIT_READY_MS = 120_000;
const EXPIRY_SWEEP_MS = 60_000;

export class RuntimeManager implements FlowPublisher {
  readonly #deps: RuntimeManagerDeps;
  readonly #flows = new Map<string, Entry>();
  /** Publishes of one workflow run one at a time. */
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly tasks: TaskService;
  #sweep: NodeJS.Timeout | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #reconciling: Promise<void> | undefined;
  #reconcileAgain = false;
  #offCluster: (() => void) | undefined;
  readonly #announceQueued = new Set<string>();
  /** Cluster: task ids finished in this turn, announced in one bus message. */
  readonly #doneOutbox = new TurnBatch<string>((ids) => this.#deps.cluster?.announceTasksDone(ids));
  readonly #transitions = new Map<string, { health: string; at: string }>();
  #closed = false;

  constructor(deps: RuntimeManagerDeps) {
    this.#deps = deps;
    const cluster = deps.cluster;
    this.tasks = new TaskService({
      store: deps.store,
      ttlMs: deps.taskTtlMs,
      entry: (id) => this.#flows.get(id),
      ...(cluster ? { announceDone: (taskId: string) => this.#doneOutbox.add(taskId) } : {}),
      ...(deps.taskWaitRecheckMs !== undefined ? { waitRecheckMs: deps.taskWaitRecheckMs } : {}),
    });
    // Declared before any task can finish; subscriptions end with the cluster node.
    cluster?.onTasksDone((ids) => {
      for (const id of ids) this.tasks.wake(id);
    });
  }

  readonly blockType = (name: string): BlockType | undefined => getBlockType(name);

  #serial<T>(workflowId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(workflowId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.#locks.set(workflowId, next);
    void next.finally(() => {
      if (this.#locks.get(workflowId) === next) this.#locks.delete(workflowId);
    }).catch(() => undefined);
    return next;
  }

  #parse(flow: JsonObject): FlowSpec {
    // Placeholders were substituted by provisioning: nothing may refer to a node any more.
    const spec = parseFlowSpec(flow, { blockType: this.blockType, provisionNodeIds: new Set() });
    for (const b of spec.blocks) if (b.type === 'custom') checkCustomModule(b.id, b.config, this.#deps.customBlockDirs);
    return spec;
  }

  async #prepare(workflowId: string, spec: FlowSpec): Promise<PreparedBlock[]> {
    const out: PreparedBlock[] = [];
    for (const block of spec.blocks) {
      const t = this.blockType(block.type);
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

  publish(workflowId: string, flow: JsonObject, signal: AbortSignal): Promise<{ serviceIds: string[]; mode: string; version: number }> {
    return this.#serial(workflowId, async () => {
      if (this.#closed) throw conflict('flowd is shutting down', { status: 503, retryable: true });
      const spec = this.#parse(flow);
      const footprint = footprintOf(spec, this.#deps.capacity);
      admit(workflowId, footprint, this.#othersFootprint(workflowId), this.#clusterCapacity());
      const blocks = await this.#prepare(workflowId, spec);
      if (this.#deps.cluster) return this.#publishInCluster(workflowId, spec, blocks, footprint, signal);
      const existing = this.#flows.get(workflowId);
      if (existing && existing.flow.mode === spec.mode) {
        const version = existing.flow.version + 1;
        await existing.flow.republish(spec, version, blocks);
        existing.footprint = footprint;
        existing.scaler?.reset();
        await this.#save(workflowId, spec);
        this.#changed(workflowId);
        return { serviceIds: existing.flow.serviceIds(), mode: spec.mode, version };
      }
      if (existing) await this.#stopEntry(workflowId, existing); // SYNC <-> ASYNC: a fresh start
      const stored = await this.#deps.store.getPublication(workflowId);
      const version = (stored?.version ?? 0) + 1;
      const entry = this.#start(workflowId, spec, version, blocks, footprint);
      try {
        await entry.flow.whenReady(signal);
      } catch (e) {
        await this.#stopEntry(workflowId, entry);
        throw stepFailure(`Publishing the flow of workflow ${workflowId} failed: ${e instanceof Error ? e.message : String(e)}`, {
          code: 'runtime.publish_failed',
          cause: e,
        });
      }
      await this.#save(workflowId, spec);
      this.#changed(workflowId);
      return { serviceIds: entry.flow.serviceIds(), mode: spec.mode, version };
    });
  }

  /** Admission in a cluster counts every live node's capacity. */
  #clusterCapacity(): Capacity {
    const c = this.#deps.cluster;
    if (!c) return this.#deps.capacity;
    const nodes = c.liveNodes();
    return { ...this.#deps.capacity, maxInstances: nodes.reduce((n, x) => n + x.maxInstances, 0), maxInstanceMemoryMb: this.#deps.capacity.maxInstanceMemoryMb * Math.max(1, nodes.length) };
  }

  /**
   * Cluster: store the publication first (every node reconciles from it), start this node's
   * share, then wait until the services are rolled out on all nodes.
   */
  async #publishInCluster(workflowId: string, spec: FlowSpec, blocks: PreparedBlock[], footprint: Footprint, signal: AbortSignal): Promise<{ serviceIds: string[]; mode: string; version: number }> {
    const cluster = this.#deps.cluster as RuntimeCluster;
    const existing = this.#flows.get(workflowId);
    if (existing && existing.flow.mode !== spec.mode) await this.#stopEntry(workflowId, existing);
    const rec = await this.#deps.store.putPublication({ workflowId, mode: spec.mode, spec: flowSpecToJson(spec), desiredStatus: 'PUBLISHED', at: Date.now() });
    cluster.announcePublication(workflowId);
    const placement = this.#placement(await this.#deps.store.listPublications());
    await this.#apply(rec, spec, blocks, footprint, placement);
    for (;;) {
      const st = this.status(workflowId);
      const failed = st?.details.services.find((s) => s.rolloutStatus === 'Failed');
      if (failed) {
        throw stepFailure(`Publishing the flow of workflow ${workflowId} failed: block [${failed.blockId ?? failed.id}] failed to start: ${failed.rolloutStatusReason ?? 'unknown reason'}`, { code: 'runtime.publish_failed' });
      }
      if (st && st.details.services.every((s) => s.rolloutStatus === 'Complete') && (spec.mode === 'ASYNC' || st.usable)) break;
      if (signal.aborted) throw stepFailure(`Publishing the flow of workflow ${workflowId} was cut off before every node was ready`, { code: 'runtime.publish_failed', cause: signal.reason });
      await new Promise((r) => setTimeout(r, 25));
    }
    const entry = this.#flows.get(workflowId);
    return { serviceIds: entry?.flow.serviceIds() ?? [], mode: spec.mode, version: rec.version };
  }

  #placement(pubs: readonly PublicationRecord[]): Placement {
    const cluster = this.#deps.cluster as RuntimeCluster;
    const services = pubs.flatMap((p) => {
      const blocks = Array.isArray(p.spec['blocks']) ? p.spec['blocks'] : [];
      return blocks.flatMap((b) => {
        if (typeof b !== 'object' || b === null || Array.isArray(b)) return [];
        const id = b['id'];
        const replicas = b['replicas'];
        return typeof id === 'string' ? [{ key: serviceIdOf(p.workflowId, id), replicas: typeof replicas === 'number' ? replicas : 1 }] : [];
      });
    });
    return place(services, cluster.liveNodes());
  }

  /** Cluster: bring this node in line with one stored publication and the placement. */
  async #apply(pub: PublicationRecord, spec: FlowSpec, blocks: PreparedBlock[], footprint: Footprint, placement: Placement): Promise<void> {
    const cluster = this.#deps.cluster as RuntimeCluster;
    const mine = placement.shares.get(cluster.nodeId) ?? new Map<string, number>();
    const shares = new Map(spec.blocks.map((b) => [b.id, mine.get(serviceIdOf(pub.workflowId, b.id)) ?? 0]));
    let entry = this.#flows.get(pub.workflowId);
    if (!entry) {
      entry = this.#start(pub.workflowId, spec, pub.version, blocks, footprint, shares);
    } else if (entry.flow.version < pub.version) {
      entry.shares = shares;
      entry.footprint = footprint;
      await entry.flow.republish(spec, pub.version, blocks);
      entry.scaler?.reset();
    } else {
      entry.shares = shares;
      // An autoscaled ASYNC flow sizes its services from the work this node claims.
      const autoscaled = spec.mode === 'ASYNC' && spec.autoscaling.preset !== 'disabled';
      if (!autoscaled) for (const [blockId, n] of shares) entry.flow.service(blockId)?.setDesired(n);
      entry.scaler?.reset();
    }
    this.#syncServing(entry);
  }

  /** Answer bus requests for the services that have instances here, and only those. */
  #syncServing(entry: Entry): void {
    const cluster = this.#deps.cluster;
    if (!cluster) return;
    const serving = (entry.serving ??= new Map<string, () => void>());
    for (const svc of entry.flow.services()) {
      const want = svc.desired > 0;
      const off = serving.get(svc.id);
      if (want && !off) {
        serving.set(svc.id, cluster.serve(svc.id, (input, ctx) => svc.dispatch(input, { ...(ctx.correlationId !== undefined ? { correlationId: ctx.correlationId } : {}) })));
      } else if (!want && off) {
        off();
        serving.delete(svc.id);
      }
    }
  }

  /** Cluster: reconcile every stored publication with what runs here (coalesced). */
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
    if (!this.#deps.cluster || this.#closed) return;
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
        const blocks = await this.#prepare(current.workflowId, spec);
        await this.#apply(current, spec, blocks, footprintOf(spec, this.#deps.capacity), placement);
      }).catch((e: unknown) => this.#deps.logger.error({ err: e, workflowId: pub.workflowId }, 'could not reconcile a published flow'));
    }
    for (const [id, e] of [...this.#flows]) {
      if (!published.has(id)) await this.#serial(id, () => this.#stopEntry(id, e));
    }
  }

  async #save(workflowId: string, spec: FlowSpec): Promise<void> {
    await this.#deps.store.putPublication({ workflowId, mode: spec.mode, spec: flowSpecToJson(spec), desiredStatus: 'PUBLISHED', at: Date.now() });
  }

  #start(workflowId: string, spec: FlowSpec, version: number, blocks: PreparedBlock[], footprint: Footprint, shares?: Map<string, number>): Entry {
    const onChange = (): void => this.#changed(workflowId);
    const cluster = this.#deps.cluster;
    // Declared before the flow so its callbacks read the entry's current shares.
    const entry: Entry = { flow: undefined as unknown as PublishedFlow, footprint, ...(shares ? { shares } : {}) };
    const flow = new PublishedFlow(workflowId, spec, version, blocks, {
      logger: this.#deps.logger.child({ workflowId }),
      blockType: this.blockType,
      onChange,
      waitReadyMs: spec.mode === 'ASYNC' ? ASYNC_WAIT_READY_MS : SYNC_WAIT_READY_MS,
      ...(cluster
        ? {
            localReplicas: (blockId: string) => entry.shares?.get(blockId) ?? 0,
            remote: {
              canServe: (serviceId: string) => cluster.remoteReports(serviceId).some(({ report }) => report.replicas.some((r) => r.ready)),
              send: (serviceId: string, input: JsonValue, ctx: { correlationId?: string; timeoutMs: number }) => cluster.send(serviceId, input, ctx),
            },
          }
        : {}),
    });
    entry.flow = flow;
    this.#flows.set(workflowId, entry);
    flow.start();
    if (spec.mode === 'ASYNC') {
      const runner = new TaskRunner(workflowId, {
        store: this.#deps.store,
        owner: this.#deps.nodeId,
        leaseMs: this.#deps.leaseMs,
        maxAttempts: this.#deps.maxAttempts,
        logger: this.#deps.logger,
        flow: () => this.#flows.get(workflowId)?.flow,
        onDone: (taskId) => this.tasks.done(taskId),
        // Task counts are this node's own: local watchers only (the cluster hears of instance
        // changes, not of every claim and result batch).
        onChange: () => this.#deps.events.notify(workflowId),
        observer: this.#deps.taskObserver,
      });
      entry.runner = runner;
      // In a cluster, this node's own instances (its placement share) bound what it claims.
      entry.scaler = new Autoscaler(flow, runner, onChange, cluster ? (blockId) => entry.shares?.get(blockId) ?? 0 : undefined);
      entry.scaler.start();
      void runner.start().catch((e: unknown) => this.#deps.logger.error({ err: e, workflowId }, 'task runner failed to start'));
    }
    return entry;
  }

  unpublish(workflowId: string): Promise<boolean> {
    return this.#serial(workflowId, async () => {
      const entry = this.#flows.get(workflowId);
      if (entry) await this.#stopEntry(workflowId, entry);
      const existed = await this.#deps.store.deletePublication(workflowId);
      this.#deps.cluster?.announcePublication(workflowId);
      this.#changed(workflowId);
      return existed || entry !== undefined;
    });
  }

  async #stopEntry(workflowId: string, e: Entry): Promise<void> {
    this.#flows.delete(workflowId);
    for (const off of e.serving?.values() ?? []) off();
    e.serving?.clear();
    e.scaler?.stop();
    await e.runner?.stop(this.#deps.shutdownGraceMs);
    await e.flow.stop();
  }

  #changed(workflowId: string): void {
    this.#deps.events.notify(workflowId);
    const cluster = this.#deps.cluster;
    if (!cluster || this.#announceQueued.has(workflowId)) return;
    // Coalesced: a burst of instance changes becomes one announcement.
    this.#announceQueued.add(workflowId);
    setImmediate(() => {
      this.#announceQueued.delete(workflowId);
      const e = this.#flows.get(workflowId);
      if (e) {
        this.#syncServing(e);
        cluster.announceStatus(workflowId, e.flow.reports());
      }
    });
  }

  /** Cluster: what this node runs, by service id (heartbeats and GET /_flowd/nodes). */
  localReports(): Record<string, ServiceReport> {
    const out: Record<string, ServiceReport> = {};
    for (const e of this.#flows.values()) Object.assign(out, e.flow.reports());
    return out;
  }

  isPublished(workflowId: string): boolean {
    return this.#flows.has(workflowId);
  }

  /** The workflows whose flows run on this node (metrics). */
  publishedIds(): string[] {
    return [...this.#flows.keys()];
  }

  status(workflowId: string): RuntimeStatusBody | undefined {
    const e = this.#flows.get(workflowId);
    if (!e) return undefined;
    const local = e.flow.status(e.runner && e.scaler ? { queued: e.runner.queued, running: e.runner.running, targets: e.scaler.targets } : undefined);
    const cluster = this.#deps.cluster;
    if (!cluster) return local;
    const merged = mergeClusterStatus(local, cluster.nodeId, (id) => cluster.remoteReports(id));
    const last = this.#transitions.get(workflowId);
    if (!last || last.health !== merged.actualStatus) this.#transitions.set(workflowId, { health: merged.actualStatus, at: new Date().toISOString() });
    return { ...merged, lastTransitionTime: this.#transitions.get(workflowId)?.at ?? merged.lastTransitionTime };
  }

  /** SYNC: run the flow now. ASYNC ("all-in-one"): submit a task, wait for it, delete it. */
  async analyze(workflowId: string, input: JsonValue, opts: { correlationId?: string; verbose?: boolean; signal?: AbortSignal; timeoutMs: number }): Promise<FlowResult> {
    const e = this.#flows.get(workflowId);
    if (!e) throw notFound(`Workflow ${workflowId} is not published`, { code: 'runtime.not_published' });
    if (e.flow.mode === 'SYNC') {
      if (!e.flow.canServe()) {
        const st = this.status(workflowId);
        throw conflict(`Workflow ${workflowId} is not usable yet (${st?.actualStatus ?? 'ORANGE'}: ${st?.message ?? 'services starting'}); retry when action/status says usable.`, {
          status: 503,
          code: 'runtime.not_usable',
          retryable: true,
          headers: { 'retry-after': '1' },
        });
      }
      return e.flow.execute(input, opts);
    }
    return this.tasks.runAllInOne(workflowId, input, opts);
  }

  /** At start: requeue what a dead process left RUNNING, bring stored publications back up. */
  async restore(): Promise<number> {
    const requeued = await this.#deps.store.requeueOrphanedTasks(this.#deps.nodeId, Date.now());
    if (requeued > 0) this.#deps.logger.info({ requeued }, 'requeued tasks left running by a previous process');
    if (this.#deps.cluster) return this.#startClusterLoops();
    const pubs = await this.#deps.store.listPublications();
    for (const p of pubs) {
      try {
        const spec = this.#parse(p.spec);
        const blocks = await this.#prepare(p.workflowId, spec);
        this.#start(p.workflowId, spec, p.version, blocks, footprintOf(spec, this.#deps.capacity));
      } catch (e) {
        this.#deps.logger.error({ err: e, workflowId: p.workflowId }, 'could not bring a published flow back up');
      }
    }
    this.#sweep = setInterval(() => {
      void this.#deps.store.deleteExpiredTasks(Date.now()).catch((e: unknown) => this.#deps.logger.warn({ err: e }, 'task expiry sweep failed'));
    }, EXPIRY_SWEEP_MS);
    this.#sweep.unref();
    return pubs.length;
  }

  /**
   * Cluster: reconcile now, on every announcement and membership change, and on a timer (a
   * missed announcement costs one period); requeue tasks whose node stopped renewing them.
   */
  async #startClusterLoops(): Promise<number> {
    const cluster = this.#deps.cluster as RuntimeCluster;
    await this.reconcile();
    this.#offCluster = cluster.onChange((ev) => {
      if (ev.kind === 'status') {
        if (ev.workflowId !== undefined) this.#deps.events.notify(ev.workflowId);
        return;
      }
      void this.reconcile().catch((e: unknown) => this.#deps.logger.error({ err: e }, 'reconcile failed'));
      if (ev.kind === 'membership') for (const id of this.#flows.keys()) this.#deps.events.notify(id);
    });
    const period = this.#deps.reconcileMs ?? 1000;
    const tick = async (): Promise<void> => {
      const n = await this.#deps.store.requeueOrphanedTasks(this.#deps.nodeId, Date.now());
      if (n > 0) {
        this.#deps.logger.warn({ requeued: n }, 'requeued tasks whose node stopped renewing their lease');
        for (const e of this.#flows.values()) e.runner?.kick();
      }
      await this.reconcile();
    };
    this.#reconcileTimer = setInterval(() => {
      tick().catch((e: unknown) => this.#deps.logger.warn({ err: e }, 'cluster reconcile failed; retrying next period'));
    }, period);
    this.#reconcileTimer.unref();
    this.#sweep = setInterval(() => {
      void this.#deps.store.deleteExpiredTasks(Date.now()).catch((e: unknown) => this.#deps.logger.warn({ err: e }, 'task expiry sweep failed'));
    }, EXPIRY_SWEEP_MS);
    this.#sweep.unref();
    return this.#flows.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#offCluster?.();
    if (this.#reconcileTimer) clearInterval(this.#reconcileTimer);
    await this.#reconciling?.catch(() => undefined);
    if (this.#sweep) clearInterval(this.#sweep);
    await Promise.all([...this.#flows.entries()].map(([id, e]) => this.#stopEntry(id, e)));
  }
}
