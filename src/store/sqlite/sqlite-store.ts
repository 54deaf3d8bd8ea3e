/**
 * The embedded Store: one SQLite file in WAL mode, used by exactly one flowd process (the data
 * dir is locked, see data-dir-lock.ts). better-sqlite3 is synchronous, so each method is one
 * short transaction and atomic by construction; the async signatures keep the port shared
 * with PostgreSQL. Each domain lives in its own file, named as on PostgreSQL (sqlite-<domain>.ts
 * beside postgres-<domain>.ts); this class opens the file and hands each call to its domain.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Template } from '../../template/types.js';
import type { JsonObject } from '../../util/json.js';
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
  SchemaVersion,
  StateRecord,
  StepCompletion,
  Store,
  StoredUser,
  TaskCompletion,
  TaskDeadLetter,
  TaskPage,
  TaskRecord,
  TaskStatus,
  WorkflowRecord,
} from '../store.js';
import type { StoreIntegrity } from '../store-integrity.js';
import { IntegrityLatch } from '../store-integrity.js';
import { SqliteApiKeys } from './sqlite-api-keys.js';
import type { QuickCheckResult } from './sqlite-integrity.js';
import { latchCorruptionErrors } from './sqlite-integrity.js';
import { SqliteMlResources } from './sqlite-ml-resources.js';
import { SqliteNodes } from './sqlite-nodes.js';
import type { SqliteOpenOptions } from './sqlite-open.js';
import { latestSqliteVersion, openSqliteDatabase } from './sqlite-open.js';
import { SqliteProvisioning } from './sqlite-provisioning.js';
import { statementCache } from './sqlite-statement-cache.js';
import { SqlitePublications } from './sqlite-publications.js';
import { SqliteTasks } from './sqlite-tasks.js';
import { SqliteUsers } from './sqlite-users.js';
import { SqliteWorkflows } from './sqlite-workflows.js';

export interface SqliteStoreOptions extends SqliteOpenOptions {
  /** Hears once when the file turns out damaged, at the start-up check or at run time. */
  onDamaged?: (reason: string) => void;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly #db: Db;
  readonly #q: (sql: string) => Statement;
  readonly #nodes: SqliteNodes;
  readonly #workflows: SqliteWorkflows;
  readonly #state: SqliteProvisioning;
  readonly #ml: SqliteMlResources;
  readonly #users: SqliteUsers;
  readonly #publications: SqlitePublications;
  readonly #tasks: SqliteTasks;
  readonly #apiKeys: SqliteApiKeys;
  readonly #integrity: IntegrityLatch;
  /** The start-up `quick_check`, when asked for. */
  readonly startupCheck: QuickCheckResult | undefined;

  constructor(opts: SqliteStoreOptions) {
    this.#integrity = new IntegrityLatch(opts.onDamaged);
    const opened = openSqliteDatabase(opts, this.#integrity);
    this.#db = opened.db;
    this.startupCheck = opened.startupCheck;
    this.#q = statementCache(this.#db);
    this.#nodes = new SqliteNodes(this.#db);
    this.#state = new SqliteProvisioning(this.#db);
    this.#workflows = new SqliteWorkflows(this.#db, this.#state);
    this.#ml = new SqliteMlResources(this.#db);
    this.#users = new SqliteUsers(this.#db);
    this.#publications = new SqlitePublications(this.#db);
    this.#tasks = new SqliteTasks(this.#db);
    this.#apiKeys = new SqliteApiKeys(this.#db);
    latchCorruptionErrors(this, SqliteStore.prototype, this.#integrity, opened.advice);
  }

  integrity(): StoreIntegrity {
    return this.#integrity.get();
  }

  async schemaVersion(): Promise<SchemaVersion> {
    const current = (this.#db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    return { current, latest: latestSqliteVersion() };
  }

  /** SQLite reuses the space of deleted rows by itself: nothing to tune. */
  async maintenanceWarnings(): Promise<string[]> {
    return [];
  }

  // ---------------------------------------------------------------- nodes (sqlite-nodes.ts)

  heartbeatNode(n: NodeRecord): Promise<void> {
    return this.#nodes.heartbeatNode(n);
  }
  listNodes(): Promise<NodeRecord[]> {
    return this.#nodes.listNodes();
  }
  removeNode(nodeId: string): Promise<void> {
    return this.#nodes.removeNode(nodeId);
  }
  countStuckWork(now: number): Promise<{ runs: number; tasks: number }> {
    return this.#nodes.countStuckWork(now);
  }

  // ---------------------------------------------------------------- workflows (sqlite-workflows.ts)

  createWorkflow(input: NewWorkflow): Promise<'ok' | 'limit'> {
    return this.#workflows.createWorkflow(input);
  }
  getWorkflow(id: string): Promise<WorkflowRecord | undefined> {
    return this.#workflows.getWorkflow(id);
  }
  replaceWorkflow(id: string, template: Template): Promise<ReplaceResult> {
    return this.#workflows.replaceWorkflow(id, template);
  }
  saveTemplate(id: string, template: Template): Promise<boolean> {
    return this.#workflows.saveTemplate(id, template);
  }
  deleteWorkflow(id: string, clearStatus: boolean): Promise<boolean> {
    return this.#workflows.deleteWorkflow(id, clearStatus);
  }
  countWorkflows(): Promise<number> {
    return this.#workflows.countWorkflows();
  }
  listWorkflows(): Promise<WorkflowRecord[]> {
    return this.#workflows.listWorkflows();
  }

  // ---------------------------------------------------------------- provisioning state (sqlite-provisioning.ts)

  getState(id: string, opts?: { steps?: boolean }): Promise<StateRecord | undefined> {
    return this.#state.getState(id, opts);
  }
  listStates(): Promise<StateRecord[]> {
    return this.#state.listStates();
  }
  countStates(): Promise<Record<ProvisionState, number>> {
    return this.#state.countStates();
  }
  beginRun(input: BeginRunInput): Promise<BeginRunResult> {
    return this.#state.beginRun(input);
  }
  getRun(runId: string): Promise<RunRecord | undefined> {
    return this.#state.getRun(runId);
  }
  recordStepStarted(runId: string, workflowId: string, nodeId: string, type: string, attempt: number, at: number): Promise<boolean> {
    return this.#state.recordStepStarted(runId, workflowId, nodeId, type, attempt, at);
  }
  recordStepCompleted(c: StepCompletion): Promise<boolean> {
    return this.#state.recordStepCompleted(c);
  }
  recordStepFailed(
    runId: string,
    workflowId: string,
    nodeId: string,
    error: string,
    at: number,
    state: 'FAILED' | 'CANCELED' = 'FAILED',
  ): Promise<boolean> {
    return this.#state.recordStepFailed(runId, workflowId, nodeId, error, at, state);
  }
  finishRun(input: FinishRunInput): Promise<boolean> {
    return this.#state.finishRun(input);
  }
  removeResource(workflowId: string, resource: ResourceCreated): Promise<void> {
    return this.#state.removeResource(workflowId, resource);
  }
  resetState(workflowId: string, error?: string): Promise<void> {
    return this.#state.resetState(workflowId, error);
  }
  markDeprovisionPartial(workflowId: string, at: number): Promise<void> {
    return this.#state.markDeprovisionPartial(workflowId, at);
  }
  claimOrphanedRuns(owner: string, now: number, leaseMs: number): Promise<RunRecord[]> {
    return this.#state.claimOrphanedRuns(owner, now, leaseMs);
  }
  renewLeases(owner: string, now: number, leaseMs: number): Promise<void> {
    return this.#state.renewLeases(owner, now, leaseMs);
  }
  tryLockWorkflow(workflowId: string, op: string, owner: string, until: number): Promise<boolean> {
    return this.#state.tryLockWorkflow(workflowId, op, owner, until);
  }
  unlockWorkflow(workflowId: string, op: string): Promise<void> {
    return this.#state.unlockWorkflow(workflowId, op);
  }

  // ---------------------------------------------------------------- ML resources (sqlite-ml-resources.ts)

  createMlResource(
    kind: string,
    id: string,
    doc: JsonObject,
    idempotencyKey?: string,
  ): Promise<{ record: MlResourceRecord; created: boolean }> {
    return this.#ml.createMlResource(kind, id, doc, idempotencyKey);
  }
  getMlResource(kind: string, id: string): Promise<MlResourceRecord | undefined> {
    return this.#ml.getMlResource(kind, id);
  }
  updateMlResource(kind: string, id: string, doc: JsonObject): Promise<boolean> {
    return this.#ml.updateMlResource(kind, id, doc);
  }
  deleteMlResource(kind: string, id: string): Promise<boolean> {
    return this.#ml.deleteMlResource(kind, id);
  }
  listMlResources(kind: string): Promise<MlResourceRecord[]> {
    return this.#ml.listMlResources(kind);
  }

  // ---------------------------------------------------------------- users (sqlite-users.ts)

  getUser(name: string): Promise<StoredUser | undefined> {
    return this.#users.getUser(name);
  }
  putUser(u: StoredUser): Promise<void> {
    return this.#users.putUser(u);
  }
  deleteUser(name: string): Promise<boolean> {
    return this.#users.deleteUser(name);
  }
  listUsers(): Promise<StoredUser[]> {
    return this.#users.listUsers();
  }

  // ---------------------------------------------------------------- publications (sqlite-publications.ts)

  async putPublication(p: PutPublicationInput): Promise<PublicationRecord> {
    return this.#publications.put(p);
  }
  async getPublication(workflowId: string): Promise<PublicationRecord | undefined> {
    return this.#publications.get(workflowId);
  }
  async deletePublication(workflowId: string): Promise<boolean> {
    return this.#publications.delete(workflowId);
  }
  async listPublications(): Promise<PublicationRecord[]> {
    return this.#publications.list();
  }

  // ---------------------------------------------------------------- tasks (sqlite-tasks.ts)

  async createTask(t: NewTask): Promise<{ task: TaskRecord; created: boolean }> {
    return this.#tasks.create(t);
  }
  async claimTasks(
    workflowId: string,
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    deadLetter?: TaskDeadLetter,
  ): Promise<Array<TaskRecord & { input: string }>> {
    return this.#tasks.claim(workflowId, owner, limit, now, leaseMs, deadLetter);
  }
  async requeueTasks(owner: string, taskIds: string[]): Promise<string[]> {
    return this.#tasks.requeue(owner, taskIds);
  }
  async completeTasks(results: TaskCompletion[]): Promise<string[]> {
    return this.#tasks.complete(results);
  }
  async renewTaskLeases(workflowId: string, owner: string, now: number, leaseMs: number): Promise<void> {
    this.#tasks.renewLeases(workflowId, owner, now, leaseMs);
  }
  async requeueOrphanedTasks(owner: string, now: number): Promise<number> {
    return this.#tasks.requeueOrphans(owner, now);
  }
  async getTask(workflowId: string, taskId: string, opts?: { input?: boolean; output?: boolean }): Promise<TaskRecord | undefined> {
    return this.#tasks.get(workflowId, taskId, opts);
  }
  async getTasks(workflowId: string, taskIds: string[]): Promise<TaskRecord[]> {
    return this.#tasks.getMany(workflowId, taskIds);
  }
  async listTasks(workflowId: string, opts: { statuses?: TaskStatus[]; limit: number; after?: string }): Promise<TaskPage> {
    return this.#tasks.list(workflowId, opts);
  }
  async cancelTask(workflowId: string, taskId: string, at: number): Promise<TaskRecord | undefined> {
    return this.#tasks.cancel(workflowId, taskId, at);
  }
  async deleteTask(workflowId: string, taskId: string): Promise<boolean> {
    return this.#tasks.delete(workflowId, taskId);
  }
  async deleteTasks(workflowId: string, opts: { statuses?: TaskStatus[] }): Promise<number> {
    return this.#tasks.deleteMany(workflowId, opts);
  }
  async countTasks(workflowId: string): Promise<Record<TaskStatus, number>> {
    return this.#tasks.count(workflowId);
  }
  async countQueuedTasks(workflowId: string): Promise<number> {
    return this.#tasks.count(workflowId).QUEUED;
  }
  async deleteExpiredTasks(now: number): Promise<number> {
    return this.#tasks.deleteExpired(now);
  }

  // ---------------------------------------------------------------- API keys (sqlite-api-keys.ts)

  async createApiKey(k: ApiKeyRecord & { hash: string }): Promise<void> {
    this.#apiKeys.create(k);
  }
  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#apiKeys.list();
  }
  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    return this.#apiKeys.getByHash(hash);
  }
  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.#apiKeys.get(id);
  }
  async rotateApiKey(id: string, newHash: string, newPrefix: string, graceUntil?: number): Promise<ApiKeyRecord | undefined> {
    return this.#apiKeys.rotate(id, newHash, newPrefix, graceUntil);
  }
  async deleteApiKey(id: string): Promise<boolean> {
    return this.#apiKeys.delete(id);
  }
  async touchApiKeys(used: Array<{ id: string; at: number }>): Promise<void> {
    this.#apiKeys.touch(used);
  }

  // ---------------------------------------------------------------- meta

  async getMeta(key: string): Promise<string | undefined> {
    return (this.#q('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.#q('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#tasks.flush(); // grouped task writes still pending
    if (this.#db.open) this.#db.close();
  }
}
