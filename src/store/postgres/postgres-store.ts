/**
 * The Store on PostgreSQL: the engine for scale-out, several flowd nodes on one database (or
 * one schema of it, `?schema=` in the URL). Nothing is cached in memory, since other nodes write
 * the same rows; work is shared through leases (runs, tasks) claimed with
 * `FOR UPDATE SKIP LOCKED`, and every multi-statement method is one transaction on one pooled
 * connection. Tasks, publications, API keys and provisioning state live in their own files.
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
import type { PgLogger } from './postgres-connection.js';
import { PgDb, advisoryKey, createPool, parsePgUrl } from './postgres-connection.js';
import { LATEST_POSTGRES_VERSION } from './postgres-migrations.js';
import type { MigrationOutcome } from './postgres-migrator.js';
import { checkSchema, migrateSchema } from './postgres-migrator.js';
import { PgApiKeys } from './postgres-api-keys.js';
import { PgPublications } from './postgres-publications.js';
import { PgTasks } from './postgres-tasks.js';
import { PgProvisioning, deleteStateRows } from './postgres-state.js';
import type { MlRow } from '../rows/ml-resource-rows.js';
import { ML_COLS, toMl } from '../rows/ml-resource-rows.js';
import type { NodeRow } from '../rows/node-rows.js';
import { toNode } from '../rows/node-rows.js';
import type { UserRow } from '../rows/user-rows.js';
import { USER_COLS, toUser } from '../rows/user-rows.js';
import type { WorkflowRow } from '../rows/workflow-rows.js';
import { toWorkflow } from '../rows/workflow-rows.js';

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
  /** Serialises createWorkflow's limit check across nodes (per schema: other schemas are other stores). */
  readonly #workflowsKey: string;
  readonly #state: PgProvisioning;
  readonly #tasks: PgTasks;
  readonly #publications: PgPublications;
  readonly #apiKeys: PgApiKeys;
  #closed = false;

  private constructor(db: PgDb, schema: string) {
    this.#db = db;
    this.#workflowsKey = advisoryKey(`flowd:workflows:${schema}`);
    this.#state = new PgProvisioning(db);
    this.#tasks = new PgTasks(db);
    this.#publications = new PgPublications(db);
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
    return ['autovacuum is off: dead task rows are never cleaned up and the task queue slows down as they pile up; turn it on (ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf()) or VACUUM the flowd tables regularly'];
  }

  // ---------------------------------------------------------------- nodes

  async heartbeatNode(n: NodeRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO nodes (node_id, url, started_at, heartbeat_at, info) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (node_id) DO UPDATE SET url = EXCLUDED.url, heartbeat_at = EXCLUDED.heartbeat_at, info = EXCLUDED.info`,
      [n.nodeId, n.url, n.startedAt, n.heartbeatAt, JSON.stringify(n.info)],
    );
  }

  async listNodes(): Promise<NodeRecord[]> {
    const r = await this.#db.query<NodeRow>('SELECT node_id, url, started_at, heartbeat_at, info FROM nodes ORDER BY node_id');
    return r.rows.map(toNode);
  }

  async removeNode(nodeId: string): Promise<void> {
    await this.#db.query('DELETE FROM nodes WHERE node_id = $1', [nodeId]);
  }

  async countStuckWork(now: number): Promise<{ runs: number; tasks: number }> {
    const r = await this.#db.query<{ runs: number; tasks: number }>(
      `SELECT (SELECT COUNT(*) FROM runs WHERE active AND lease_until < $1) AS runs,
              (SELECT COUNT(*) FROM tasks WHERE status = 'RUNNING' AND lease_until < $1) AS tasks`,
      [now],
    );
    return r.rows[0] ?? { runs: 0, tasks: 0 };
  }

  // ---------------------------------------------------------------- workflows

  createWorkflow(input: NewWorkflow): Promise<'ok' | 'limit'> {
    return this.#db.tx(async (q): Promise<'ok' | 'limit'> => {
      // Two nodes creating at once must not both pass the count: they take turns here.
      await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [this.#workflowsKey]);
      const n = (await q.query<{ n: number }>('SELECT COUNT(*) AS n FROM workflows')).rows[0]?.n ?? 0;
      if (n >= input.maxWorkflows) return 'limit';
      const now = input.template.created_time ?? Date.now();
      // A state row may outlive its template (deleted with resources left): it starts over.
      await q.query(
        `WITH wf AS (INSERT INTO workflows (id, template, version, created_at, updated_at) VALUES ($1, $2, 1, $3, $3))
         INSERT INTO workflow_state (workflow_id, state, progress, os_user, version, updated_at)
         VALUES ($1, 'NOT_STARTED', 'NOT_STARTED', $4, 1, $3)
         ON CONFLICT (workflow_id) DO UPDATE SET state = 'NOT_STARTED', progress = 'NOT_STARTED', os_user = EXCLUDED.os_user,
           start_time = NULL, end_time = NULL, error = NULL, run_id = NULL, version = workflow_state.version + 1, updated_at = EXCLUDED.updated_at`,
        [input.id, JSON.stringify(input.template), now, input.user ? JSON.stringify(input.user) : null],
      );
      return 'ok';
    });
  }

  async getWorkflow(id: string): Promise<WorkflowRecord | undefined> {
    const row = (await this.#db.query<WorkflowRow>('SELECT id, template, version FROM workflows WHERE id = $1', [id])).rows[0];
    return row ? toWorkflow(row) : undefined;
  }

  replaceWorkflow(id: string, template: Template): Promise<ReplaceResult> {
    return this.#db.tx(async (q): Promise<ReplaceResult> => {
      // Lock order as everywhere: the template row, then the state row.
      if ((await q.query('SELECT 1 FROM workflows WHERE id = $1 FOR UPDATE', [id])).rowCount === 0) return 'not_found';
      const st = (await q.query<{ progress: string }>('SELECT progress FROM workflow_state WHERE workflow_id = $1 FOR UPDATE', [id])).rows[0];
      if (st && st.progress !== 'NOT_STARTED') return 'not_editable';
      await q.query(
        `WITH wf AS (UPDATE workflows SET template = $2, version = version + 1, updated_at = $3 WHERE id = $1)
         UPDATE workflow_state SET state = 'NOT_STARTED', progress = 'NOT_STARTED', os_user = $4, version = version + 1, updated_at = $3
         WHERE workflow_id = $1`,
        [id, JSON.stringify(template), Date.now(), template.user ? JSON.stringify(template.user) : null],
      );
      return 'ok';
    });
  }

  async saveTemplate(id: string, template: Template): Promise<boolean> {
    const r = await this.#db.query('UPDATE workflows SET template = $1, version = version + 1, updated_at = $2 WHERE id = $3', [
      JSON.stringify(template),
      Date.now(),
      id,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  deleteWorkflow(id: string, clearStatus: boolean): Promise<boolean> {
    return this.#db.tx(async (q) => {
      const deleted = ((await q.query('DELETE FROM workflows WHERE id = $1', [id])).rowCount ?? 0) > 0;
      const st = (await q.query<{ progress: string }>('SELECT progress FROM workflow_state WHERE workflow_id = $1 FOR UPDATE', [id])).rows[0];
      if (st && st.progress !== 'IN_PROGRESS') {
        const hasResources = ((await q.query('SELECT 1 FROM resources WHERE workflow_id = $1 LIMIT 1', [id])).rowCount ?? 0) > 0;
        if (clearStatus || !hasResources) await deleteStateRows(q, id);
      }
      return deleted;
    });
  }

  async countWorkflows(): Promise<number> {
    return (await this.#db.query<{ n: number }>('SELECT COUNT(*) AS n FROM workflows')).rows[0]?.n ?? 0;
  }

  async listWorkflows(): Promise<WorkflowRecord[]> {
    const r = await this.#db.query<WorkflowRow>('SELECT id, template, version FROM workflows ORDER BY created_at, id');
    return r.rows.map(toWorkflow);
  }

  // ---------------------------------------------------------------- state (see postgres-state.ts)

  getState(id: string, opts?: { steps?: boolean }): Promise<StateRecord | undefined> { return this.#state.getState(id, opts); }
  listStates(): Promise<StateRecord[]> { return this.#state.listStates(); }
  countStates(): Promise<Record<ProvisionState, number>> { return this.#state.countStates(); }
  beginRun(input: BeginRunInput): Promise<BeginRunResult> { return this.#state.beginRun(input); }
  getRun(runId: string): Promise<RunRecord | undefined> { return this.#state.getRun(runId); }
  recordStepStarted(runId: string, workflowId: string, nodeId: string, type: string, attempt: number, at: number): Promise<boolean> {
    return this.#state.recordStepStarted(runId, workflowId, nodeId, type, attempt, at);
  }
  recordStepCompleted(c: StepCompletion): Promise<boolean> { return this.#state.recordStepCompleted(c); }
  recordStepFailed(runId: string, workflowId: string, nodeId: string, error: string, at: number, state: 'FAILED' | 'CANCELED' = 'FAILED'): Promise<boolean> {
    return this.#state.recordStepFailed(runId, workflowId, nodeId, error, at, state);
  }
  finishRun(input: FinishRunInput): Promise<boolean> { return this.#state.finishRun(input); }
  removeResource(workflowId: string, resource: ResourceCreated): Promise<void> { return this.#state.removeResource(workflowId, resource); }
  resetState(workflowId: string, error?: string): Promise<void> { return this.#state.resetState(workflowId, error); }
  markDeprovisionPartial(workflowId: string, at: number): Promise<void> { return this.#state.markDeprovisionPartial(workflowId, at); }
  claimOrphanedRuns(owner: string, now: number, leaseMs: number): Promise<RunRecord[]> { return this.#state.claimOrphanedRuns(owner, now, leaseMs); }
  renewLeases(owner: string, now: number, leaseMs: number): Promise<void> { return this.#state.renewLeases(owner, now, leaseMs); }
  tryLockWorkflow(workflowId: string, op: string, owner: string, until: number): Promise<boolean> {
    return this.#state.tryLockWorkflow(workflowId, op, owner, until);
  }
  unlockWorkflow(workflowId: string, op: string): Promise<void> { return this.#state.unlockWorkflow(workflowId, op); }

  // ---------------------------------------------------------------- ML resources

  async createMlResource(kind: string, id: string, doc: JsonObject, idempotencyKey?: string): Promise<{ record: MlResourceRecord; created: boolean }> {
    const now = Date.now();
    const text = JSON.stringify(doc);
    const created = { record: { id, kind, doc, createdAt: now, updatedAt: now }, created: true };
    if (idempotencyKey === undefined) {
      await this.#db.query('INSERT INTO ml_resources (kind, id, doc, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)', [kind, id, text, now]);
      return created;
    }
    // Twice at most: the record holding the key may be deleted between the INSERT and the SELECT.
    for (let attempt = 0; ; attempt++) {
      const ins = await this.#db.query(
        `INSERT INTO ml_resources (kind, id, doc, idempotency_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (kind, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
        [kind, id, text, idempotencyKey, now],
      );
      if ((ins.rowCount ?? 0) > 0) return created;
      const existing = (await this.#db.query<MlRow>(`SELECT ${ML_COLS} FROM ml_resources WHERE kind = $1 AND idempotency_key = $2`, [kind, idempotencyKey]))
        .rows[0];
      if (existing) return { record: toMl(existing), created: false };
      if (attempt >= 1) throw new Error(`Could not create ${kind} ${id}: its idempotency key [${idempotencyKey}] is being reused concurrently; retry.`);
    }
  }

  async getMlResource(kind: string, id: string): Promise<MlResourceRecord | undefined> {
    const row = (await this.#db.query<MlRow>(`SELECT ${ML_COLS} FROM ml_resources WHERE kind = $1 AND id = $2`, [kind, id])).rows[0];
    return row ? toMl(row) : undefined;
  }

  async updateMlResource(kind: string, id: string, doc: JsonObject): Promise<boolean> {
    const r = await this.#db.query('UPDATE ml_resources SET doc = $1, updated_at = $2 WHERE kind = $3 AND id = $4', [JSON.stringify(doc), Date.now(), kind, id]);
    return (r.rowCount ?? 0) > 0;
  }

  async deleteMlResource(kind: string, id: string): Promise<boolean> {
    return ((await this.#db.query('DELETE FROM ml_resources WHERE kind = $1 AND id = $2', [kind, id])).rowCount ?? 0) > 0;
  }

  async listMlResources(kind: string): Promise<MlResourceRecord[]> {
    const r = await this.#db.query<MlRow>(`SELECT ${ML_COLS} FROM ml_resources WHERE kind = $1 ORDER BY created_at, id`, [kind]);
    return r.rows.map(toMl);
  }

  // ---------------------------------------------------------------- users

  async getUser(name: string): Promise<StoredUser | undefined> {
    const row = (await this.#db.query<UserRow>(`SELECT ${USER_COLS} FROM users WHERE name = $1`, [name])).rows[0];
    return row ? toUser(row) : undefined;
  }

  async putUser(u: StoredUser): Promise<void> {
    await this.#db.query(
      `INSERT INTO users (name, password_hash, backend_roles, roles, attributes) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET password_hash = EXCLUDED.password_hash, backend_roles = EXCLUDED.backend_roles,
         roles = EXCLUDED.roles, attributes = EXCLUDED.attributes`,
      [u.name, u.passwordHash, JSON.stringify(u.backendRoles), JSON.stringify(u.roles), JSON.stringify(u.attributes)],
    );
  }

  async deleteUser(name: string): Promise<boolean> {
    return ((await this.#db.query('DELETE FROM users WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  async listUsers(): Promise<StoredUser[]> {
    return (await this.#db.query<UserRow>(`SELECT ${USER_COLS} FROM users ORDER BY name`)).rows.map(toUser);
  }

  // ---------------------------------------------------------------- runtime (see postgres-tasks.ts etc.)

  putPublication(p: PutPublicationInput): Promise<PublicationRecord> { return this.#publications.put(p); }
  getPublication(workflowId: string): Promise<PublicationRecord | undefined> { return this.#publications.get(workflowId); }
  deletePublication(workflowId: string): Promise<boolean> { return this.#publications.delete(workflowId); }
  listPublications(): Promise<PublicationRecord[]> { return this.#publications.list(); }

  createTask(t: NewTask): Promise<{ task: TaskRecord; created: boolean }> { return this.#tasks.create(t); }
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
  requeueTasks(owner: string, taskIds: string[]): Promise<string[]> { return this.#tasks.requeue(owner, taskIds); }
  completeTasks(results: TaskCompletion[]): Promise<string[]> { return this.#tasks.complete(results); }
  renewTaskLeases(workflowId: string, owner: string, now: number, leaseMs: number): Promise<void> { return this.#tasks.renewLeases(workflowId, owner, now, leaseMs); }
  /** Only expired leases here: other owners are live nodes (unlike SQLite's single process). */
  requeueOrphanedTasks(_owner: string, now: number): Promise<number> { return this.#tasks.requeueOrphans(now); }
  getTask(workflowId: string, taskId: string, opts?: { input?: boolean; output?: boolean }): Promise<TaskRecord | undefined> {
    return this.#tasks.get(workflowId, taskId, opts);
  }
  getTasks(workflowId: string, taskIds: string[]): Promise<TaskRecord[]> { return this.#tasks.getMany(workflowId, taskIds); }
  listTasks(workflowId: string, opts: { statuses?: TaskStatus[]; limit: number; after?: string }): Promise<TaskPage> {
    return this.#tasks.list(workflowId, opts);
  }
  cancelTask(workflowId: string, taskId: string, at: number): Promise<TaskRecord | undefined> { return this.#tasks.cancel(workflowId, taskId, at); }
  deleteTask(workflowId: string, taskId: string): Promise<boolean> { return this.#tasks.delete(workflowId, taskId); }
  deleteTasks(workflowId: string, opts: { statuses?: TaskStatus[] }): Promise<number> { return this.#tasks.deleteMany(workflowId, opts); }
  countTasks(workflowId: string): Promise<Record<TaskStatus, number>> { return this.#tasks.count(workflowId); }
  countQueuedTasks(workflowId: string): Promise<number> { return this.#tasks.countQueued(workflowId); }
  deleteExpiredTasks(now: number): Promise<number> { return this.#tasks.deleteExpired(now); }

  createApiKey(k: ApiKeyRecord & { hash: string }): Promise<void> { return this.#apiKeys.create(k); }
  listApiKeys(): Promise<ApiKeyRecord[]> { return this.#apiKeys.list(); }
  getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> { return this.#apiKeys.getByHash(hash); }
  getApiKey(id: string): Promise<ApiKeyRecord | undefined> { return this.#apiKeys.get(id); }
  rotateApiKey(id: string, newHash: string, newPrefix: string, graceUntil?: number): Promise<ApiKeyRecord | undefined> {
    return this.#apiKeys.rotate(id, newHash, newPrefix, graceUntil);
  }
  deleteApiKey(id: string): Promise<boolean> { return this.#apiKeys.delete(id); }
  touchApiKeys(used: Array<{ id: string; at: number }>): Promise<void> { return this.#apiKeys.touch(used); }

  // ---------------------------------------------------------------- meta

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.#db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#db.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, value]);
  }

  /** Sends the task creates still grouped in this turn, then closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tasks.flush();
    await this.#db.end();
  }
}
