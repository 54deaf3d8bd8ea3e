/**
 * The embedded Store: one SQLite file in WAL mode, used by exactly one flowd process (the data
 * dir is locked, see data-dir-lock.ts). better-sqlite3 is synchronous, so each method is one
 * short transaction and atomic by construction; the async signatures keep the port shared
 * with PostgreSQL.
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
  NodeRecord,
  SchemaVersion,
  NewWorkflow,
  ProvisionState,
  PublicationRecord,
  PutPublicationInput,
  ReplaceResult,
  ResourceCreated,
  RunRecord,
  StateRecord,
  StepCompletion,
  StepRecord,
  Store,
  StoredUser,
  TaskCompletion,
  TaskDeadLetter,
  TaskPage,
  TaskRecord,
  TaskStatus,
  WorkflowRecord,
} from '../store.js';
import { SqliteApiKeys } from './sqlite-api-keys.js';
import { SqlitePublications } from './sqlite-publications.js';
import { SqliteTasks } from './sqlite-tasks.js';

import type { ResourceRow, StateRow } from './sqlite-rows.js';
import { toResource } from './sqlite-rows.js';
import type { MlRow } from '../rows/ml-resource-rows.js';
import { toMl } from '../rows/ml-resource-rows.js';
import type { NodeRow } from '../rows/node-rows.js';
import { toNode } from '../rows/node-rows.js';
import type { RunRow } from '../rows/run-rows.js';
import { RUN_COLS, RUN_READ_COLS, newRunValues, toRun } from '../rows/run-rows.js';
import type { StepRow } from '../rows/state-rows.js';
import { toStateRecord, toStep } from '../rows/state-rows.js';
import type { UserRow } from '../rows/user-rows.js';
import { toUser } from '../rows/user-rows.js';
import type { WorkflowRow } from '../rows/workflow-rows.js';
import { toWorkflow } from '../rows/workflow-rows.js';
import { statementCache } from './statement-cache.js';
import type { StoreIntegrity } from '../store-integrity.js';
import { IntegrityLatch } from '../store-integrity.js';
import type { QuickCheckResult } from './sqlite-integrity.js';
import { latchCorruptionErrors } from './sqlite-integrity.js';
import type { SqliteOpenOptions } from './sqlite-open.js';
import { latestSqliteVersion, openSqliteDatabase } from './sqlite-open.js';

export interface SqliteStoreOptions extends SqliteOpenOptions {
  /** Hears once when the file turns out damaged, at the start-up check or at run time. */
  onDamaged?: (reason: string) => void;
}

const STATE_CACHE_MAX = 100_000;

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly #db: Db;
  readonly #q: (sql: string) => Statement;
  /**
   * Step-less states by workflow id: `_status` is the hot read. This process is the only
   * writer of the file (the data dir is locked), so dropping an entry on every write that
   * touches a workflow's state or resources keeps it exact.
   */
  readonly #stateCache = new Map<string, StateRecord>();
  readonly #tasks: SqliteTasks;
  readonly #publications: SqlitePublications;
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
    this.#tasks = new SqliteTasks(this.#db);
    this.#publications = new SqlitePublications(this.#db);
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

  // ---------------------------------------------------------------- nodes

  async heartbeatNode(n: NodeRecord): Promise<void> {
    this.#q(
      `INSERT INTO nodes (node_id, url, started_at, heartbeat_at, info) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET url = excluded.url, heartbeat_at = excluded.heartbeat_at, info = excluded.info`,
    ).run(n.nodeId, n.url, n.startedAt, n.heartbeatAt, JSON.stringify(n.info));
  }

  async listNodes(): Promise<NodeRecord[]> {
    const rows = this.#q('SELECT node_id, url, started_at, heartbeat_at, info FROM nodes ORDER BY node_id').all() as NodeRow[];
    return rows.map(toNode);
  }

  async removeNode(nodeId: string): Promise<void> {
    this.#q('DELETE FROM nodes WHERE node_id = ?').run(nodeId);
  }

  async countStuckWork(now: number): Promise<{ runs: number; tasks: number }> {
    const runs = (this.#q('SELECT COUNT(*) AS n FROM runs WHERE active = 1 AND lease_until < ?').get(now) as { n: number }).n;
    const tasks = (this.#q(`SELECT COUNT(*) AS n FROM tasks WHERE status = 'RUNNING' AND lease_until < ?`).get(now) as { n: number }).n;
    return { runs, tasks };
  }

  // ---------------------------------------------------------------- workflows

  async createWorkflow(input: NewWorkflow): Promise<'ok' | 'limit'> {
    return this.#db.transaction((): 'ok' | 'limit' => {
      const n = (this.#q('SELECT COUNT(*) AS n FROM workflows').get() as { n: number }).n;
      if (n >= input.maxWorkflows) return 'limit';
      this.#changed(input.id);
      const now = input.template.created_time ?? Date.now();
      this.#q('INSERT INTO workflows (id, template, version, created_at, updated_at) VALUES (?, ?, 1, ?, ?)').run(
        input.id,
        JSON.stringify(input.template),
        now,
        now,
      );
      this.#q(
        `INSERT INTO workflow_state (workflow_id, state, progress, user, version, updated_at)
         VALUES (?, 'NOT_STARTED', 'NOT_STARTED', ?, 1, ?)
         ON CONFLICT (workflow_id) DO UPDATE SET state = 'NOT_STARTED', progress = 'NOT_STARTED', user = excluded.user,
           start_time = NULL, end_time = NULL, error = NULL, run_id = NULL, version = workflow_state.version + 1, updated_at = excluded.updated_at`,
      ).run(input.id, input.user ? JSON.stringify(input.user) : null, now);
      return 'ok';
    })();
  }

  async getWorkflow(id: string): Promise<WorkflowRecord | undefined> {
    const row = this.#q('SELECT id, template, version FROM workflows WHERE id = ?').get(id) as WorkflowRow | undefined;
    return row ? toWorkflow(row) : undefined;
  }

  async replaceWorkflow(id: string, template: Template): Promise<ReplaceResult> {
    return this.#db.transaction((): ReplaceResult => {
      const exists = this.#q('SELECT 1 FROM workflows WHERE id = ?').get(id);
      if (!exists) return 'not_found';
      const st = this.#q('SELECT progress FROM workflow_state WHERE workflow_id = ?').get(id) as { progress: string } | undefined;
      if (st && st.progress !== 'NOT_STARTED') return 'not_editable';
      const now = Date.now();
      this.#changed(id);
      this.#q('UPDATE workflows SET template = ?, version = version + 1, updated_at = ? WHERE id = ?').run(JSON.stringify(template), now, id);
      this.#q(
        `UPDATE workflow_state SET state = 'NOT_STARTED', progress = 'NOT_STARTED', user = ?, version = version + 1, updated_at = ?
         WHERE workflow_id = ?`,
      ).run(template.user ? JSON.stringify(template.user) : null, now, id);
      return 'ok';
    })();
  }

  async saveTemplate(id: string, template: Template): Promise<boolean> {
    const r = this.#q('UPDATE workflows SET template = ?, version = version + 1, updated_at = ? WHERE id = ?').run(
      JSON.stringify(template),
      Date.now(),
      id,
    );
    return r.changes > 0;
  }

  async deleteWorkflow(id: string, clearStatus: boolean): Promise<boolean> {
    return this.#db.transaction((): boolean => {
      const r = this.#q('DELETE FROM workflows WHERE id = ?').run(id);
      const st = this.#q('SELECT progress FROM workflow_state WHERE workflow_id = ?').get(id) as { progress: string } | undefined;
      if (st && st.progress !== 'IN_PROGRESS') {
        const hasResources = this.#q('SELECT 1 FROM resources WHERE workflow_id = ? LIMIT 1').get(id) !== undefined;
        if (clearStatus || !hasResources) this.#deleteStateRows(id);
      }
      return r.changes > 0;
    })();
  }

  #changed(id: string): void {
    this.#stateCache.delete(id);
  }

  #deleteStateRows(id: string): void {
    this.#changed(id);
    this.#q('DELETE FROM workflow_state WHERE workflow_id = ?').run(id);
    this.#q('DELETE FROM resources WHERE workflow_id = ?').run(id);
    this.#q('DELETE FROM steps WHERE workflow_id = ?').run(id);
    this.#q('DELETE FROM runs WHERE workflow_id = ?').run(id);
  }

  async countWorkflows(): Promise<number> {
    return (this.#q('SELECT COUNT(*) AS n FROM workflows').get() as { n: number }).n;
  }

  async listWorkflows(): Promise<WorkflowRecord[]> {
    const rows = this.#q('SELECT id, template, version FROM workflows ORDER BY created_at, id').all() as WorkflowRow[];
    return rows.map(toWorkflow);
  }

  // ---------------------------------------------------------------- state

  #stateFromRow(row: StateRow, withSteps: boolean): StateRecord {
    const resources = (
      this.#q('SELECT step_name, node_id, resource_type, resource_id FROM resources WHERE workflow_id = ? ORDER BY seq').all(
        row.workflow_id,
      ) as ResourceRow[]
    ).map(toResource);
    const steps = (runId: string): StepRecord[] =>
      withSteps
        ? (
            this.#q('SELECT node_id, type, state, attempt, start_time, end_time, error, outputs FROM steps WHERE run_id = ? ORDER BY ord').all(
              runId,
            ) as StepRow[]
          ).map(toStep)
        : [];
    return toStateRecord(row, row.user, resources, steps);
  }

  async getState(id: string, opts?: { steps?: boolean }): Promise<StateRecord | undefined> {
    const withSteps = opts?.steps ?? true;
    if (!withSteps) {
      const hit = this.#stateCache.get(id);
      if (hit) return hit;
    }
    const row = this.#q('SELECT * FROM workflow_state WHERE workflow_id = ?').get(id) as StateRow | undefined;
    if (!row) return undefined;
    const rec = this.#stateFromRow(row, withSteps);
    if (!withSteps) {
      if (this.#stateCache.size >= STATE_CACHE_MAX) this.#stateCache.clear();
      // Shared between callers, so frozen: a caller that mutates it fails loudly.
      this.#stateCache.set(id, Object.freeze(rec));
    }
    return rec;
  }

  async listStates(): Promise<StateRecord[]> {
    const rows = this.#q('SELECT * FROM workflow_state ORDER BY workflow_id').all() as StateRow[];
    return rows.map((r) => this.#stateFromRow(r, false));
  }

  async countStates(): Promise<Record<ProvisionState, number>> {
    const out: Record<ProvisionState, number> = { NOT_STARTED: 0, PROVISIONING: 0, COMPLETED: 0, FAILED: 0 };
    const rows = this.#q('SELECT state, COUNT(*) AS n FROM workflow_state GROUP BY state').all() as Array<{ state: ProvisionState; n: number }>;
    for (const r of rows) out[r.state] = r.n;
    return out;
  }

  async beginRun(input: BeginRunInput): Promise<BeginRunResult> {
    return this.#db.transaction((): BeginRunResult => {
      const row = this.#q('SELECT * FROM workflow_state WHERE workflow_id = ?').get(input.workflowId) as StateRow | undefined;
      if (!row) return { ok: false, reason: 'not_found' };
      let allowed = input.allowedStates.includes(row.state);
      if (allowed && input.requireNoResources?.includes(row.state)) {
        allowed = this.#q('SELECT 1 FROM resources WHERE workflow_id = ? LIMIT 1').get(input.workflowId) === undefined;
      }
      if (!allowed) return { ok: false, reason: 'state', state: this.#stateFromRow(row, false) };
      this.#changed(input.workflowId);
      if (!input.keepResources) this.#q('DELETE FROM resources WHERE workflow_id = ?').run(input.workflowId);
      this.#q('UPDATE runs SET active = 0 WHERE workflow_id = ?').run(input.workflowId);
      this.#q(`INSERT INTO runs (${RUN_COLS}, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`).run(...newRunValues(input));
      this.#q(
        `UPDATE workflow_state SET state = 'PROVISIONING', progress = 'IN_PROGRESS', start_time = ?, end_time = NULL,
           error = NULL, run_id = ?, version = version + 1, updated_at = ? WHERE workflow_id = ?`,
      ).run(input.startTime, input.runId, input.startTime, input.workflowId);
      return { ok: true };
    })();
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const row = this.#q('SELECT * FROM runs WHERE run_id = ?').get(runId) as RunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  /** True when `runId` is the workflow's current run and it is still provisioning. */
  #runIsCurrent(runId: string, workflowId: string): boolean {
    const row = this.#q('SELECT run_id, state FROM workflow_state WHERE workflow_id = ?').get(workflowId) as
      | { run_id: string | null; state: string }
      | undefined;
    return row !== undefined && row.run_id === runId && row.state === 'PROVISIONING';
  }

  #touchState(workflowId: string, at: number): void {
    this.#changed(workflowId);
    this.#q('UPDATE workflow_state SET version = version + 1, updated_at = ? WHERE workflow_id = ?').run(at, workflowId);
  }

  async recordStepStarted(runId: string, workflowId: string, nodeId: string, type: string, attempt: number, at: number): Promise<boolean> {
    return this.#db.transaction((): boolean => {
      if (!this.#runIsCurrent(runId, workflowId)) return false;
      const ord = (this.#q('SELECT COUNT(*) AS n FROM steps WHERE run_id = ?').get(runId) as { n: number }).n;
      this.#q(
        `INSERT INTO steps (run_id, node_id, workflow_id, type, state, attempt, start_time, ord)
         VALUES (?, ?, ?, ?, 'RUNNING', ?, ?, ?)
         ON CONFLICT (run_id, node_id) DO UPDATE SET state = 'RUNNING', attempt = excluded.attempt, start_time = excluded.start_time,
           end_time = NULL, error = NULL`,
      ).run(runId, nodeId, workflowId, type, attempt, at, ord);
      this.#touchState(workflowId, at);
      return true;
    })();
  }

  async recordStepCompleted(c: StepCompletion): Promise<boolean> {
    return this.#db.transaction((): boolean => {
      if (!this.#runIsCurrent(c.runId, c.workflowId)) return false;
      const r = this.#q(
        `UPDATE steps SET state = 'COMPLETED', end_time = ?, error = NULL, outputs = ? WHERE run_id = ? AND node_id = ? AND state <> 'COMPLETED'`,
      ).run(c.endTime, JSON.stringify(c.outputs), c.runId, c.nodeId);
      if (r.changes === 0) {
        // Replayed nodes (reprovision) complete without having started.
        const ord = (this.#q('SELECT COUNT(*) AS n FROM steps WHERE run_id = ?').get(c.runId) as { n: number }).n;
        const ins = this.#q(
          `INSERT OR IGNORE INTO steps (run_id, node_id, workflow_id, type, state, attempt, start_time, end_time, outputs, ord)
           VALUES (?, ?, ?, '', 'COMPLETED', 0, ?, ?, ?, ?)`,
        ).run(c.runId, c.nodeId, c.workflowId, c.endTime, c.endTime, JSON.stringify(c.outputs), ord);
        if (ins.changes === 0) return false; // already completed: never record its resources twice
      }
      const ins = this.#q('INSERT INTO resources (workflow_id, step_name, node_id, resource_type, resource_id) VALUES (?, ?, ?, ?, ?)');
      for (const res of c.resources) ins.run(c.workflowId, res.workflow_step_name, res.workflow_step_id, res.resource_type, res.resource_id);
      for (const res of c.removedResources ?? []) this.#removeResourceRow(c.workflowId, res);
      this.#touchState(c.workflowId, c.endTime);
      return true;
    })();
  }

  async recordStepFailed(
    runId: string,
    workflowId: string,
    nodeId: string,
    error: string,
    at: number,
    state: 'FAILED' | 'CANCELED' = 'FAILED',
  ): Promise<boolean> {
    return this.#db.transaction((): boolean => {
      const r = this.#q(`UPDATE steps SET state = ?, end_time = ?, error = ? WHERE run_id = ? AND node_id = ? AND state = 'RUNNING'`).run(
        state,
        at,
        error,
        runId,
        nodeId,
      );
      if (r.changes > 0) this.#touchState(workflowId, at);
      return r.changes > 0;
    })();
  }

  async finishRun(input: FinishRunInput): Promise<boolean> {
    return this.#db.transaction((): boolean => {
      if (!this.#runIsCurrent(input.runId, input.workflowId)) return false;
      this.#changed(input.workflowId);
      this.#q('UPDATE runs SET active = 0 WHERE run_id = ?').run(input.runId);
      // Steps still marked RUNNING when the run ends were cancelled by it.
      this.#q(`UPDATE steps SET state = 'CANCELED', end_time = ? WHERE run_id = ? AND state = 'RUNNING'`).run(input.endTime, input.runId);
      const progress = input.state === 'COMPLETED' ? 'DONE' : input.state === 'FAILED' ? 'FAILED' : 'NOT_STARTED';
      this.#q(
        `UPDATE workflow_state SET state = ?, progress = ?, error = ?, end_time = ?, version = version + 1, updated_at = ?
         WHERE workflow_id = ?`,
      ).run(input.state, progress, input.error ?? null, input.state === 'NOT_STARTED' ? null : input.endTime, input.endTime, input.workflowId);
      if (input.state === 'NOT_STARTED') {
        this.#q('UPDATE workflow_state SET start_time = NULL WHERE workflow_id = ?').run(input.workflowId);
      }
      return true;
    })();
  }

  #removeResourceRow(workflowId: string, r: ResourceCreated): void {
    this.#q(
      `DELETE FROM resources WHERE seq = (SELECT seq FROM resources WHERE workflow_id = ? AND step_name = ? AND node_id = ?
         AND resource_type = ? AND resource_id = ? ORDER BY seq LIMIT 1)`,
    ).run(workflowId, r.workflow_step_name, r.workflow_step_id, r.resource_type, r.resource_id);
  }

  async removeResource(workflowId: string, resource: ResourceCreated): Promise<void> {
    this.#db.transaction(() => {
      this.#removeResourceRow(workflowId, resource);
      this.#touchState(workflowId, Date.now());
    })();
  }

  async resetState(workflowId: string, error?: string): Promise<void> {
    this.#db.transaction(() => {
      const templateExists = this.#q('SELECT 1 FROM workflows WHERE id = ?').get(workflowId) !== undefined;
      if (!templateExists) {
        this.#deleteStateRows(workflowId);
        return;
      }
      this.#changed(workflowId);
      this.#q('UPDATE runs SET active = 0 WHERE workflow_id = ?').run(workflowId);
      this.#q('DELETE FROM resources WHERE workflow_id = ?').run(workflowId);
      this.#q(
        `UPDATE workflow_state SET state = 'NOT_STARTED', progress = 'NOT_STARTED', start_time = NULL, end_time = NULL,
           error = ?, run_id = NULL, version = version + 1, updated_at = ? WHERE workflow_id = ?`,
      ).run(error ?? null, Date.now(), workflowId);
    })();
  }

  async markDeprovisionPartial(workflowId: string, at: number): Promise<void> {
    this.#changed(workflowId);
    this.#q(
      `UPDATE workflow_state SET state = 'COMPLETED', progress = 'DONE', end_time = ?, version = version + 1, updated_at = ?
       WHERE workflow_id = ?`,
    ).run(at, at, workflowId);
  }

  async claimOrphanedRuns(owner: string, now: number, leaseMs: number): Promise<RunRecord[]> {
    // One process owns an SQLite file (the data dir is locked), so a run owned by anyone
    // else was left behind by a process that died. The claim counts an attempt (durably,
    // before anything is resumed): a run that keeps killing the node gets dead-lettered.
    const rows = this.#q(
      `UPDATE runs SET owner = ?, lease_until = ?, attempts = attempts + 1
       WHERE active = 1 AND (owner <> ? OR lease_until < ?) RETURNING ${RUN_READ_COLS}`,
    ).all(owner, now + leaseMs, owner, now) as RunRow[];
    return rows.map(toRun).sort((a, b) => a.startTime - b.startTime || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  }

  async renewLeases(owner: string, now: number, leaseMs: number): Promise<void> {
    this.#q('UPDATE runs SET lease_until = ? WHERE owner = ? AND active = 1').run(now + leaseMs, owner);
  }

  async tryLockWorkflow(workflowId: string, op: string, owner: string, until: number): Promise<boolean> {
    const r = this.#q(
      `INSERT INTO workflow_locks (workflow_id, op, owner, until) VALUES (?, ?, ?, ?)
       ON CONFLICT (workflow_id, op) DO UPDATE SET owner = excluded.owner, until = excluded.until
       WHERE workflow_locks.until < ?`,
    ).run(workflowId, op, owner, until, Date.now());
    return r.changes > 0;
  }

  async unlockWorkflow(workflowId: string, op: string): Promise<void> {
    this.#q('DELETE FROM workflow_locks WHERE workflow_id = ? AND op = ?').run(workflowId, op);
  }

  // ---------------------------------------------------------------- ML resources

  async createMlResource(
    kind: string,
    id: string,
    doc: JsonObject,
    idempotencyKey?: string,
  ): Promise<{ record: MlResourceRecord; created: boolean }> {
    return this.#db.transaction((): { record: MlResourceRecord; created: boolean } => {
      if (idempotencyKey !== undefined) {
        const existing = this.#q('SELECT * FROM ml_resources WHERE kind = ? AND idempotency_key = ?').get(kind, idempotencyKey) as
          | MlRow
          | undefined;
        if (existing) return { record: toMl(existing), created: false };
      }
      const now = Date.now();
      this.#q('INSERT INTO ml_resources (kind, id, doc, idempotency_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        kind,
        id,
        JSON.stringify(doc),
        idempotencyKey ?? null,
        now,
        now,
      );
      return { record: { id, kind, doc, createdAt: now, updatedAt: now }, created: true };
    })();
  }

  async getMlResource(kind: string, id: string): Promise<MlResourceRecord | undefined> {
    const row = this.#q('SELECT * FROM ml_resources WHERE kind = ? AND id = ?').get(kind, id) as MlRow | undefined;
    return row ? toMl(row) : undefined;
  }

  async updateMlResource(kind: string, id: string, doc: JsonObject): Promise<boolean> {
    const r = this.#q('UPDATE ml_resources SET doc = ?, updated_at = ? WHERE kind = ? AND id = ?').run(JSON.stringify(doc), Date.now(), kind, id);
    return r.changes > 0;
  }

  async deleteMlResource(kind: string, id: string): Promise<boolean> {
    return this.#q('DELETE FROM ml_resources WHERE kind = ? AND id = ?').run(kind, id).changes > 0;
  }

  async listMlResources(kind: string): Promise<MlResourceRecord[]> {
    return (this.#q('SELECT * FROM ml_resources WHERE kind = ? ORDER BY created_at, id').all(kind) as MlRow[]).map(toMl);
  }

  // ---------------------------------------------------------------- users

  async getUser(name: string): Promise<StoredUser | undefined> {
    const row = this.#q('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined;
    return row ? toUser(row) : undefined;
  }

  async putUser(u: StoredUser): Promise<void> {
    this.#q(
      `INSERT INTO users (name, password_hash, backend_roles, roles, attributes) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, backend_roles = excluded.backend_roles,
         roles = excluded.roles, attributes = excluded.attributes`,
    ).run(u.name, u.passwordHash, JSON.stringify(u.backendRoles), JSON.stringify(u.roles), JSON.stringify(u.attributes));
  }

  async deleteUser(name: string): Promise<boolean> {
    return this.#q('DELETE FROM users WHERE name = ?').run(name).changes > 0;
  }

  async listUsers(): Promise<StoredUser[]> {
    return (this.#q('SELECT * FROM users ORDER BY name').all() as UserRow[]).map(toUser);
  }

  // ---------------------------------------------------------------- runtime (see sqlite-tasks.ts etc.)

  async putPublication(p: PutPublicationInput): Promise<PublicationRecord> { return this.#publications.put(p); }
  async getPublication(workflowId: string): Promise<PublicationRecord | undefined> { return this.#publications.get(workflowId); }
  async deletePublication(workflowId: string): Promise<boolean> { return this.#publications.delete(workflowId); }
  async listPublications(): Promise<PublicationRecord[]> { return this.#publications.list(); }

  async createTask(t: NewTask): Promise<{ task: TaskRecord; created: boolean }> { return this.#tasks.create(t); }
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
  async requeueTasks(owner: string, taskIds: string[]): Promise<string[]> { return this.#tasks.requeue(owner, taskIds); }
  async completeTasks(results: TaskCompletion[]): Promise<string[]> { return this.#tasks.complete(results); }
  async renewTaskLeases(workflowId: string, owner: string, now: number, leaseMs: number): Promise<void> { this.#tasks.renewLeases(workflowId, owner, now, leaseMs); }
  async requeueOrphanedTasks(owner: string, now: number): Promise<number> { return this.#tasks.requeueOrphans(owner, now); }
  async getTask(workflowId: string, taskId: string, opts?: { input?: boolean; output?: boolean }): Promise<TaskRecord | undefined> {
    return this.#tasks.get(workflowId, taskId, opts);
  }
  async getTasks(workflowId: string, taskIds: string[]): Promise<TaskRecord[]> { return this.#tasks.getMany(workflowId, taskIds); }
  async listTasks(workflowId: string, opts: { statuses?: TaskStatus[]; limit: number; after?: string }): Promise<TaskPage> {
    return this.#tasks.list(workflowId, opts);
  }
  async cancelTask(workflowId: string, taskId: string, at: number): Promise<TaskRecord | undefined> {
    return this.#tasks.cancel(workflowId, taskId, at);
  }
  async deleteTask(workflowId: string, taskId: string): Promise<boolean> { return this.#tasks.delete(workflowId, taskId); }
  async deleteTasks(workflowId: string, opts: { statuses?: TaskStatus[] }): Promise<number> { return this.#tasks.deleteMany(workflowId, opts); }
  async countTasks(workflowId: string): Promise<Record<TaskStatus, number>> { return this.#tasks.count(workflowId); }
  async countQueuedTasks(workflowId: string): Promise<number> { return this.#tasks.count(workflowId).QUEUED; }
  async deleteExpiredTasks(now: number): Promise<number> { return this.#tasks.deleteExpired(now); }

  async createApiKey(k: ApiKeyRecord & { hash: string }): Promise<void> { this.#apiKeys.create(k); }
  async listApiKeys(): Promise<ApiKeyRecord[]> { return this.#apiKeys.list(); }
  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> { return this.#apiKeys.getByHash(hash); }
  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> { return this.#apiKeys.get(id); }
  async rotateApiKey(id: string, newHash: string, newPrefix: string, graceUntil?: number): Promise<ApiKeyRecord | undefined> {
    return this.#apiKeys.rotate(id, newHash, newPrefix, graceUntil);
  }
  async deleteApiKey(id: string): Promise<boolean> { return this.#apiKeys.delete(id); }
  async touchApiKeys(used: Array<{ id: string; at: number }>): Promise<void> { this.#apiKeys.touch(used); }

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
