/**
 * The runtime of this node, as the server, the CLI and the `publish_flow` step (FlowPublisher
 * port) use it: publications (PublicationController), tasks (TaskQueue) and their status
 * (RuntimeStatusView), wired once over the node's cluster (a lone node is a one-node cluster).
 * Publications are stored, so a restarted node brings its flows back up and requeues the
 * tasks its previous process left RUNNING.
 */
import type { Logger } from 'pino';
import { notFound, unavailable } from '../errors.js';
import type { BlockType } from '../blocks/block.js';
import type { MlService } from '../ml/ml-service.js';
import type { FlowPublisher } from '../steps/services.js';
import type { Store } from '../store/store.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { Capacity } from './admission.js';
import type { FlowResult } from './flow-executor.js';
import { PublicationController } from './publication-controller.js';
import type { Published } from './publication-controller.js';
import type { RuntimeCluster, ServiceReport } from './runtime-cluster.js';
import type { RuntimeEvents } from './runtime-events.js';
import type { RuntimeStatusBody } from './runtime-status.js';
import { RuntimeStatusView } from './runtime-status-view.js';
import { TaskQueue } from './task-queue.js';
import type { TaskObserver } from './task-runner.js';

export interface RuntimeManagerDeps {
  store: Store;
  ml: MlService;
  logger: Logger;
  events: RuntimeEvents;
  cluster: RuntimeCluster;
  blocks: { readonly get: (name: string) => BlockType | undefined };
  capacity: Capacity;
  /** The lease owner of this process's tasks. */
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
  /** How often to reconcile with the stored publications and requeue expired tasks (default 1 s). */
  reconcileMs?: number;
  /** How often a task long-poll re-reads the store in case a wake-up was missed (default 1 s). */
  taskWaitRecheckMs?: number;
}

export class RuntimeManager implements FlowPublisher {
  readonly tasks: TaskQueue;
  readonly #publications: PublicationController;
  readonly #view: RuntimeStatusView;

  constructor(deps: RuntimeManagerDeps) {
    const reconcileMs = deps.reconcileMs ?? 1000;
    this.tasks = new TaskQueue({
      store: deps.store,
      logger: deps.logger,
      events: deps.events,
      cluster: deps.cluster,
      owner: deps.nodeId,
      leaseMs: deps.leaseMs,
      maxAttempts: deps.maxAttempts,
      ttlMs: deps.taskTtlMs,
      shutdownGraceMs: deps.shutdownGraceMs,
      requeueMs: reconcileMs,
      ...(deps.taskWaitRecheckMs !== undefined ? { waitRecheckMs: deps.taskWaitRecheckMs } : {}),
      ...(deps.taskObserver ? { observer: deps.taskObserver } : {}),
    });
    this.#publications = new PublicationController({
      store: deps.store,
      ml: deps.ml,
      logger: deps.logger,
      events: deps.events,
      cluster: deps.cluster,
      blocks: deps.blocks,
      tasks: this.tasks,
      capacity: deps.capacity,
      customBlockDirs: deps.customBlockDirs,
      reconcileMs,
    });
    this.#view = new RuntimeStatusView({ flows: this.#publications, tasks: this.tasks, cluster: deps.cluster });
  }

  publish(workflowId: string, flow: JsonObject, signal: AbortSignal): Promise<Published> {
    return this.#publications.publish(workflowId, flow, signal);
  }

  unpublish(workflowId: string): Promise<boolean> {
    return this.#publications.unpublish(workflowId);
  }

  /** Brings this node in line with the stored publications now. */
  reconcile(): Promise<void> {
    return this.#publications.reconcile();
  }

  isPublished(workflowId: string): boolean {
    return this.#publications.flow(workflowId) !== undefined;
  }

  /** The workflows whose flows run on this node (metrics). */
  publishedIds(): string[] {
    return this.#publications.publishedIds();
  }

  /** What this node runs, by service id (heartbeats and GET /_flowd/nodes). */
  localReports(): Record<string, ServiceReport> {
    return this.#publications.localReports();
  }

  status(workflowId: string): RuntimeStatusBody | undefined {
    return this.#view.status(workflowId);
  }

  /** SYNC: run the flow now. ASYNC ("all-in-one"): submit a task, wait for it, delete it. */
  async analyze(
    workflowId: string,
    input: JsonValue,
    opts: { correlationId?: string; verbose?: boolean; signal?: AbortSignal; timeoutMs: number },
  ): Promise<FlowResult> {
    const flow = this.#publications.flow(workflowId);
    if (!flow) throw notFound(`Workflow ${workflowId} is not published`, { code: 'runtime.not_published' });
    if (flow.mode === 'ASYNC') return this.tasks.runAllInOne(workflowId, input, opts);
    if (!flow.canServe()) {
      const st = this.status(workflowId);
      throw unavailable(
        `Workflow ${workflowId} is not usable yet (${st?.actualStatus ?? 'ORANGE'}: ${st?.message ?? 'services starting'}); retry when action/status says usable.`,
        {
          code: 'runtime.not_usable',
          headers: { 'retry-after': '1' },
        },
      );
    }
    return flow.execute(input, opts);
  }

  /** At start: requeue what a dead process left RUNNING, bring stored publications back up. */
  async restore(): Promise<number> {
    await this.tasks.start();
    return this.#publications.restore();
  }

  async close(): Promise<void> {
    this.tasks.close();
    await this.#publications.close();
  }
}
