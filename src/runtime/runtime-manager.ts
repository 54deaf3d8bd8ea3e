/**
 * The runtime of this node: publishes flows (the `publish_flow` step calls it through the
 * FlowPublisher port), keeps their services, serves SYNC analyses, and runs ASYNC tasks with
 * autoscaling. Publications are stored, so a restarted node brings its flows back up and
 * requeues the tasks its previous process left RUNNING.
 */
import { realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { conflict, notFound, stepFailure, validationError } from '../errors.js';
import type { BlockType } from '../blocks/block.js';
import { getBlockType } from '../blocks/block-registry.js';
import { flowSpecToJson, parseFlowSpec } from '../blocks/flow-spec.js';
import type { FlowSpec } from '../blocks/flow-spec.js';
import type { MlService } from '../ml/ml-service.js';
import type { FlowPublisher } from '../steps/services.js';
import type { Store } from '../store/store.js';
import type { JsonObject, JsonValue } from '../template/types.js';
import { admit, footprintOf } from './admission.js';
import type { Capacity, Footprint } from './admission.js';
import { Autoscaler } from './autoscaler.js';
import type { FlowResult } from './flow-executor.js';
import { PublishedFlow } from './published-flow.js';
import type { PreparedBlock } from './published-flow.js';
import type { RuntimeEvents } from './runtime-events.js';
import type { RuntimeStatusBody } from './runtime-status.js';
import { TaskRunner } from './task-runner.js';
import type { TaskObserver } from './task-runner.js';
import { TaskService } from './task-service.js';

export interface RuntimeManagerDeps {
  store: Store;
  ml: MlService;
  logger: Logger;
  events: RuntimeEvents;
  capacity: Capacity;
  nodeId: string;
  leaseMs: number;
  taskTtlMs: number;
  shutdownGraceMs: number;
  /** Folders `custom` block modules may come from (realpaths compared); empty = none. */
  customBlockDirs: readonly string[];
  /** Metrics: task wait and run times of every ASYNC flow. */
  taskObserver?: TaskObserver;
}

interface Entry {
  flow: PublishedFlow;
  footprint: Footprint;
  runner?: TaskRunner;
  scaler?: Autoscaler;
}

/**
 * A `custom` block runs operator code with the server's rights, so its module must live in a
 * folder the operator allowed (FLOWD_CUSTOM_BLOCK_DIRS); symlinks are resolved first.
 */
function checkCustomModule(blockId: string, config: JsonObject, dirs: readonly string[]): void {
  const mod = config['module'];
  if (typeof mod !== 'string') return; // the block's own validation reports it
  if (dirs.length === 0) {
    throw validationError(`Block [${blockId}]: custom blocks are disabled on this node; list the folders their modules may come from in FLOWD_CUSTOM_BLOCK_DIRS.`, {
      status: 403,
      code: 'block.custom_disabled',
      node: blockId,
    });
  }
  let file: string;
  try {
    file = realpathSync(resolve(process.cwd(), mod));
  } catch {
    throw validationError(`Block [${blockId}]: custom module ${mod} does not exist`, { code: 'block.module_not_found', node: blockId });
  }
  const allowed = dirs.some((d) => {
    let root: string;
    try {
      root = realpathSync(resolve(process.cwd(), d));
    } catch {
      return false;
    }
    return file === root || file.startsWith(root.endsWith(sep) ? root : root + sep);
  });
  if (!allowed) {
    throw validationError(`Block [${blockId}]: custom module ${file} is outside the folders allowed by FLOWD_CUSTOM_BLOCK_DIRS (${dirs.join(', ')})`, {
      status: 403,
      code: 'block.custom_not_allowed',
      node: blockId,
    });
  }
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
  #closed = false;

  constructor(deps: RuntimeManagerDeps) {
    this.#deps = deps;
    this.tasks = new TaskService({
      store: deps.store,
      ttlMs: deps.taskTtlMs,
      entry: (id) => this.#flows.get(id),
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
      admit(workflowId, footprint, this.#othersFootprint(workflowId), this.#deps.capacity);
      const blocks = await this.#prepare(workflowId, spec);
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

  async #save(workflowId: string, spec: FlowSpec): Promise<void> {
    await this.#deps.store.putPublication({ workflowId, mode: spec.mode, spec: flowSpecToJson(spec), desiredStatus: 'PUBLISHED', at: Date.now() });
  }

  #start(workflowId: string, spec: FlowSpec, version: number, blocks: PreparedBlock[], footprint: Footprint): Entry {
    const onChange = (): void => this.#changed(workflowId);
    const flow = new PublishedFlow(workflowId, spec, version, blocks, {
      logger: this.#deps.logger.child({ workflowId }),
      blockType: this.blockType,
      onChange,
      waitReadyMs: spec.mode === 'ASYNC' ? ASYNC_WAIT_READY_MS : SYNC_WAIT_READY_MS,
    });
    const entry: Entry = { flow, footprint };
    this.#flows.set(workflowId, entry);
    flow.start();
    if (spec.mode === 'ASYNC') {
      const runner = new TaskRunner(workflowId, {
        store: this.#deps.store,
        owner: this.#deps.nodeId,
        leaseMs: this.#deps.leaseMs,
        logger: this.#deps.logger,
        flow: () => this.#flows.get(workflowId)?.flow,
        onDone: (taskId) => this.tasks.done(taskId),
        onChange,
        observer: this.#deps.taskObserver,
      });
      entry.runner = runner;
      entry.scaler = new Autoscaler(flow, runner, onChange);
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
      this.#changed(workflowId);
      return existed || entry !== undefined;
    });
  }

  async #stopEntry(workflowId: string, e: Entry): Promise<void> {
    this.#flows.delete(workflowId);
    e.scaler?.stop();
    await e.runner?.stop(this.#deps.shutdownGraceMs);
    await e.flow.stop();
  }

  #changed(workflowId: string): void {
    this.#deps.events.notify(workflowId);
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
    return e.flow.status(e.runner && e.scaler ? { queued: e.runner.queued, running: e.runner.running, targets: e.scaler.targets } : undefined);
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

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweep) clearInterval(this.#sweep);
    await Promise.all([...this.#flows.entries()].map(([id, e]) => this.#stopEntry(id, e)));
  }
}
