/**
 * The Store on PostgreSQL: the engine for scale-out, several flowd nodes on one database (or
 * one schema of it, `?schema=` in the URL). Nothing is cached in memory, since other nodes write
 * the same rows; work is shared through leases (runs, tasks) claimed with
 * `FOR UPDATE SKIP LOCKED`, and every multi-statement method is one transaction on one pooled
 * connection. Each domain lives in its own file, named as on SQLite (postgres-<domain>.ts
 * beside sqlite-<domain>.ts); this class opens the pool and hands each call to its domain.
 */
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
import { PgApiKeys } from './postgres-api-keys.js';
import type { PgLogger } from './postgres-connection.js';
import { PgDb, advisoryKey, createPool, parsePgUrl } from './postgres-connection.js';
import { LATEST_POSTGRES_VERSION } from './postgres-migrations.js';
import type { MigrationOutcome } from './postgres-migrator.js';
import { checkSchema, migrateSchema } from './postgres-migrator.js';
import { PgMlResources } from './postgres-ml-resources.js';
import { PgNodes } from './postgres-nodes.js';
import { PgProvisioning } from './postgres-provisioning.js';
import { PgPublications } from './postgres-publications.js';
import { PgTasks } from './postgres-tasks.js';
import { PgUsers } from './postgres-users.js';
import { PgWorkflows } from './postgres-workflows.js';

export interface PostgresStoreOptions {
  /** Apply pending migrations on open (default). false: refuse a schema that is behind (`flowd migrate` first). */
  migrate?: boolean;
  /** Most connections this node opens (default 10). */
  poolSize?: number;
  logger?: PgLogger;
}

/** Opens a pool and checks the server answers, with an error that names the (password-less) URL. */
async function connect(url: string, opts: PostgresStoreOptions): Promise<{ db: PgDb; schema: string }> {
  const target = parsePgUrl(url);
  const db = new PgDb(createPool(target, opts));
  try {
    await db.query('SELECT 1');
  } catch (e) {
    await db.end().catch(() => undefined);
    throw new Error(`Cannot connect to PostgreSQL at ${target.display}: ${(e as Error).message}`, { cause: e });
  }
  return { db, schema: target.schema };
}

/** `flowd migrate`: brings the URL's schema to the latest version. */
export async function migratePostgres(url: string): Promise<MigrationOutcome> {
  const { db, schema } = await connect(url, { poolSize: 1 });
  try {
    return await migrateSchema(db, schema);
  } finally {
    await db.end();
  }
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly #db: PgDb;
  readonly #nodes: PgNodes;
  readonly #workflows: PgWorkflows;
  readonly #state: PgProvisioning;
  readonly #ml: PgMlResources;
  readonly #users: PgUsers;
  readonly #publications: PgPublications;
  readonly #tasks: PgTasks;
  readonly #apiKeys: PgApiKeys;
  #closed = false;

  private constructor(db: PgDb, schema: string) {
    this.#db = db;
    this.#nodes = new PgNodes(db);
    this.#workflows = new PgWorkflows(db, advisoryKey(`flowd:workflows:${schema}`));
    this.#state = new PgProvisioning(db);
    this.#ml = new PgMlResources(db);
    this.#users = new PgUsers(db);
    this.#publications = new PgPublications(db);
    this.#tasks = new PgTasks(db);
    this.#apiKeys = new PgApiKeys(db);
  }

  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const { db, schema } = await connect(url, opts);
    try {
      if (opts.migrate === false) await checkSchema(db, schema);
      else await migrateSchema(db, schema);
    } catch (e) {
      await db.end().catch(() => undefined);
      throw e;
    }
    return new PostgresStore(db, schema);
  }

  async schemaVersion(): Promise<SchemaVersion> {
    const r = await this.#db.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    return { current: r.rows[0]?.v ?? 0, latest: LATEST_POSTGRES_VERSION };
  }

  async maintenanceWarnings(): Promise<string[]> {
    const r = await this.#db.query<{ autovacuum: string }>(`SELECT current_setting('autovacuum') AS autovacuum`);
    if (r.rows[0]?.autovacuum === 'on') return [];
    // Each task row is written three times; without vacuum the dead versions and their index
    // entries stay, and every scan of the queue walks over them.
    return [
      'autovacuum is off: dead task rows are never cleaned up and the task queue slows down as they pile up; turn it on (ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf()) or VACUUM the flowd tables regularly',
    ];
  }

  // ---------------------------------------------------------------- nodes (postgres-nodes.ts)

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

  // ---------------------------------------------------------------- workflows (postgres-workflows.ts)

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

  // ---------------------------------------------------------------- provisioning state (postgres-provisioning.ts)

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

  // ---------------------------------------------------------------- ML resources (postgres-ml-resources.ts)

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

  // ---------------------------------------------------------------- users (postgres-users.ts)

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

  // ---------------------------------------------------------------- publications (postgres-publications.ts)

  putPublication(p: PutPublicationInput): Promise<PublicationRecord> {
    return this.#publications.put(p);
  }
  getPublication(workflowId: string): Promise<PublicationRecord | undefined> {
    return this.#publications.get(workflowId);
  }
  deletePublication(workflowId: string): Promise<boolean> {
    return this.#publications.delete(workflowId);
  }
  listPublications(): Promise<PublicationRecord[]> {
    return this.#publications.list();
  }

  // ---------------------------------------------------------------- tasks (postgres-tasks.ts)

  createTask(t: NewTask): Promise<{ task: TaskRecord; created: boolean }> {
    return this.#tasks.create(t);
  }
  claimTasks(
    workflowId: string,
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    deadLetter?: TaskDeadLetter,
  ): Promise<Array<TaskRecord & { input: string }>> {
    return this.#tasks.claim(workflowId, owner, limit, now, leaseMs, deadLetter);
  }
  requeueTasks(owner: string, taskIds: string[]): Promise<string[]> {
    return this.#tasks.requeue(owner, taskIds);
  }
  completeTasks(results: TaskCompletion[]): Promise<string[]> {
    return this.#tasks.complete(results);
  }
  renewTaskLeases(workflowId: string, owner: string, now: number, leaseMs: number): Promise<void> {
    return this.#tasks.renewLeases(workflowId, owner, now, leaseMs);
  }
  /** Only expired leases here: other owners are live nodes (unlike SQLite's single process). */
  requeueOrphanedTasks(_owner: string, now: number): Promise<number> {
    return this.#tasks.requeueOrphans(now);
  }
  getTask(workflowId: string, taskId: string, opts?: { input?: boolean; output?: boolean }): Promise<TaskRecord | undefined> {
    return this.#tasks.get(workflowId, taskId, opts);
  }
  getTasks(workflowId: string, taskIds: string[]): Promise<TaskRecord[]> {
    return this.#tasks.getMany(workflowId, taskIds);
  }
  listTasks(workflowId: string, opts: { statuses?: TaskStatus[]; limit: number; after?: string }): Promise<TaskPage> {
    return this.#tasks.list(workflowId, opts);
  }
  cancelTask(workflowId: string, taskId: string, at: number): Promise<TaskRecord | undefined> {
    return this.#tasks.cancel(workflowId, taskId, at);
  }
  deleteTask(workflowId: string, taskId: string): Promise<boolean> {
    return this.#tasks.delete(workflowId, taskId);
  }
  deleteTasks(workflowId: string, opts: { statuses?: TaskStatus[] }): Promise<number> {
    return this.#tasks.deleteMany(workflowId, opts);
  }
  countTasks(workflowId: string): Promise<Record<TaskStatus, number>> {
    return this.#tasks.count(workflowId);
  }
  countQueuedTasks(workflowId: string): Promise<number> {
    return this.#tasks.countQueued(workflowId);
  }
  deleteExpiredTasks(now: number): Promise<number> {
    return this.#tasks.deleteExpired(now);
  }

  // ---------------------------------------------------------------- API keys (postgres-api-keys.ts)

  createApiKey(k: ApiKeyRecord & { hash: string }): Promise<void> {
    return this.#apiKeys.create(k);
  }
  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#apiKeys.list();
  }
  getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    return this.#apiKeys.getByHash(hash);
  }
  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.#apiKeys.get(id);
  }
  rotateApiKey(id: string, newHash: string, newPrefix: string, graceUntil?: number): Promise<ApiKeyRecord | undefined> {
    return this.#apiKeys.rotate(id, newHash, newPrefix, graceUntil);
  }
  deleteApiKey(id: string): Promise<boolean> {
    return this.#apiKeys.delete(id);
  }
  touchApiKeys(used: Array<{ id: string; at: number }>): Promise<void> {
    return this.#apiKeys.touch(used);
  }

  // ---------------------------------------------------------------- meta

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.#db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#db.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [
      key,
      value,
    ]);
  }

  /** Sends the task creates still grouped in this turn, then closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tasks.flush();
    await this.#db.end();
  }
}
