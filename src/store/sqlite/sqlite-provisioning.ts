/**
 * Provisioning state, runs, steps, resources and workflow locks on SQLite. better-sqlite3 is
 * synchronous, so each method is one short transaction and atomic by construction.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type {
  BeginRunInput,
  BeginRunResult,
  FinishRunInput,
  ProvisionState,
  ResourceCreated,
  RunRecord,
  StateRecord,
  StepCompletion,
  StepRecord,
} from '../store.js';
import type { ResourceRow, StateRow } from './sqlite-rows.js';
import { toResource } from './sqlite-rows.js';
import type { RunRow } from '../rows/run-rows.js';
import { RUN_COLS, RUN_READ_COLS, newRunValues, toRun } from '../rows/run-rows.js';
import type { StepRow } from '../rows/state-rows.js';
import { toStateRecord, toStep } from '../rows/state-rows.js';
import { statementCache } from './sqlite-statement-cache.js';

const STATE_CACHE_MAX = 100_000;

export class SqliteProvisioning {
  readonly #db: Db;
  readonly #q: (sql: string) => Statement;
  /**
   * Step-less states by workflow id: `_status` is the hot read. This process is the only
   * writer of the file (the data dir is locked), so dropping an entry on every write that
   * touches a workflow's state or resources keeps it exact.
   */
  readonly #stateCache = new Map<string, StateRecord>();

  constructor(db: Db) {
    this.#db = db;
    this.#q = statementCache(db);
  }

  /** Drops the cached state of `id`: called by every write that touches its state or resources. */
  forget(id: string): void {
    this.#stateCache.delete(id);
  }

  /** The workflow's state and everything recorded under it (the caller is inside a transaction). */
  deleteStateRows(id: string): void {
    this.forget(id);
    this.#q('DELETE FROM workflow_state WHERE workflow_id = ?').run(id);
    this.#q('DELETE FROM resources WHERE workflow_id = ?').run(id);
    this.#q('DELETE FROM steps WHERE workflow_id = ?').run(id);
    this.#q('DELETE FROM runs WHERE workflow_id = ?').run(id);
  }

  #stateFromRow(row: StateRow, withSteps: boolean): StateRecord {
    const resources = (
      this.#q('SELECT step_name, node_id, resource_type, resource_id FROM resources WHERE workflow_id = ? ORDER BY seq').all(
        row.workflow_id,
      ) as ResourceRow[]
    ).map(toResource);
    const steps = (runId: string): StepRecord[] =>
      withSteps
        ? (
            this.#q(
              'SELECT node_id, type, state, attempt, start_time, end_time, error, outputs FROM steps WHERE run_id = ? ORDER BY ord',
            ).all(runId) as StepRow[]
          ).map(toStep)
        : [];
    return toStateRecord(row, resources, steps);
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
    const rows = this.#q('SELECT state, COUNT(*) AS n FROM workflow_state GROUP BY state').all() as Array<{
      state: ProvisionState;
      n: number;
    }>;
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
      this.forget(input.workflowId);
      if (!input.keepResources) this.#q('DELETE FROM resources WHERE workflow_id = ?').run(input.workflowId);
      this.#q('UPDATE runs SET active = 0 WHERE workflow_id = ?').run(input.workflowId);
      this.#q(`INSERT INTO runs (${RUN_COLS}, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`).run(...newRunValues(input));
      this.#q(
        `UPDATE workflow_state SET state = 'PROVISIONING', progress = 'IN_PROGRESS', start_time = ?, end_time = NULL,
           error = NULL, error_detail = NULL, run_id = ?, version = version + 1, updated_at = ? WHERE workflow_id = ?`,
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
      { run_id: string | null; state: string } | undefined;
    return row !== undefined && row.run_id === runId && row.state === 'PROVISIONING';
  }

  #touchState(workflowId: string, at: number): void {
    this.forget(workflowId);
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
      for (const res of c.resources)
        ins.run(c.workflowId, res.workflow_step_name, res.workflow_step_id, res.resource_type, res.resource_id);
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
      this.forget(input.workflowId);
      this.#q('UPDATE runs SET active = 0 WHERE run_id = ?').run(input.runId);
      // Steps still marked RUNNING when the run ends were cancelled by it.
      this.#q(`UPDATE steps SET state = 'CANCELED', end_time = ? WHERE run_id = ? AND state = 'RUNNING'`).run(input.endTime, input.runId);
      const progress = input.state === 'COMPLETED' ? 'DONE' : input.state === 'FAILED' ? 'FAILED' : 'NOT_STARTED';
      this.#q(
        `UPDATE workflow_state SET state = ?, progress = ?, error = ?, error_detail = ?, end_time = ?, version = version + 1, updated_at = ?
         WHERE workflow_id = ?`,
      ).run(
        input.state,
        progress,
        input.error ?? null,
        input.errorDetail === undefined ? null : JSON.stringify(input.errorDetail),
        input.state === 'NOT_STARTED' ? null : input.endTime,
        input.endTime,
        input.workflowId,
      );
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
        this.deleteStateRows(workflowId);
        return;
      }
      this.forget(workflowId);
      this.#q('UPDATE runs SET active = 0 WHERE workflow_id = ?').run(workflowId);
      this.#q('DELETE FROM resources WHERE workflow_id = ?').run(workflowId);
      this.#q(
        `UPDATE workflow_state SET state = 'NOT_STARTED', progress = 'NOT_STARTED', start_time = NULL, end_time = NULL,
           error = ?, error_detail = NULL, run_id = NULL, version = version + 1, updated_at = ? WHERE workflow_id = ?`,
      ).run(error ?? null, Date.now(), workflowId);
    })();
  }

  async markDeprovisionPartial(workflowId: string, at: number): Promise<void> {
    this.forget(workflowId);
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
}
