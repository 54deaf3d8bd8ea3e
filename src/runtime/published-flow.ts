/**
 * One published workflow on this node: a Service (worker-thread instances) per block, the
 * flow executor that moves data between them (the "stream": in-process here, behind
 * `dispatch`), and, for ASYNC flows, the task runner and autoscaler that the manager attaches.
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
import { ClusterStream, InProcessStream } from './stream.js';
import type { RemoteServices, Stream } from './stream.js';
import type { ServiceReport } from './runtime-cluster.js';
import { rollUp, serviceHealth } from './runtime-status.js';

const hash8 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** Stable per (workflow, block): a republish keeps the id, so resources do not churn. */
export function serviceIdOf(workflowId: string, blockId: string): string {
  const prefix = blockId.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40);
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
  onChange: () => void;
  /** How long a dispatch waits for a ready instance (cold start of a scaled-to-zero service). */
  waitReadyMs: number;
  /** Cluster: how many of a block's replicas run on this node (default: all of them). */
  localReplicas?: (blockId: string, replicas: number) => number;
  /** Cluster: instances on other nodes, for blocks with none here. */
  remote?: RemoteServices;
}

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
  readonly #stream: Stream;
  readonly #deps: PublishedFlowDeps;
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
    this.#stream = deps.remote ? new ClusterStream(this.#services, deps.remote) : new InProcessStream(this.#services);
    this.#executor = new FlowExecutor(spec, deps.blockType);
    for (const b of blocks) {
      const svc = new Service(this.#serviceSpec(b), {
        desired: this.#local(b),
        logger: deps.logger,
        waitReadyMs: deps.waitReadyMs,
        onChange: deps.onChange,
      });
      this.#services.set(b.block.id, svc);
    }
  }

  get spec(): FlowSpec {
    return this.#spec;
  }

  #local(b: PreparedBlock): number {
    return this.#deps.localReplicas ? this.#deps.localReplicas(b.block.id, b.block.replicas) : b.block.replicas;
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
    for (const s of this.#services.values()) if (!s.canServe && !(this.#deps.remote?.canServe(s.id) ?? false)) return false;
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

  /** Resolves when every service is fully rolled out; rejects with the first failure's reason. */
  async whenReady(signal: AbortSignal): Promise<void> {
    for (;;) {
      const views = [...this.#services.values()].map((s) => s.status());
      const failed = views.find((v) => v.rolloutStatus === 'Failed');
      if (failed) throw new Error(`block [${failed.blockId}] failed to start: ${failed.rolloutStatusReason ?? 'unknown reason'}`);
      if (views.every((v) => v.rolloutStatus === 'Complete')) return;
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('publish aborted');
      await new Promise((r) => setTimeout(r, 20));
    }
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
        const created = new Service(spec2, { desired: this.#local(b), logger: this.#deps.logger, waitReadyMs: this.#deps.waitReadyMs, onChange: this.#deps.onChange });
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
    this.#deps.onChange();
  }

  execute(input: JsonValue, opts: { signal?: AbortSignal; correlationId?: string; verbose?: boolean }): Promise<FlowResult> {
    return this.#executor.execute(input, {
      dispatch: (blockId, blockInput, ctx) => this.#stream.send(blockId, blockInput, ctx),
      dispatchChain: (blockIds, blockInput, ctx) => this.#stream.sendChain(blockIds, blockInput, ctx),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.correlationId !== undefined ? { correlationId: opts.correlationId } : {}),
      ...(opts.verbose !== undefined ? { verbose: opts.verbose } : {}),
    });
  }

  status(asyncInput?: AsyncStatusInput): RuntimeStatusBody {
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
        replicasDetail: v.replicasDetail.map((r) => ({ name: r.name, ready: r.ready, available: r.available, restarts: r.restarts, started_at: r.started_at, version: r.version })),
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
      services.unshift({ id: executorIdOf(this.workflowId), desired: 1, actual: 1, status: 'GREEN', rolloutStatus: 'Complete', queueDepth: asyncInput?.queued ?? 0, inFlight: asyncInput?.running ?? 0 });
    }
    if (roll.actualStatus !== this.#lastHealth) {
      this.#lastHealth = roll.actualStatus;
      this.#lastTransition = new Date().toISOString();
    }
    return {
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
    };
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
        replicas: v.replicasDetail.map((r) => ({ name: r.name, ready: r.ready, available: r.available, restarts: r.restarts, started_at: r.started_at, version: r.version })),
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
