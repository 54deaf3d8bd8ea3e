/**
 * One published workflow on this node: a Service (worker-thread instances) per block, and the
 * flow executor that moves data between them through the request router (this node's
 * instances, or another node's over the cluster). ASYNC flows get their task runner and
 * autoscaler from the TaskQueue.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { BlockType } from '../blocks/block.js';
import type { FlowBlockSpec, FlowSpec } from '../blocks/flow-spec.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { FlowExecutor } from './flow-executor.js';
import type { FlowResult } from './flow-executor.js';
import { Service } from './instances/service.js';
import type { ServiceSpec } from './instances/service.js';
import type { Health, RuntimeStatusBody, ServiceStatusBody } from './runtime-status.js';
import { RequestRouter } from './request-router.js';
import type { RemoteServices } from './request-router.js';
import type { ServiceReport } from './runtime-cluster.js';
import type { ReplicaDetailBody } from './runtime-status.js';
import type { ServiceStatusView } from './instances/service.js';
import { rollUp, serviceHealth } from './runtime-status.js';

const hash8 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** Stable per (workflow, block): a republish keeps the id, so resources do not churn. */
export function serviceIdOf(workflowId: string, blockId: string): string {
  const prefix = blockId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  return `${prefix}-${hash8(`${workflowId}/${blockId}`)}`;
}

export const executorIdOf = (workflowId: string): string => `executor-${hash8(workflowId)}`;

export interface PreparedBlock {
  block: FlowBlockSpec;
  prepared: JsonObject;
}

export interface PublishedFlowDeps {
  logger: Logger;
  blockType: (name: string) => BlockType | undefined;
  /** This node's instances changed (announced to watchers and the other nodes). */
  onChange: () => void;
  /** How long a dispatch waits for a ready instance (cold start of a scaled-to-zero service). */
  waitReadyMs: number;
  /** How many of a block's replicas run on this node: its placement share. */
  localReplicas: (blockId: string, replicas: number) => number;
  /** Instances on other nodes, for blocks with none here. */
  remote: RemoteServices;
}

const replicaBodies = (v: ServiceStatusView): ReplicaDetailBody[] =>
  v.replicasDetail.map((r) => ({
    name: r.name,
    ready: r.ready,
    available: r.available,
    restarts: r.restarts,
    started_at: r.started_at,
    version: r.version,
  }));

/** Extra numbers the ASYNC machinery reports into the status. */
export interface AsyncStatusInput {
  queued: number;
  running: number;
  targets: ReadonlyMap<string, number>;
}

export class PublishedFlow {
  readonly workflowId: string;
  #spec: FlowSpec;
  #version: number;
  #executor: FlowExecutor;
  readonly #services = new Map<string, Service>();
  readonly #router: RequestRouter;
  readonly #deps: PublishedFlowDeps;
  /** Waits for readiness (publish, routing): woken by any change, here or on another node. */
  readonly #watchers = new Set<() => void>();
  /** The last version fully rolled out (the previous one while a republish is in progress). */
  #observedVersion: number;
  #lastHealth: Health | undefined;
  #lastTransition = new Date().toISOString();

  constructor(workflowId: string, spec: FlowSpec, version: number, blocks: PreparedBlock[], deps: PublishedFlowDeps) {
    this.workflowId = workflowId;
    this.#spec = spec;
    this.#version = version;
    this.#observedVersion = version;
    this.#deps = deps;
    this.#router = new RequestRouter(this.#services, deps.remote, this.watch);
    this.#executor = new FlowExecutor(spec, deps.blockType);
    for (const b of blocks) this.#services.set(b.block.id, this.#newService(b));
  }

  #newService(b: PreparedBlock): Service {
    return new Service(this.#serviceSpec(b), {
      desired: this.#local(b),
      logger: this.#deps.logger,
      waitReadyMs: this.#deps.waitReadyMs,
      onChange: this.changed,
    });
  }

  /** This node's instances changed: tell the owner and wake the waits. */
  readonly changed = (): void => {
    this.#deps.onChange();
    this.remoteChanged();
  };

  /** Another node's instances of this flow changed: wake the waits only (nothing to announce). */
  remoteChanged(): void {
    for (const fn of [...this.#watchers]) fn();
  }

  /** For `waitUntil`: called on every change of this flow's instances, here or elsewhere. */
  readonly watch = (wake: () => void): (() => void) => {
    this.#watchers.add(wake);
    return () => this.#watchers.delete(wake);
  };

  get spec(): FlowSpec {
    return this.#spec;
  }

  #local(b: PreparedBlock): number {
    return this.#deps.localReplicas(b.block.id, b.block.replicas);
  }

  get version(): number {
    return this.#version;
  }

  get mode(): FlowSpec['mode'] {
    return this.#spec.mode;
  }

  serviceIds(): string[] {
    const ids = [...this.#services.values()].map((s) => s.id);
    if (this.#spec.mode === 'ASYNC') ids.push(executorIdOf(this.workflowId));
    return ids;
  }

  service(blockId: string): Service | undefined {
    return this.#services.get(blockId);
  }

  services(): Service[] {
    return [...this.#services.values()];
  }

  /** SYNC requests can be served: every service has a ready instance (of any version). */
  canServe(): boolean {
    for (const s of this.#services.values()) if (!s.canServe && !this.#deps.remote.canServe(s.id)) return false;
    return true;
  }

  #serviceSpec(b: PreparedBlock): ServiceSpec {
    return {
      serviceId: serviceIdOf(this.workflowId, b.block.id),
      blockId: b.block.id,
      blockType: b.block.type,
      config: b.block.config,
      prepared: b.prepared,
      limits: { timeoutMs: b.block.timeoutMs, ...(b.block.memoryMb !== undefined ? { memoryMb: b.block.memoryMb } : {}) },
      version: this.#version,
    };
  }

  start(): void {
    for (const s of this.#services.values()) s.start();
  }

  /**
   * Republish in place, as NL Flow re-publishes a workflow: unchanged blocks keep their instances, a replica-only
   * change adds/removes instances without restarting the others, a changed block rolls
   * (old instances serve until new ones are ready), new blocks start, removed blocks stop
   * once the new executor no longer routes to them.
   */
  async republish(spec: FlowSpec, version: number, blocks: PreparedBlock[]): Promise<void> {
    this.#version = version;
    const next = new Map(blocks.map((b) => [b.block.id, b]));
    const rollouts: Array<Promise<void>> = [];
    for (const b of blocks) {
      const svc = this.#services.get(b.block.id);
      const spec2 = this.#serviceSpec(b);
      if (!svc) {
        const created = this.#newService(b);
        this.#services.set(b.block.id, created);
        created.start();
        continue;
      }
      const old = svc.spec;
      const same =
        old.blockType === spec2.blockType &&
        JSON.stringify(old.config) === JSON.stringify(spec2.config) &&
        JSON.stringify(old.prepared) === JSON.stringify(spec2.prepared) &&
        JSON.stringify(old.limits) === JSON.stringify(spec2.limits);
      if (same) svc.setDesired(this.#local(b));
      else rollouts.push(svc.update(spec2, this.#local(b)));
    }
    await Promise.all(rollouts);
    this.#spec = spec;
    this.#executor = new FlowExecutor(spec, this.#deps.blockType);
    const removed = [...this.#services.entries()].filter(([id]) => !next.has(id));
    for (const [id] of removed) this.#services.delete(id);
    await Promise.all(removed.map(([, s]) => s.stop()));
    this.#observedVersion = version;
    this.changed();
  }

  execute(input: JsonValue, opts: { signal?: AbortSignal; correlationId?: string; verbose?: boolean }): Promise<FlowResult> {
    return this.#executor.execute(input, {
      dispatch: (blockId, blockInput, ctx) => this.#router.send(blockId, blockInput, ctx),
      dispatchChain: (blockIds, blockInput, ctx) => this.#router.sendChain(blockIds, blockInput, ctx),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.correlationId !== undefined ? { correlationId: opts.correlationId } : {}),
      ...(opts.verbose !== undefined ? { verbose: opts.verbose } : {}),
    });
  }

  /**
   * The status body. `view` turns this node's part into what the API shows (the cluster adds
   * the other nodes' instances); the transition time follows the health it shows. `observe`
   * false reads without recording a transition (a publish waiting for readiness).
   */
  status(
    asyncInput?: AsyncStatusInput,
    view: (local: RuntimeStatusBody) => RuntimeStatusBody = (b) => b,
    observe = true,
  ): RuntimeStatusBody {
    const services: ServiceStatusBody[] = [];
    for (const b of this.#spec.blocks) {
      const svc = this.#services.get(b.id);
      if (!svc) continue;
      const v = svc.status();
      // During a rolling update old-version instances still serve (as in NL Flow): they count
      // as available, as in a Kubernetes Deployment; the rollout fields show the progress.
      const actual = Math.min(Math.max(b.replicas, v.desired), v.replicasDetail.filter((r) => r.ready).length);
      // `desired` is the block's configured replicas (NL Flow); the autoscaler's wish is `targetReplicas`.
      const body: ServiceStatusBody = {
        id: v.id,
        desired: b.replicas,
        actual,
        status: serviceHealth(b.replicas, actual),
        rolloutStatus: v.rolloutStatus,
        ...(v.rolloutStatusReason !== undefined ? { rolloutStatusReason: v.rolloutStatusReason } : {}),
        replicasDetail: replicaBodies(v),
        blockId: b.id,
        queueDepth: v.queued,
        inFlight: v.inFlight,
      };
      if (this.#spec.mode === 'ASYNC') {
        body.targetReplicas = asyncInput?.targets.get(b.id) ?? v.desired;
        body.minReplicas = this.#spec.autoscaling.minReplicas;
        body.maxReplicas = Math.max(b.replicas, this.#spec.autoscaling.maxReplicas);
      }
      services.push(body);
    }
    const roll = rollUp(this.#spec.mode, services);
    if (this.#spec.mode === 'ASYNC') {
      // The executor (task runner) lives in the node's process: up while the flow is published.
      services.unshift({
        id: executorIdOf(this.workflowId),
        desired: 1,
        actual: 1,
        status: 'GREEN',
        rolloutStatus: 'Complete',
        queueDepth: asyncInput?.queued ?? 0,
        inFlight: asyncInput?.running ?? 0,
      });
    }
    const body = view({
      desiredStatus: 'PUBLISHED',
      actualStatus: roll.actualStatus,
      publishingMode: this.#spec.mode,
      usable: roll.usable,
      reason: roll.reason,
      ...(roll.message !== undefined ? { message: roll.message } : {}),
      observedVersion: this.#observedVersion,
      desiredVersion: this.#version,
      lastTransitionTime: this.#lastTransition,
      ...(asyncInput ? { tasks: { queued: asyncInput.queued, running: asyncInput.running } } : {}),
      details: { stream: { id: 'stream', desired: 1, actual: 1, status: 'GREEN' }, services },
    });
    if (observe && body.actualStatus !== this.#lastHealth) {
      this.#lastHealth = body.actualStatus;
      this.#lastTransition = new Date().toISOString();
    }
    return { ...body, lastTransitionTime: this.#lastTransition };
  }

  /** What this node runs of each service, for the other nodes (cluster). */
  reports(): Record<string, ServiceReport> {
    const out: Record<string, ServiceReport> = {};
    for (const [blockId, svc] of this.#services) {
      const v = svc.status();
      out[svc.id] = {
        workflowId: this.workflowId,
        blockId,
        desired: v.desired,
        replicas: replicaBodies(v),
        rolloutStatus: v.rolloutStatus,
        ...(v.rolloutStatusReason !== undefined ? { rolloutStatusReason: v.rolloutStatusReason } : {}),
      };
    }
    return out;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#services.values()].map((s) => s.stop()));
  }
}
