/**
 * Executes one provisioning run as an event-driven DAG: a node starts the moment everything it
 * depends on has finished; independent branches run concurrently up to `concurrency`. Each
 * step gets an AbortSignal, its node timeout and its retry policy; each completion is one
 * durable transaction (step record + resources). On the first failure the in-flight siblings
 * are cancelled, and the run ends FAILED (or is rolled back). A run interrupted by a crash is
 * resumed by a new executor that skips the nodes already completed.
 */
import type { Logger } from 'pino';
import { coerceError, isRetryable } from '../errors.js';
import type { CompiledNode, CompiledWorkflow } from '../template/graph.js';
import type { JsonObject } from '../util/json.js';
import type { ResourceCreated, RunRecord, Store } from '../store/store.js';
import type { StepRegistry } from '../steps/step-registry.js';
import type { StepServices } from '../steps/services.js';
import type { StepResult } from '../steps/step.js';
import { sleep } from '../util/sleep.js';
import { resolveForDelete, resolveInputs } from './input-resolver.js';
import type { Plan } from './plan.js';
import { removeResources } from './resource-remover.js';
import { openNodeSecrets } from './secret-fields.js';
import type { StateEvents } from './state-events.js';
import { stepError, stepTimeout } from './step-error-text.js';

/** How one step attempt ended: `retried` failed and will be tried again. */
export type StepOutcome = 'completed' | 'failed' | 'retried' | 'canceled';

export interface RunDeps {
  store: Store;
  registry: StepRegistry;
  services: StepServices;
  events: StateEvents;
  logger: Logger;
  concurrency: number;
  deprovisionTimeoutMs: number;
  /** Metrics: one step attempt ended (replayed nodes do no work and are not reported). */
  onStepFinished?: (type: string, seconds: number, outcome: StepOutcome) => void;
}

export interface RunSpec {
  run: RunRecord;
  plan: Plan;
  compiled: CompiledWorkflow;
  params: Record<string, string>;
  /** Nodes already completed in this run (resume), with their outputs. */
  completed: Map<string, JsonObject>;
  /** Resources currently recorded (for update steps: node id -> resource id). */
  resources: ResourceCreated[];
  /** Resume: attempts each unfinished node already had in this run (the next one is sent as attempt + 1). */
  attempts?: ReadonlyMap<string, number>;
  /** Multi-tenancy: the workflow's tenant, handed to every step (the resources it creates are that tenant's). */
  tenantId?: string;
}

/** Thrown into in-flight steps when the node shuts down: the run stays resumable. */
class ShutdownSignal extends Error {
  constructor() {
    super('flowd is shutting down');
  }
}
class CanceledSignal extends Error {
  constructor(readonly by: string) {
    super(`canceled because step ${by} failed`);
  }
}
class StaleRun extends Error {}

export class RunExecutor {
  readonly #deps: RunDeps;
  readonly #spec: RunSpec;
  readonly #ac = new AbortController();
  readonly #inflight = new Map<string, AbortController>();
  readonly #remaining = new Map<string, number>();
  readonly #dependents = new Map<string, string[]>();
  readonly #ready: CompiledNode[] = [];
  readonly #outputs: Map<string, JsonObject>;
  #failure: { nodeId: string; error: unknown } | undefined;
  #stale = false;
  #finished = false;
  #done!: () => void;
  readonly finished: Promise<void>;

  constructor(deps: RunDeps, spec: RunSpec) {
    this.#deps = deps;
    this.#spec = spec;
    this.#outputs = new Map(spec.completed);
    this.finished = new Promise((resolve) => (this.#done = resolve));
  }

  get runId(): string {
    return this.#spec.run.runId;
  }
  get workflowId(): string {
    return this.#spec.run.workflowId;
  }

  start(): this {
    const { order } = this.#spec.compiled;
    for (const c of order) {
      for (const d of c.dependsOn) {
        const list = this.#dependents.get(d) ?? [];
        list.push(c.node.id);
        this.#dependents.set(d, list);
      }
    }
    for (const c of order) {
      if (this.#outputs.has(c.node.id)) continue;
      const waiting = c.dependsOn.filter((d) => !this.#outputs.has(d)).length;
      this.#remaining.set(c.node.id, waiting);
      if (waiting === 0) this.#ready.push(c);
    }
    this.#pump();
    return this;
  }

  /** Graceful stop: no new steps; in-flight ones get `graceMs` to finish, then are aborted. */
  async shutdown(graceMs: number): Promise<void> {
    this.#ac.abort(new ShutdownSignal());
    this.#pump();
    const timer = setTimeout(() => {
      for (const ac of this.#inflight.values()) ac.abort(new ShutdownSignal());
    }, graceMs);
    await this.finished;
    clearTimeout(timer);
  }

  #pump(): void {
    if (this.#finished) return;
    while (
      this.#ready.length > 0 &&
      this.#inflight.size < this.#deps.concurrency &&
      !this.#failure &&
      !this.#ac.signal.aborted &&
      !this.#stale
    ) {
      const c = this.#ready.shift() as CompiledNode;
      const ac = new AbortController();
      this.#inflight.set(c.node.id, ac);
      this.#runNode(c, ac).then(
        (outputs) => this.#onNodeDone(c, outputs),
        (e: unknown) => this.#onNodeFailed(c, e),
      );
    }
    if (this.#inflight.size === 0) void this.#finish();
  }

  #onNodeDone(c: CompiledNode, outputs: JsonObject): void {
    this.#inflight.delete(c.node.id);
    this.#outputs.set(c.node.id, outputs);
    for (const d of this.#dependents.get(c.node.id) ?? []) {
      const left = (this.#remaining.get(d) ?? 1) - 1;
      this.#remaining.set(d, left);
      if (left === 0) {
        const node = this.#spec.compiled.byId.get(d);
        if (node) this.#ready.push(node);
      }
    }
    this.#pump();
  }

  #onNodeFailed(c: CompiledNode, e: unknown): void {
    this.#inflight.delete(c.node.id);
    if (e instanceof StaleRun) this.#stale = true;
    else if (!(e instanceof ShutdownSignal) && !(e instanceof CanceledSignal) && !this.#failure && !this.#ac.signal.aborted) {
      this.#failure = { nodeId: c.node.id, error: e };
      for (const [id, ac] of this.#inflight) if (id !== c.node.id) ac.abort(new CanceledSignal(c.node.id));
    }
    this.#pump();
  }

  async #finish(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    try {
      if (this.#stale) return;
      if (this.#ac.signal.aborted) return; // shutdown: the run stays PROVISIONING and is resumed later
      const { run, plan } = this.#spec;
      const now = Date.now();
      if (this.#failure) {
        await this.#fail(this.#failure.nodeId, this.#failure.error);
        return;
      }
      if (this.#outputs.size < this.#spec.compiled.order.length) return; // unreachable: every node runs or the run failed
      if (plan.removed.length > 0) {
        const out = await removeResources(this.#deps, {
          workflowId: run.workflowId,
          resources: plan.removed,
          nodeIndex: new Map(),
          nodeInputs: (id) => {
            const inputs = plan.removedInputs?.[id];
            return inputs ? openNodeSecrets(inputs, this.#deps.services.secrets) : undefined;
          },
          allowDelete: 'all',
          timeoutMs: this.#deps.deprovisionTimeoutMs,
        });
        if (out.failed.length > 0) {
          const what = out.failed.map((f) => `${f.resource.resource_type} ${f.resource.resource_id}: ${f.error}`).join('; ');
          await this.#deps.store.finishRun({
            runId: run.runId,
            workflowId: run.workflowId,
            state: 'FAILED',
            error: `Failed to remove resources of deleted nodes: ${what}`,
            endTime: Date.now(),
          });
          return;
        }
      }
      if (plan.template) await this.#deps.store.saveTemplate(run.workflowId, plan.template);
      await this.#deps.store.finishRun({ runId: run.runId, workflowId: run.workflowId, state: 'COMPLETED', endTime: now });
    } catch (e) {
      this.#deps.logger.error({ err: coerceError(e), workflowId: this.workflowId, runId: this.runId }, 'could not finish run');
    } finally {
      this.#deps.events.notify(this.workflowId);
      this.#done();
    }
  }

  async #fail(nodeId: string, error: unknown): Promise<void> {
    const { run, plan } = this.#spec;
    const { text, error: errorDetail } = stepError(nodeId, error);
    await this.#deps.store.recordStepFailed(run.runId, run.workflowId, nodeId, text, Date.now());
    this.#deps.logger.warn({ workflowId: run.workflowId, runId: run.runId, node: nodeId, error: text }, 'provisioning failed');
    if (plan.onFailure !== 'rollback') {
      await this.#deps.store.finishRun({
        runId: run.runId,
        workflowId: run.workflowId,
        state: 'FAILED',
        error: text,
        errorDetail,
        endTime: Date.now(),
      });
      return;
    }
    const state = await this.#deps.store.getState(run.workflowId, { steps: false });
    const nodeIndex = new Map(this.#spec.compiled.order.map((c) => [c.node.id, c.index]));
    const out = await removeResources(this.#deps, {
      workflowId: run.workflowId,
      resources: state?.resources ?? [],
      nodeIndex,
      nodeInputs: (id) => this.#nodeInputs(id),
      allowDelete: 'all',
      timeoutMs: this.#deps.deprovisionTimeoutMs,
    });
    if (out.failed.length === 0) {
      await this.#deps.store.finishRun({
        runId: run.runId,
        workflowId: run.workflowId,
        state: 'NOT_STARTED',
        error: `${text} (rolled back)`,
        errorDetail,
        endTime: Date.now(),
      });
    } else {
      const left = out.failed.map((f) => `${f.resource.resource_type} ${f.resource.resource_id}: ${f.error}`).join('; ');
      await this.#deps.store.finishRun({
        runId: run.runId,
        workflowId: run.workflowId,
        state: 'FAILED',
        error: `${text}; rollback could not remove: ${left}`,
        errorDetail,
        endTime: Date.now(),
      });
    }
  }

  #nodeInputs(nodeId: string): JsonObject | undefined {
    const c = this.#spec.compiled.byId.get(nodeId);
    if (!c) return undefined;
    const opened = openNodeSecrets(c.node.user_inputs, this.#deps.services.secrets);
    return resolveForDelete(opened, this.#spec.plan.workflow, this.#outputs, this.#spec.params);
  }

  async #runNode(c: CompiledNode, ac: AbortController): Promise<JsonObject> {
    const { run, plan } = this.#spec;
    const id = c.node.id;
    const action = plan.actions[id] ?? 'create';
    if (action === 'replay') {
      const outputs = plan.replayOutputs[id] ?? {};
      const ok = await this.#deps.store.recordStepCompleted({
        runId: run.runId,
        workflowId: run.workflowId,
        nodeId: id,
        outputs,
        resources: [],
        endTime: Date.now(),
      });
      if (!ok) throw new StaleRun();
      return outputs;
    }
    const step = this.#deps.registry.get(c.node.type);
    if (!step) throw new Error(`Workflow step type [${c.node.type}] is not implemented.`);
    // A resumed node continues its count: the retry policy bounds its attempts across crashes too.
    for (let attempt = (this.#spec.attempts?.get(id) ?? 0) + 1; ; attempt++) {
      const started = await this.#deps.store.recordStepStarted(run.runId, run.workflowId, id, c.node.type, attempt, Date.now());
      if (!started) throw new StaleRun();
      this.#deps.events.notify(run.workflowId);
      const t0 = performance.now();
      try {
        const inputs = resolveInputs({
          workflowId: run.workflowId,
          compiled: c,
          step,
          workflow: plan.workflow,
          outputs: this.#outputs,
          params: this.#spec.params,
          userInputs: openNodeSecrets(c.node.user_inputs, this.#deps.services.secrets),
        });
        const previousOutputs: Record<string, JsonObject> = {};
        for (const p of c.predecessors) previousOutputs[p] = this.#outputs.get(p) ?? {};
        const ctx = {
          workflowId: run.workflowId,
          nodeId: id,
          inputs,
          previousOutputs,
          previousNodeInputs: c.node.previous_node_inputs,
          idempotencyKey: `${run.runId}.${id}`,
          tenantId: this.#spec.tenantId,
          services: this.#deps.services,
        };
        const result = await this.#withTimeout(c, ac, (signal) => {
          if (action === 'update' && step.update) {
            const existing = this.#spec.resources.find((r) => r.workflow_step_id === id && r.workflow_step_name === step.name);
            return step.update({ ...ctx, signal }, existing?.resource_id ?? '');
          }
          return step.execute({ ...ctx, signal });
        });
        const fresh: ResourceCreated[] = (result.resources ?? []).map((r) => ({ ...r, workflow_step_id: id }));
        let resources = fresh;
        let removedResources: ResourceCreated[] = [];
        if (action === 'update') {
          // An update that lists resources gives the node's complete set (e.g. a republish that
          // added and removed services): record the new ones, drop the ones no longer there.
          const key = (r: ResourceCreated): string => `${r.workflow_step_name}\u0000${r.resource_type}\u0000${r.resource_id}`;
          const before = this.#spec.resources.filter((r) => r.workflow_step_id === id);
          const beforeKeys = new Set(before.map(key));
          const afterKeys = new Set(fresh.map(key));
          resources = result.resources === undefined ? [] : fresh.filter((r) => !beforeKeys.has(key(r)));
          removedResources = result.resources === undefined ? [] : before.filter((r) => !afterKeys.has(key(r)));
        }
        const outputs = result.outputs;
        const ok = await this.#deps.store.recordStepCompleted({
          runId: run.runId,
          workflowId: run.workflowId,
          nodeId: id,
          outputs,
          resources,
          ...(removedResources.length > 0 ? { removedResources } : {}),
          endTime: Date.now(),
        });
        if (!ok) throw new StaleRun();
        this.#deps.events.notify(run.workflowId);
        this.#deps.onStepFinished?.(c.node.type, (performance.now() - t0) / 1000, 'completed');
        return outputs;
      } catch (e) {
        if (ac.signal.aborted && (ac.signal.reason instanceof ShutdownSignal || ac.signal.reason instanceof CanceledSignal)) {
          this.#deps.onStepFinished?.(c.node.type, (performance.now() - t0) / 1000, 'canceled');
          if (ac.signal.reason instanceof CanceledSignal) {
            await this.#deps.store.recordStepFailed(run.runId, run.workflowId, id, ac.signal.reason.message, Date.now(), 'CANCELED');
          }
          throw ac.signal.reason;
        }
        if (e instanceof StaleRun) throw e;
        const last = attempt >= c.retry.maxAttempts || !isRetryable(e);
        this.#deps.onStepFinished?.(c.node.type, (performance.now() - t0) / 1000, last ? 'failed' : 'retried');
        if (last) throw e;
        const backoff = Math.min(c.retry.maxBackoffMs, c.retry.initialBackoffMs * 2 ** (attempt - 1));
        this.#deps.logger.info({ workflowId: run.workflowId, node: id, attempt, err: coerceError(e).message }, 'step failed, retrying');
        try {
          await sleep(backoff * (0.5 + Math.random() / 2), ac.signal);
        } catch {
          throw ac.signal.reason;
        }
      }
    }
  }

  /**
   * Runs one attempt under its node timeout with a fresh signal (aborted by the timeout, by a
   * sibling's failure or by shutdown), so a retry after a timeout starts un-aborted.
   */
  async #withTimeout(c: CompiledNode, nodeAc: AbortController, fn: (signal: AbortSignal) => Promise<StepResult>): Promise<StepResult> {
    const attempt = new AbortController();
    const forward = (): void => attempt.abort(nodeAc.signal.reason);
    if (nodeAc.signal.aborted) forward();
    else nodeAc.signal.addEventListener('abort', forward, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = (): void => reject(attempt.signal.reason as Error);
      if (attempt.signal.aborted) onAbort();
      else attempt.signal.addEventListener('abort', onAbort, { once: true });
    });
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = stepTimeout(c.node.id, c.timeoutMs);
        reject(err);
        // Abort after rejecting so the timeout, not the abort reason, is what is reported.
        queueMicrotask(() => attempt.abort(err));
      }, c.timeoutMs);
    });
    aborted.catch(() => undefined);
    timedOut.catch(() => undefined);
    try {
      return await Promise.race([fn(attempt.signal), aborted, timedOut]);
    } finally {
      clearTimeout(timer);
      nodeAc.signal.removeEventListener('abort', forward);
    }
  }
}
