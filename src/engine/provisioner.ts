/**
 * Starts, resumes and stops provisioning runs. `provision` validates first (nothing changes on
 * a validation error), then moves NOT_STARTED → PROVISIONING with a compare-and-swap, so two
 * concurrent provisions cannot both run. Runs are leased by this node; runs left by a dead
 * process are claimed and resumed at start (and periodically, for a cluster). Each claim
 * counts an attempt of the run before anything resumes: a run whose `maxAttempts` attempts all
 * ended the node running it is dead-lettered (FAILED, `run.dead_lettered`) instead of resumed,
 * so no template can crash a node over and over across restarts.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { FlowdError, conflict, unavailable, validationError, workflowNotFound, workflowStateNotFound } from '../errors.js';
import type { Template, Workflow, WorkflowNode } from '../template/types.js';
import type { JsonObject } from '../util/json.js';
import { compileWorkflow } from '../template/graph.js';
import type { CompiledWorkflow } from '../template/graph.js';
import type { RunKind, RunRecord, StateRecord, Store } from '../store/store.js';
import type { StepRegistry } from '../steps/step-registry.js';
import type { StepServices } from '../steps/services.js';
import type { BlockRegistry } from '../blocks/block-registry.js';
import { newId } from '../util/ids.js';
import type { NodeAction, OnFailure, Plan } from './plan.js';
import { planFromJson, planToJson } from './plan.js';
import { RunExecutor } from './run-executor.js';
import type { RunDeps } from './run-executor.js';
import { PUBLISH_NODE_ID, provisionWorkflowOf, validateFlowSection } from './flow-section.js';
import { RUN_DEAD_LETTERED, runDeadLetterError } from './run-dead-letter.js';
import type { StateEvents } from './state-events.js';
import { openNodeSecrets } from './secret-fields.js';

export interface ProvisionerConfig {
  nodeId: string;
  maxWorkflowSteps: number;
  concurrency: number;
  leaseMs: number;
  /** Attempts a run gets when each ends the node running it; then it is dead-lettered. */
  maxAttempts: number;
  deprovisionTimeoutMs: number;
  plugins: ReadonlySet<string>;
  shutdownGraceMs: number;
}

/** How a run ended: `rolled_back` failed and left the workflow NOT_STARTED (on_failure=rollback). */
export type RunOutcome = 'completed' | 'failed' | 'rolled_back';

export interface ProvisionerDeps {
  store: Store;
  registry: StepRegistry;
  /** The block types a template's `flow` may use (the node's one registry). */
  blocks: BlockRegistry;
  services: StepServices;
  events: StateEvents;
  logger: Logger;
  /** Metrics: passed to every run (see RunDeps). */
  onStepFinished?: RunDeps['onStepFinished'];
  /** Metrics: a run of this node reached a terminal state. */
  onRunFinished?: (kind: RunKind, outcome: RunOutcome) => void;
}

export interface ProvisionOptions {
  params: Record<string, string>;
  onFailure: OnFailure;
}

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'NOT_STARTED']);

const notReprovisionable = (workflowId: string): FlowdError =>
  validationError(`The template can not be reprovisioned unless its provisioning state is DONE or FAILED: ${workflowId}`, {
    code: 'workflow.not_reprovisionable',
  });

export class Provisioner {
  readonly #deps: ProvisionerDeps;
  readonly #cfg: ProvisionerConfig;
  readonly #blocks: BlockRegistry;
  readonly #runs = new Map<string, RunExecutor>();
  #leaseTimer: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(deps: ProvisionerDeps, cfg: ProvisionerConfig) {
    this.#deps = deps;
    this.#cfg = cfg;
    this.#blocks = deps.blocks;
  }

  compile(workflow: Workflow, workflowId: string | null, checkInputs: boolean): CompiledWorkflow {
    return compileWorkflow(workflow, {
      workflowId,
      maxSteps: this.#cfg.maxWorkflowSteps,
      lookup: this.#deps.registry.lookup,
      plugins: this.#cfg.plugins,
      checkInputs,
    });
  }

  /** Validate every workflow of a template (create/update with validation=all). */
  validateTemplate(t: Template, workflowId: string | null): void {
    for (const wf of Object.values(t.workflows)) this.compile(wf, workflowId, true);
    validateFlowSection(t, this.#blocks);
  }

  async provision(workflowId: string, opts: ProvisionOptions): Promise<string> {
    const rec = await this.#deps.store.getWorkflow(workflowId);
    if (!rec) throw workflowNotFound(workflowId);
    validateFlowSection(rec.template, this.#blocks);
    const workflow = provisionWorkflowOf(rec.template);
    if (!workflow) throw validationError(`The template of workflow ${workflowId} has no [provision] workflow to provision.`);
    const compiled = this.compile(workflow, workflowId, true);
    const actions: Record<string, NodeAction> = {};
    for (const c of compiled.order) actions[c.node.id] = 'create';
    const plan: Plan = { workflow, actions, replayOutputs: {}, removed: [], onFailure: opts.onFailure };
    const runId = await this.#begin(workflowId, 'provision', plan, opts.params, (state) => {
      const msg = `The workflow provisioning state is ${state.progress} and can not be provisioned unless its state is NOT_STARTED: ${workflowId}. Deprovision the workflow to reset the state.`;
      return state.state === 'PROVISIONING'
        ? conflict(msg, { code: 'workflow.provisioning' })
        : validationError(msg, { code: 'workflow.not_provisionable' });
    });
    await this.#deps.store.saveTemplate(workflowId, { ...rec.template, last_provisioned_time: Date.now() });
    this.#launch(runId, compiled, plan, opts.params, new Map(), []);
    return runId;
  }

  /**
   * Reprovision: diff the new template against the running one. New nodes are created,
   * changed nodes updated (where the step type can update), removed nodes deprovisioned
   * after the rest succeeds, unchanged nodes replay their outputs.
   */
  async reprovision(workflowId: string, next: Template, opts: ProvisionOptions): Promise<string> {
    const rec = await this.#deps.store.getWorkflow(workflowId);
    if (!rec) throw workflowNotFound(workflowId);
    const state = await this.#deps.store.getState(workflowId);
    if (!state || (state.state !== 'COMPLETED' && state.state !== 'FAILED')) {
      // 400 also while PROVISIONING, as Flow Framework answers (the state change itself is a compare-and-swap).
      throw notReprovisionable(workflowId);
    }
    let workflow: Workflow | undefined;
    let compiled: CompiledWorkflow;
    try {
      validateFlowSection(next, this.#blocks);
      workflow = provisionWorkflowOf(next);
      if (!workflow) throw validationError(`The template of workflow ${workflowId} has no [provision] workflow to provision.`);
      compiled = this.compile(workflow, workflowId, true);
    } catch (e) {
      if (e instanceof FlowdError)
        throw validationError(`Workflow validation failed for workflow ${workflowId}: ${e.message}`, { code: e.code });
      throw e;
    }
    const old = new Map<string, WorkflowNode>((provisionWorkflowOf(rec.template)?.nodes ?? []).map((n) => [n.id, n]));
    const lastOutputs = new Map(state.steps.filter((s) => s.state === 'COMPLETED').map((s) => [s.nodeId, s.outputs ?? {}]));
    const actions: Record<string, NodeAction> = {};
    const replayOutputs: Record<string, JsonObject> = {};
    for (const c of compiled.order) {
      const id = c.node.id;
      const before = old.get(id);
      const hasResources = this.#createsResources(state, id);
      if (!before) actions[id] = 'create';
      else if (this.#sameNode(before, c.node) && (lastOutputs.has(id) || hasResources)) {
        actions[id] = 'replay';
        replayOutputs[id] = lastOutputs.get(id) ?? this.#outputsFromResources(state, id);
      } else if (!hasResources)
        actions[id] = 'create'; // nothing to update: just run it again
      else if (before.type === c.node.type && this.#deps.registry.get(c.node.type)?.update) actions[id] = 'update';
      else throw validationError(`Workflow Step ${id} does not support updates when reprovisioning.`, { node: id });
    }
    // The flow may reference outputs of nodes that change: republish whenever anything else does.
    if (actions[PUBLISH_NODE_ID] === 'replay' && Object.entries(actions).some(([id, a]) => id !== PUBLISH_NODE_ID && a !== 'replay')) {
      actions[PUBLISH_NODE_ID] = 'update';
      delete replayOutputs[PUBLISH_NODE_ID];
    }
    const removed = state.resources.filter((r) => !compiled.byId.has(r.workflow_step_id));
    if (removed.length === 0 && Object.values(actions).every((a) => a === 'replay') && old.size === compiled.order.length) {
      throw validationError('Template does not contain any modifications');
    }
    const removedInputs: Record<string, JsonObject> = {};
    for (const r of removed) {
      const n = old.get(r.workflow_step_id);
      if (n) removedInputs[n.id] = n.user_inputs;
    }
    const plan: Plan = {
      workflow,
      actions,
      replayOutputs,
      removed,
      removedInputs,
      onFailure: 'keep',
      template: { ...next, last_provisioned_time: Date.now() },
    };
    const runId = await this.#begin(workflowId, 'reprovision', plan, opts.params, () => notReprovisionable(workflowId));
    const fresh = await this.#deps.store.getState(workflowId, { steps: false });
    this.#launch(runId, compiled, plan, opts.params, new Map(), fresh?.resources ?? []);
    return runId;
  }

  /**
   * Whether a node is unchanged, as Flow Framework compares them: key order aside, and with
   * secrets compared as sent (decrypted): each save seals them afresh, so the stored text differs.
   */
  #sameNode(a: WorkflowNode, b: WorkflowNode): boolean {
    const plain = (n: WorkflowNode): unknown => {
      let inputs: JsonObject = n.user_inputs;
      try {
        inputs = openNodeSecrets(n.user_inputs, this.#deps.services.secrets);
      } catch {
        // unreadable (another master key): compared as stored
      }
      return JSON.parse(JSON.stringify({ ...n, user_inputs: inputs })) as unknown;
    };
    return isDeepStrictEqual(plain(a), plain(b));
  }

  #createsResources(state: StateRecord, nodeId: string): boolean {
    return state.resources.some((r) => r.workflow_step_id === nodeId);
  }

  #outputsFromResources(state: StateRecord, nodeId: string): JsonObject {
    const out: JsonObject = {};
    for (const r of state.resources) if (r.workflow_step_id === nodeId) out[r.resource_type] = r.resource_id;
    return out;
  }

  async #begin(
    workflowId: string,
    kind: 'provision' | 'reprovision',
    plan: Plan,
    params: Record<string, string>,
    refuse: (s: StateRecord) => FlowdError,
  ): Promise<string> {
    if (this.#stopping) throw unavailable('flowd is shutting down; retry on another node', { code: 'node.shutting_down' });
    const lockUntil = Date.now() + 30_000;
    if (!(await this.#deps.store.tryLockWorkflow(workflowId, 'op', this.#cfg.nodeId, lockUntil))) {
      throw conflict(`Workflow ${workflowId} is being deprovisioned; try again when it is done.`, { code: 'workflow.busy' });
    }
    try {
      const runId = newId();
      const now = Date.now();
      const res = await this.#deps.store.beginRun({
        workflowId,
        runId,
        kind,
        plan: planToJson(plan),
        params: this.#deps.services.secrets.sealJson(params),
        owner: this.#cfg.nodeId,
        leaseMs: this.#cfg.leaseMs,
        startTime: now,
        allowedStates: kind === 'provision' ? ['NOT_STARTED', 'FAILED'] : ['COMPLETED', 'FAILED'],
        requireNoResources: kind === 'provision' ? ['FAILED'] : [],
        keepResources: kind === 'reprovision',
      });
      if (!res.ok) {
        if (res.reason === 'not_found') throw workflowStateNotFound(workflowId);
        throw refuse(res.state);
      }
      this.#deps.events.notify(workflowId);
      return runId;
    } finally {
      await this.#deps.store.unlockWorkflow(workflowId, 'op');
    }
  }

  #launch(
    runId: string,
    compiled: CompiledWorkflow,
    plan: Plan,
    params: Record<string, string>,
    completed: Map<string, JsonObject>,
    resources: StateRecord['resources'],
    attempts?: ReadonlyMap<string, number>,
  ): void {
    void this.#start(runId, compiled, plan, params, completed, resources, attempts);
  }

  async #start(
    runId: string,
    compiled: CompiledWorkflow,
    plan: Plan,
    params: Record<string, string>,
    completed: Map<string, JsonObject>,
    resources: StateRecord['resources'],
    attempts: ReadonlyMap<string, number> | undefined,
  ): Promise<void> {
    const run = await this.#deps.store.getRun(runId);
    if (!run) return;
    // Multi-tenancy: what the steps create belongs to the workflow's tenant (its state records it).
    const tenantId = (await this.#deps.store.getState(run.workflowId, { steps: false }))?.tenantId;
    const exec = new RunExecutor(
      { ...this.#deps, concurrency: this.#cfg.concurrency, deprovisionTimeoutMs: this.#cfg.deprovisionTimeoutMs },
      {
        run,
        plan,
        compiled,
        params,
        completed,
        resources,
        ...(attempts ? { attempts } : {}),
        ...(tenantId !== undefined ? { tenantId } : {}),
      },
    );
    this.#runs.set(runId, exec);
    exec.start();
    await exec.finished;
    this.#runs.delete(runId);
    // Metrics only: a failed read (store closing) must not become an unhandled rejection.
    if (this.#deps.onRunFinished) await this.#reportRun(run).catch(() => undefined);
  }

  /** The run's end as recorded (a shutdown leaves it PROVISIONING; a newer run means it went stale). */
  async #reportRun(run: RunRecord): Promise<void> {
    const s = await this.#deps.store.getState(run.workflowId, { steps: false });
    if (!s || s.runId !== run.runId || s.state === 'PROVISIONING') return;
    this.#deps.onRunFinished?.(run.kind, s.state === 'COMPLETED' ? 'completed' : s.state === 'FAILED' ? 'failed' : 'rolled_back');
  }

  /** Claim runs left behind by dead processes and resume them. */
  async recover(): Promise<number> {
    const runs = await this.#deps.store.claimOrphanedRuns(this.#cfg.nodeId, Date.now(), this.#cfg.leaseMs);
    for (const run of runs) await this.#resume(run);
    return runs.length;
  }

  async #resume(run: RunRecord): Promise<void> {
    if (this.#runs.has(run.runId)) return;
    const state = await this.#deps.store.getState(run.workflowId);
    if (!state || state.runId !== run.runId || state.state !== 'PROVISIONING') return;
    let plan: Plan;
    try {
      plan = planFromJson(run.plan);
    } catch (e) {
      await this.#deps.store.finishRun({
        runId: run.runId,
        workflowId: run.workflowId,
        state: 'FAILED',
        error: `Could not resume: ${(e as Error).message}`,
        endTime: Date.now(),
      });
      return;
    }
    if (run.attempt > this.#cfg.maxAttempts) {
      await this.#deadLetter(run, state);
      return;
    }
    const completed = new Map<string, JsonObject>();
    // A step that was under way is sent again as its next attempt (its record says so).
    const attempts = new Map<string, number>();
    for (const s of state.steps) {
      if (s.state === 'COMPLETED') completed.set(s.nodeId, s.outputs ?? {});
      else attempts.set(s.nodeId, s.attempt);
    }
    let compiled: CompiledWorkflow;
    try {
      compiled = this.compile(plan.workflow, run.workflowId, false);
    } catch (e) {
      await this.#deps.store.finishRun({
        runId: run.runId,
        workflowId: run.workflowId,
        state: 'FAILED',
        error: `Could not resume: ${(e as Error).message}`,
        endTime: Date.now(),
      });
      return;
    }
    const params = this.#deps.services.secrets.openJson<Record<string, string>>(run.params);
    this.#deps.logger.info(
      { workflowId: run.workflowId, runId: run.runId, attempt: run.attempt, done: completed.size, total: compiled.order.length },
      'resuming provisioning run',
    );
    this.#launch(run.runId, compiled, plan, params, completed, state.resources, attempts);
  }

  /**
   * Every attempt of the run ended the node running it: FAILED instead of a resume. The steps
   * that were under way are marked FAILED with the same text; what the run created stays
   * recorded (deprovision removes it).
   */
  async #deadLetter(run: RunRecord, state: StateRecord): Promise<void> {
    const attempts = run.attempt - 1;
    const inFlight = state.steps.filter((s) => s.state === 'RUNNING').map((s) => s.nodeId);
    const failed = runDeadLetterError(attempts, inFlight);
    const now = Date.now();
    for (const nodeId of inFlight) await this.#deps.store.recordStepFailed(run.runId, run.workflowId, nodeId, failed.text, now);
    const ended = await this.#deps.store.finishRun({
      runId: run.runId,
      workflowId: run.workflowId,
      state: 'FAILED',
      error: failed.text,
      errorDetail: failed.error,
      endTime: now,
    });
    this.#deps.events.notify(run.workflowId);
    if (!ended) return;
    this.#deps.logger.warn(
      { workflowId: run.workflowId, runId: run.runId, attempts, steps: inFlight, code: RUN_DEAD_LETTERED },
      'provisioning run dead-lettered: each of its attempts ended the node running it',
    );
    this.#deps.onRunFinished?.(run.kind, 'failed');
  }

  /** Renew this node's leases and pick up orphaned runs, until stopped. */
  startBackgroundLoop(): void {
    const tick = async (): Promise<void> => {
      await this.#deps.store.renewLeases(this.#cfg.nodeId, Date.now(), this.#cfg.leaseMs);
      await this.recover();
    };
    this.#leaseTimer = setInterval(
      () => {
        tick().catch((e: unknown) => this.#deps.logger.error({ err: e }, 'lease renewal failed'));
      },
      Math.max(200, Math.floor(this.#cfg.leaseMs / 3)),
    );
    this.#leaseTimer.unref();
  }

  isTerminal(s: StateRecord | undefined): boolean {
    return s === undefined || TERMINAL.has(s.state);
  }

  /** Wait until the workflow leaves PROVISIONING, or the timeout passes. */
  async waitForCompletion(workflowId: string, timeoutMs: number): Promise<boolean> {
    return this.#deps.events.waitUntil(
      workflowId,
      async () => this.isTerminal(await this.#deps.store.getState(workflowId, { steps: false })),
      timeoutMs,
    );
  }

  activeRuns(): number {
    return this.#runs.size;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#leaseTimer) clearInterval(this.#leaseTimer);
    await Promise.all([...this.#runs.values()].map((r) => r.shutdown(this.#cfg.shutdownGraceMs)));
  }
}
