/**
 * The Store port's per-domain calls, forwarded once for both dialects: SqliteStore and
 * PostgresStore each open their database, build their domain classes (sqlite-<domain>.ts,
 * postgres-<domain>.ts) and add only what differs (schema version, maintenance, meta, close).
 * A method whose domain may answer synchronously is `async`, so a thrown error is a rejection
 * on both dialects.
 */
import type { Template } from '../template/types.js';
import type { JsonObject } from '../util/json.js';
import type {
  ApiKeyRecord,
  BeginRunInput,
  BeginRunResult,
  FinishRunInput,
  MlResourceRecord,
  NewTask,
  NewWorkflow,
  NodeRecord,
  ProvisionState,
  PublicationRecord,
  PutPublicationInput,
  ReplaceResult,
  ResourceCreated,
  RunRecord,
  StateRecord,
  StepCompletion,
  StoredUser,
  TaskCompletion,
  TaskDeadLetter,
  TaskPage,
  TaskRecord,
  TaskStatus,
  WorkflowPageQuery,
  WorkflowPageRow,
  WorkflowRecord,
} from './store.js';
import type { StoreDomains } from './store-domains.js';
import type { CandidatePlan, CandidateResult } from './search-plan.js';

export abstract class StoreFacade {
  readonly #d: StoreDomains;

  protected constructor(domains: StoreDomains) {
    this.#d = domains;
  }

  // ---------------------------------------------------------------- nodes

  heartbeatNode(n: NodeRecord): Promise<void> {
    return this.#d.nodes.heartbeatNode(n);
  }
  listNodes(): Promise<NodeRecord[]> {
    return this.#d.nodes.listNodes();
  }
  removeNode(nodeId: string): Promise<void> {
    return this.#d.nodes.removeNode(nodeId);
  }
  countStuckWork(now: number): Promise<{ runs: number; tasks: number }> {
    return this.#d.nodes.countStuckWork(now);
  }

  // ---------------------------------------------------------------- workflows

  createWorkflow(input: NewWorkflow): Promise<'ok' | 'limit'> {
    return this.#d.workflows.createWorkflow(input);
  }
  getWorkflow(id: string): Promise<WorkflowRecord | undefined> {
    return this.#d.workflows.getWorkflow(id);
  }
  replaceWorkflow(id: string, template: Template): Promise<ReplaceResult> {
    return this.#d.workflows.replaceWorkflow(id, template);
  }
  saveTemplate(id: string, template: Template): Promise<boolean> {
    return this.#d.workflows.saveTemplate(id, template);
  }
  deleteWorkflow(id: string, clearStatus: boolean): Promise<boolean> {
    return this.#d.workflows.deleteWorkflow(id, clearStatus);
  }
  countWorkflows(): Promise<number> {
    return this.#d.workflows.countWorkflows();
  }
  listWorkflows(): Promise<WorkflowRecord[]> {
    return this.#d.workflows.listWorkflows();
  }
  listWorkflowsPage(q: WorkflowPageQuery): Promise<WorkflowPageRow[]> {
    return this.#d.workflows.listWorkflowsPage(q);
  }

  // ---------------------------------------------------------------- provisioning state

  getState(id: string, opts?: { steps?: boolean }): Promise<StateRecord | undefined> {
    return this.#d.state.getState(id, opts);
  }
  listStates(): Promise<StateRecord[]> {
    return this.#d.state.listStates();
  }

  // ---------------------------------------------------------------- indexed search

  searchWorkflowCandidates(plan: CandidatePlan): Promise<CandidateResult<WorkflowRecord>> {
    return this.#d.search.searchWorkflowCandidates(plan);
  }
  searchStateCandidates(plan: CandidatePlan): Promise<CandidateResult<StateRecord>> {
    return this.#d.search.searchStateCandidates(plan);
  }
  countStates(): Promise<Record<ProvisionState, number>> {
    return this.#d.state.countStates();
  }
  beginRun(input: BeginRunInput): Promise<BeginRunResult> {
    return this.#d.state.beginRun(input);
  }
  getRun(runId: string): Promise<RunRecord | undefined> {
    return this.#d.state.getRun(runId);
  }
  recordStepStarted(runId: string, workflowId: string, nodeId: string, type: string, attempt: number, at: number): Promise<boolean> {
    return this.#d.state.recordStepStarted(runId, workflowId, nodeId, type, attempt, at);
  }
  recordStepCompleted(c: StepCompletion): Promise<boolean> {
    return this.#d.state.recordStepCompleted(c);
  }
  recordStepFailed(
    runId: string,
    workflowId: string,
    nodeId: string,
    error: string,
    at: number,
    state: 'FAILED' | 'CANCELED' = 'FAILED',
  ): Promise<boolean> {
    return this.#d.state.recordStepFailed(runId, workflowId, nodeId, error, at, state);
  }
  finishRun(input: FinishRunInput): Promise<boolean> {
    return this.#d.state.finishRun(input);
  }
  removeResource(workflowId: string, resource: ResourceCreated): Promise<void> {
    return this.#d.state.removeResource(workflowId, resource);
  }
  resetState(workflowId: string, error?: string): Promise<void> {
    return this.#d.state.resetState(workflowId, error);
  }
  markDeprovisionPartial(workflowId: string, at: number): Promise<void> {
    return this.#d.state.markDeprovisionPartial(workflowId, at);
  }
  claimOrphanedRuns(owner: string, now: number, leaseMs: number): Promise<RunRecord[]> {
    return this.#d.state.claimOrphanedRuns(owner, now, leaseMs);
  }
  renewLeases(owner: string, now: number, leaseMs: number): Promise<void> {
    return this.#d.state.renewLeases(owner, now, leaseMs);
  }
  tryLockWorkflow(workflowId: string, op: string, owner: string, until: number): Promise<boolean> {
    return this.#d.state.tryLockWorkflow(workflowId, op, owner, until);
  }
  unlockWorkflow(workflowId: string, op: string): Promise<void> {
    return this.#d.state.unlockWorkflow(workflowId, op);
  }

  // ---------------------------------------------------------------- ML resources

  createMlResource(
    kind: string,
    id: string,
    doc: JsonObject,
    idempotencyKey?: string,
  ): Promise<{ record: MlResourceRecord; created: boolean }> {
    return this.#d.ml.createMlResource(kind, id, doc, idempotencyKey);
  }
  getMlResource(kind: string, id: string): Promise<MlResourceRecord | undefined> {
    return this.#d.ml.getMlResource(kind, id);
  }
  updateMlResource(kind: string, id: string, doc: JsonObject): Promise<boolean> {
    return this.#d.ml.updateMlResource(kind, id, doc);
  }
  deleteMlResource(kind: string, id: string): Promise<boolean> {
    return this.#d.ml.deleteMlResource(kind, id);
  }
  listMlResources(kind: string): Promise<MlResourceRecord[]> {
    return this.#d.ml.listMlResources(kind);
  }

  // ---------------------------------------------------------------- users

  getUser(name: string): Promise<StoredUser | undefined> {
    return this.#d.users.getUser(name);
  }
  putUser(u: StoredUser): Promise<void> {
    return this.#d.users.putUser(u);
  }
  deleteUser(name: string): Promise<boolean> {
    return this.#d.users.deleteUser(name);
  }
  listUsers(): Promise<StoredUser[]> {
    return this.#d.users.listUsers();
  }

  // ---------------------------------------------------------------- publications

  async putPublication(p: PutPublicationInput): Promise<PublicationRecord> {
    return this.#d.publications.put(p);
  }
  async getPublication(workflowId: string): Promise<PublicationRecord | undefined> {
    return this.#d.publications.get(workflowId);
  }
  async deletePublication(workflowId: string): Promise<boolean> {
    return this.#d.publications.delete(workflowId);
  }
  async listPublications(): Promise<PublicationRecord[]> {
    return this.#d.publications.list();
  }

  // ---------------------------------------------------------------- tasks

  createTask(t: NewTask): Promise<{ task: TaskRecord; created: boolean }> {
    return this.#d.tasks.create(t);
  }
  async claimTasks(
    workflowId: string,
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    deadLetter?: TaskDeadLetter,
  ): Promise<Array<TaskRecord & { input: string }>> {
    return this.#d.tasks.claim(workflowId, owner, limit, now, leaseMs, deadLetter);
  }
  async requeueTasks(owner: string, taskIds: string[]): Promise<string[]> {
    return this.#d.tasks.requeue(owner, taskIds);
  }
  async completeTasks(results: TaskCompletion[]): Promise<string[]> {
    return this.#d.tasks.complete(results);
  }
  async renewTaskLeases(workflowId: string, owner: string, now: number, leaseMs: number): Promise<void> {
    return this.#d.tasks.renewLeases(workflowId, owner, now, leaseMs);
  }
  async requeueOrphanedTasks(owner: string, now: number): Promise<number> {
    return this.#d.tasks.requeueOrphans(owner, now);
  }
  async getTask(workflowId: string, taskId: string, opts?: { input?: boolean; output?: boolean }): Promise<TaskRecord | undefined> {
    return this.#d.tasks.get(workflowId, taskId, opts);
  }
  async getTasks(workflowId: string, taskIds: string[]): Promise<TaskRecord[]> {
    return this.#d.tasks.getMany(workflowId, taskIds);
  }
  async listTasks(workflowId: string, opts: { statuses?: TaskStatus[]; limit: number; after?: string }): Promise<TaskPage> {
    return this.#d.tasks.list(workflowId, opts);
  }
  async cancelTask(workflowId: string, taskId: string, at: number): Promise<TaskRecord | undefined> {
    return this.#d.tasks.cancel(workflowId, taskId, at);
  }
  async deleteTask(workflowId: string, taskId: string): Promise<boolean> {
    return this.#d.tasks.delete(workflowId, taskId);
  }
  async deleteTasks(workflowId: string, opts: { statuses?: TaskStatus[] }): Promise<number> {
    return this.#d.tasks.deleteMany(workflowId, opts);
  }
  async countTasks(workflowId: string): Promise<Record<TaskStatus, number>> {
    return this.#d.tasks.count(workflowId);
  }
  async countQueuedTasks(workflowId: string): Promise<number> {
    return this.#d.tasks.countQueued(workflowId);
  }
  async deleteExpiredTasks(now: number): Promise<number> {
    return this.#d.tasks.deleteExpired(now);
  }

  // ---------------------------------------------------------------- API keys

  async createApiKey(k: ApiKeyRecord & { hash: string }): Promise<void> {
    return this.#d.apiKeys.create(k);
  }
  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#d.apiKeys.list();
  }
  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    return this.#d.apiKeys.getByHash(hash);
  }
  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.#d.apiKeys.get(id);
  }
  async rotateApiKey(id: string, newHash: string, newPrefix: string, graceUntil?: number): Promise<ApiKeyRecord | undefined> {
    return this.#d.apiKeys.rotate(id, newHash, newPrefix, graceUntil);
  }
  async deleteApiKey(id: string): Promise<boolean> {
    return this.#d.apiKeys.delete(id);
  }
  async touchApiKeys(used: Array<{ id: string; at: number }>): Promise<void> {
    return this.#d.apiKeys.touch(used);
  }
}
