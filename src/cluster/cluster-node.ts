/**
 * This node's membership of a cluster: it reports itself in the store's node table every
 * heartbeat (capacity and the instances it runs), knows which nodes are alive (a node that
 * misses heartbeats for nodeTtlMs is dead: its instances are re-placed, its leases expire),
 * and talks to the other nodes over the message bus: block requests (request/reply, one queue
 * group per service), publication and status announcements, provisioning state changes.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { FlowdError, internalError, stepFailure, timeoutError } from '../errors.js';
import type { SerializedError } from '../errors.js';
import type { PlacementNode } from '../runtime/placement.js';
import { mergeClusterStatus } from '../runtime/cluster-status.js';
import type { NodeMembership, RemoteRequestContext, ServiceReport } from '../runtime/runtime-cluster.js';
import type { RuntimeStatusBody } from '../runtime/runtime-status.js';
import type { NodeRecord, Store } from '../store/store.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { MessageBus } from './message-bus.js';

export interface ClusterNodeOptions {
  store: Store;
  bus: MessageBus;
  logger: Logger;
  nodeId: string;
  /** Read at every heartbeat: the listen address is known only after the first one. */
  url: () => string;
  heartbeatMs: number;
  nodeTtlMs: number;
  maxInstances: number;
  version: string;
  /** Names this cluster on the bus: the same for every node of one store (e.g. a hash of its URL). */
  clusterKey: string;
  /** This node's services, read at every heartbeat. */
  reports: () => Record<string, ServiceReport>;
}

/** Rows of nodes dead this long are removed from the table. */
const FORGET_DEAD_MS = 3_600_000;

/** Subjects are scoped by cluster, so clusters sharing one NATS server never hear each other. */
const subjects = (cluster: string) => ({
  service: (serviceId: string) => `flowd.${cluster}.svc.${serviceId}`,
  publication: `flowd.${cluster}.ev.publication`,
  status: `flowd.${cluster}.ev.status`,
  state: `flowd.${cluster}.ev.state`,
  tasksDone: `flowd.${cluster}.ev.tasks-done`,
});

interface NodeView {
  record: NodeRecord;
  /** Reports by service id, with the time they were made (the newest wins). */
  services: Map<string, { at: number; report: ServiceReport }>;
}

type ChangeEvent = { kind: 'publication' | 'status' | 'membership'; workflowId?: string };

/** What a served request that failed answers: its FlowdError, or an unknown error as the block failure it is (a timeout: retryable). */
function remoteError(e: unknown): FlowdError {
  if (e instanceof FlowdError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof Error && e.name === 'TimeoutError') return timeoutError(message, { code: 'block.timeout' });
  return stepFailure(message, { code: 'block.failed', status: 422 });
}

export class ClusterNode implements NodeMembership {
  readonly nodeId: string;
  readonly #o: ClusterNodeOptions;
  readonly #ee = new EventEmitter();
  readonly #startedAt = Date.now();
  /** Live nodes other than this one. */
  #others = new Map<string, NodeView>();
  #timer: NodeJS.Timeout | undefined;
  #subs: Array<() => void> = [];
  #stopped = false;
  readonly #subject: ReturnType<typeof subjects>;

  constructor(o: ClusterNodeOptions) {
    this.#o = o;
    this.#subject = subjects(o.clusterKey);
    this.nodeId = o.nodeId;
    this.#ee.setMaxListeners(0);
  }

  /** First heartbeat and the node list, then the loop. */
  async start(): Promise<void> {
    this.#subs.push(
      this.#o.bus.subscribe(this.#subject.publication, (b) => {
        const m = b as { from?: string; workflowId?: string };
        if (m.from !== this.nodeId && typeof m.workflowId === 'string' && m.workflowId !== '')
          this.#emit({ kind: 'publication', workflowId: m.workflowId });
      }),
      this.#o.bus.subscribe(this.#subject.status, (b) => this.#onStatus(b)),
    );
    await this.#beat();
    const loop = (): void => {
      if (this.#stopped) return;
      this.#beat()
        .catch((e: unknown) => this.#o.logger.warn({ err: e }, 'heartbeat failed; retrying'))
        .finally(() => {
          if (!this.#stopped) {
            this.#timer = setTimeout(loop, this.#o.heartbeatMs);
            this.#timer.unref();
          }
        });
    };
    this.#timer = setTimeout(loop, this.#o.heartbeatMs);
    this.#timer.unref();
  }

  #info(): JsonObject {
    return {
      capacity: { maxInstances: this.#o.maxInstances },
      version: this.#o.version,
      services: this.#o.reports() as unknown as JsonObject,
    };
  }

  async #beat(): Promise<void> {
    const now = Date.now();
    await this.#o.store.heartbeatNode({
      nodeId: this.nodeId,
      url: this.#o.url(),
      startedAt: this.#startedAt,
      heartbeatAt: now,
      info: this.#info(),
    });
    const rows = await this.#o.store.listNodes();
    const next = new Map<string, NodeView>();
    for (const r of rows) {
      if (r.nodeId === this.nodeId) continue;
      if (now - r.heartbeatAt > this.#o.nodeTtlMs) {
        if (now - r.heartbeatAt > FORGET_DEAD_MS) await this.#o.store.removeNode(r.nodeId);
        continue;
      }
      const prev = this.#others.get(r.nodeId);
      const view: NodeView = { record: r, services: prev?.services ?? new Map<string, { at: number; report: ServiceReport }>() };
      const reported = r.info['services'];
      if (reported && typeof reported === 'object' && !Array.isArray(reported)) {
        // The heartbeat is the whole truth as of heartbeatAt: drop services the node no longer runs.
        for (const id of view.services.keys()) if (!(id in reported)) view.services.delete(id);
        for (const [id, rep] of Object.entries(reported)) {
          const cur = view.services.get(id);
          if (!cur || cur.at <= r.heartbeatAt) view.services.set(id, { at: r.heartbeatAt, report: rep as unknown as ServiceReport });
        }
      }
      next.set(r.nodeId, view);
    }
    const changed = next.size !== this.#others.size || [...next.keys()].some((id) => !this.#others.has(id));
    const gone = [...this.#others.keys()].filter((id) => !next.has(id));
    this.#others = next;
    if (gone.length > 0) this.#o.logger.warn({ nodes: gone }, 'nodes stopped sending heartbeats: re-placing their instances');
    if (changed) this.#emit({ kind: 'membership' });
  }

  #onStatus(b: unknown): void {
    const m = b as { from?: string; at?: number; workflowId?: string; services?: Record<string, ServiceReport> };
    if (!m.from || m.from === this.nodeId || typeof m.workflowId !== 'string' || !m.services) return;
    const view = this.#others.get(m.from);
    if (!view) return; // not live yet: its first heartbeat brings the same
    const at = m.at ?? Date.now();
    for (const [id, rep] of view.services) if (rep.report.workflowId === m.workflowId && !(id in m.services)) view.services.delete(id);
    for (const [id, report] of Object.entries(m.services)) {
      const cur = view.services.get(id);
      if (!cur || cur.at <= at) view.services.set(id, { at, report });
    }
    this.#emit({ kind: 'status', workflowId: m.workflowId });
  }

  #emit(e: ChangeEvent): void {
    this.#ee.emit('change', e);
  }

  liveNodes(): PlacementNode[] {
    const me: PlacementNode = { nodeId: this.nodeId, maxInstances: this.#o.maxInstances };
    const others = [...this.#others.values()].map((v) => {
      const cap = v.record.info['capacity'];
      const max =
        cap && typeof cap === 'object' && !Array.isArray(cap) && typeof cap['maxInstances'] === 'number' ? cap['maxInstances'] : 0;
      return { nodeId: v.record.nodeId, maxInstances: max };
    });
    return [me, ...others];
  }

  /** Every live node with its record (GET /_flowd/nodes). */
  nodes(): NodeRecord[] {
    const me: NodeRecord = {
      nodeId: this.nodeId,
      url: this.#o.url(),
      startedAt: this.#startedAt,
      heartbeatAt: Date.now(),
      info: this.#info(),
    };
    return [
      me,
      ...[...this.#others.values()].map((v) => ({
        ...v.record,
        info: { ...v.record.info, services: Object.fromEntries([...v.services].map(([id, s]) => [id, s.report])) as unknown as JsonObject },
      })),
    ];
  }

  remoteReports(serviceId: string): Array<{ nodeId: string; report: ServiceReport }> {
    const out: Array<{ nodeId: string; report: ServiceReport }> = [];
    for (const [nodeId, v] of this.#others) {
      const s = v.services.get(serviceId);
      if (s) out.push({ nodeId, report: s.report });
    }
    return out;
  }

  clusterStatus(local: RuntimeStatusBody): RuntimeStatusBody {
    return mergeClusterStatus(local, this.nodeId, (id) => this.remoteReports(id));
  }

  async send(serviceId: string, input: JsonValue, ctx: RemoteRequestContext): Promise<JsonValue> {
    const reply = (await this.#o.bus.request(
      this.#subject.service(serviceId),
      { input, ...(ctx.correlationId !== undefined ? { correlationId: ctx.correlationId } : {}) },
      ctx.timeoutMs,
    )) as {
      output?: JsonValue;
      error?: SerializedError;
    };
    if (reply?.error !== undefined) {
      throw (
        FlowdError.fromSerialized(reply.error) ??
        internalError(`Node serving ${serviceId} answered an unreadable error`, { code: 'bus.bad_error' })
      );
    }
    return reply?.output ?? null;
  }

  serve(serviceId: string, handler: (input: JsonValue, ctx: { correlationId?: string }) => Promise<JsonValue>): () => void {
    return this.#o.bus.serve(this.#subject.service(serviceId), serviceId, async (body) => {
      const b = body as { input?: JsonValue; correlationId?: string };
      try {
        const output = await handler(b.input ?? null, b.correlationId !== undefined ? { correlationId: b.correlationId } : {});
        return { output };
      } catch (e) {
        return { error: remoteError(e).toJSON() };
      }
    });
  }

  announcePublication(workflowId: string): void {
    this.#o.bus.publish(this.#subject.publication, { from: this.nodeId, workflowId });
  }

  announceStatus(workflowId: string, services: Record<string, ServiceReport>): void {
    this.#o.bus.publish(this.#subject.status, { from: this.nodeId, at: Date.now(), workflowId, services });
  }

  announceTasksDone(taskIds: string[]): void {
    if (taskIds.length > 0) this.#o.bus.publish(this.#subject.tasksDone, { from: this.nodeId, taskIds });
  }

  onTasksDone(fn: (taskIds: string[]) => void): () => void {
    const off = this.#o.bus.subscribe(this.#subject.tasksDone, (b) => {
      const m = b as { from?: string; taskIds?: unknown };
      if (m.from !== this.nodeId && Array.isArray(m.taskIds)) fn(m.taskIds.filter((t): t is string => typeof t === 'string'));
    });
    this.#subs.push(off);
    return off;
  }

  onChange(fn: (e: ChangeEvent) => void): () => void {
    this.#ee.on('change', fn);
    return () => this.#ee.off('change', fn);
  }

  /** Provisioning state changes, both ways: this node's go out, the others' come in. */
  bridgeStateEvents(events: { setForwarder(fn: (workflowId: string) => void): void; deliverRemote(workflowId: string): void }): void {
    events.setForwarder((workflowId) => this.#o.bus.publish(this.#subject.state, { from: this.nodeId, workflowId }));
    this.#subs.push(
      this.#o.bus.subscribe(this.#subject.state, (b) => {
        const m = b as { from?: string; workflowId?: string };
        if (m.from !== this.nodeId && typeof m.workflowId === 'string') events.deliverRemote(m.workflowId);
      }),
    );
  }

  /** Leave: stop beating and remove this node's row so the others re-place at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const off of this.#subs.splice(0)) off();
    await this.#o.store
      .removeNode(this.nodeId)
      .catch((e: unknown) => this.#o.logger.warn({ err: e }, 'could not remove this node from the node table'));
  }
}
