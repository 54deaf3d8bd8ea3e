/**
 * Provisioning state, runs and workflow locks on PostgreSQL. Several nodes write the same rows,
 * so every transaction that changes a workflow's state, steps, runs or resources first locks
 * that workflow's state row (SELECT … FOR UPDATE): it is the compare-and-swap of beginRun and
 * the "is this run still current" check of the step writes, and taking it first everywhere
 * keeps one lock order (no deadlocks between concurrent writers of one workflow).
 */
import type {
  BeginRunInput,
  BeginRunResult,
  FinishRunInput,
  ProvisionState,
  ResourceCreated,
  RunRecord,
  StateRecord,
  StepCompletion,
} from '../store.js';
import type { PgDb, Queryable } from './postgres-connection.js';
import type { StateRow } from './postgres-rows.js';
import { stateSelect, toState } from './postgres-rows.js';
import type { RunRow } from '../rows/run-rows.js';
import { RUN_COLS, RUN_READ_COLS, newRunValues, toRun } from '../rows/run-rows.js';

interface LockedState {
  state: ProvisionState;
  run_id: string | null;
  progress: StateRecord['progress'];
}

/** Locks the workflow's state row for the rest of the transaction; undefined when there is none. */
async function lockState(q: Queryable, workflowId: string): Promise<LockedState | undefined> {
  const r = await q.query<LockedState>('SELECT state, run_id, progress FROM workflow_state WHERE workflow_id = $1 FOR UPDATE', [
    workflowId,
  ]);
  return r.rows[0];
}

/** Locks the state row; true when `runId` is the workflow's current run and it is still provisioning. */
async function lockCurrentRun(q: Queryable, runId: string, workflowId: string): Promise<boolean> {
  const row = await lockState(q, workflowId);
  return row !== undefined && row.run_id === runId && row.state === 'PROVISIONING';
}

export async function readState(q: Queryable, workflowId: string, withSteps: boolean): Promise<StateRecord | undefined> {
  const r = await q.query<StateRow>(`SELECT ${stateSelect(withSteps)} FROM workflow_state s WHERE s.workflow_id = $1`, [workflowId]);
  const row = r.rows[0];
  return row ? toState(row) : undefined;
}

/** The workflow's state and everything recorded under it (the caller holds the state row lock or deleted the template). */
export async function deleteStateRows(q: Queryable, workflowId: string): Promise<void> {
  await q.query(
    `WITH res AS (DELETE FROM resources WHERE workflow_id = $1),
       st AS (DELETE FROM steps WHERE workflow_id = $1),
       ru AS (DELETE FROM runs WHERE workflow_id = $1)
     DELETE FROM workflow_state WHERE workflow_id = $1`,
    [workflowId],
  );
}

const TOUCH_STATE = 'UPDATE workflow_state SET version = version + 1, updated_at = $2 WHERE workflow_id = $1';

/** Deletes the oldest resource row equal to `r` (one row: the same resource may be listed twice). */
async function removeResourceRow(q: Queryable, workflowId: string, r: ResourceCreated): Promise<void> {
  await q.query(
    `DELETE FROM resources WHERE seq = (SELECT seq FROM resources WHERE workflow_id = $1 AND step_name = $2 AND node_id = $3
       AND resource_type = $4 AND resource_id = $5 ORDER BY seq LIMIT 1)`,
    [workflowId, r.workflow_step_name, r.workflow_step_id, r.resource_type, r.resource_id],
  );
}

export class PgProvisioning {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  getState(id: string, opts?: { steps?: boolean }): Promise<StateRecord | undefined> {
    return readState(this.#db, id, opts?.steps ?? true);
  }

  async listStates(): Promise<StateRecord[]> {
    const r = await this.#db.query<StateRow>(`SELECT ${stateSelect(false)} FROM workflow_state s ORDER BY s.workflow_id`);
    return r.rows.map(toState);
  }

  async countStates(): Promise<Record<ProvisionState, number>> {
    const out: Record<ProvisionState, number> = { NOT_STARTED: 0, PROVISIONING: 0, COMPLETED: 0, FAILED: 0 };
    const r = await this.#db.query<{ state: ProvisionState; n: number }>('SELECT state, COUNT(*) AS n FROM workflow_state GROUP BY state');
    for (const row of r.rows) out[row.state] = row.n;
    return out;
  }

  beginRun(input: BeginRunInput): Promise<BeginRunResult> {
    return this.#db.tx(async (q): Promise<BeginRunResult> => {
      const row = await lockState(q, input.workflowId);
      if (!row) return { ok: false, reason: 'not_found' };
      let allowed = input.allowedStates.includes(row.state);
      if (allowed && input.requireNoResources?.includes(row.state)) {
        allowed = (await q.query('SELECT 1 FROM resources WHERE workflow_id = $1 LIMIT 1', [input.workflowId])).rowCount === 0;
      }
      if (!allowed) {
        const state = await readState(q, input.workflowId, false);
        return state ? { ok: false, reason: 'state', state } : { ok: false, reason: 'not_found' };
      }
      await q.query(
        `WITH res AS (DELETE FROM resources WHERE workflow_id = $2 AND NOT $9::boolean),
           old AS (UPDATE runs SET active = false WHERE workflow_id = $2 AND active),
           run AS (INSERT INTO runs (${RUN_COLS}, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true))
         UPDATE workflow_state SET state = 'PROVISIONING', progress = 'IN_PROGRESS', start_time = $8, end_time = NULL,
           error = NULL, error_detail = NULL, run_id = $1, version = version + 1, updated_at = $8
         WHERE workflow_id = $2`,
        [...newRunValues(input), input.keepResources],
      );
      return { ok: true };
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const row = (await this.#db.query<RunRow>(`SELECT ${RUN_READ_COLS} FROM runs WHERE run_id = $1`, [runId])).rows[0];
    return row ? toRun(row) : undefined;
  }

  recordStepStarted(runId: string, workflowId: string, nodeId: string, type: string, attempt: number, at: number): Promise<boolean> {
    return this.#db.tx(async (q) => {
      if (!(await lockCurrentRun(q, runId, workflowId))) return false;
      // `ord` counts the run's steps: exact, because the state row lock serialises this run's step writes.
      await q.query(
        `WITH step AS (
           INSERT INTO steps (run_id, node_id, workflow_id, type, state, attempt, start_time, ord)
           VALUES ($1, $2, $3, $4, 'RUNNING', $5, $6, (SELECT COUNT(*) FROM steps WHERE run_id = $1))
           ON CONFLICT (run_id, node_id) DO UPDATE SET state = 'RUNNING', attempt = EXCLUDED.attempt, start_time = EXCLUDED.start_time,
             end_time = NULL, error = NULL)
         UPDATE workflow_state SET version = version + 1, updated_at = $6 WHERE workflow_id = $3`,
        [runId, nodeId, workflowId, type, attempt, at],
      );
      return true;
    });
  }

  recordStepCompleted(c: StepCompletion): Promise<boolean> {
    return this.#db.tx(async (q) => {
      if (!(await lockCurrentRun(q, c.runId, c.workflowId))) return false;
      const outputs = JSON.stringify(c.outputs);
      const upd = await q.query(
        `UPDATE steps SET state = 'COMPLETED', end_time = $1, error = NULL, outputs = $2 WHERE run_id = $3 AND node_id = $4 AND state <> 'COMPLETED'`,
        [c.endTime, outputs, c.runId, c.nodeId],
      );
      if (upd.rowCount === 0) {
        // Replayed nodes (reprovision) complete without having started.
        const ins = await q.query(
          `INSERT INTO steps (run_id, node_id, workflow_id, type, state, attempt, start_time, end_time, outputs, ord)
           VALUES ($1, $2, $3, '', 'COMPLETED', 0, $4, $4, $5, (SELECT COUNT(*) FROM steps WHERE run_id = $1))
           ON CONFLICT (run_id, node_id) DO NOTHING`,
          [c.runId, c.nodeId, c.workflowId, c.endTime, outputs],
        );
        if (ins.rowCount === 0) return false; // already completed: never record its resources twice
      }
      if (c.resources.length > 0) {
        // In the order given: seq follows the ordinality.
        await q.query(
          `INSERT INTO resources (workflow_id, step_name, node_id, resource_type, resource_id)
           SELECT $1, r.step_name, r.node_id, r.resource_type, r.resource_id
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS r(step_name, node_id, resource_type, resource_id, ord)
           ORDER BY r.ord`,
          [
            c.workflowId,
            c.resources.map((r) => r.workflow_step_name),
            c.resources.map((r) => r.workflow_step_id),
            c.resources.map((r) => r.resource_type),
            c.resources.map((r) => r.resource_id),
          ],
        );
      }
      for (const res of c.removedResources ?? []) await removeResourceRow(q, c.workflowId, res);
      await q.query(TOUCH_STATE, [c.workflowId, c.endTime]);
      return true;
    });
  }

  recordStepFailed(
    runId: string,
    workflowId: string,
    nodeId: string,
    error: string,
    at: number,
    state: 'FAILED' | 'CANCELED',
  ): Promise<boolean> {
    return this.#db.tx(async (q) => {
      await lockState(q, workflowId);
      const r = await q.query(
        `UPDATE steps SET state = $1, end_time = $2, error = $3 WHERE run_id = $4 AND node_id = $5 AND state = 'RUNNING'`,
        [state, at, error, runId, nodeId],
      );
      const changed = (r.rowCount ?? 0) > 0;
      if (changed) await q.query(TOUCH_STATE, [workflowId, at]);
      return changed;
    });
  }

  finishRun(input: FinishRunInput): Promise<boolean> {
    return this.#db.tx(async (q) => {
      if (!(await lockCurrentRun(q, input.runId, input.workflowId))) return false;
      const progress = input.state === 'COMPLETED' ? 'DONE' : input.state === 'FAILED' ? 'FAILED' : 'NOT_STARTED';
      const notStarted = input.state === 'NOT_STARTED';
      // Steps still marked RUNNING when the run ends were cancelled by it.
      await q.query(
        `WITH run AS (UPDATE runs SET active = false WHERE run_id = $1),
           st AS (UPDATE steps SET state = 'CANCELED', end_time = $2 WHERE run_id = $1 AND state = 'RUNNING')
         UPDATE workflow_state SET state = $3, progress = $4, error = $5, error_detail = $9, end_time = $6,
           start_time = CASE WHEN $7::boolean THEN NULL ELSE start_time END, version = version + 1, updated_at = $2
         WHERE workflow_id = $8`,
        [
          input.runId,
          input.endTime,
          input.state,
          progress,
          input.error ?? null,
          notStarted ? null : input.endTime,
          notStarted,
          input.workflowId,
          input.errorDetail === undefined ? null : JSON.stringify(input.errorDetail),
        ],
      );
      return true;
    });
  }

  removeResource(workflowId: string, resource: ResourceCreated): Promise<void> {
    return this.#db.tx(async (q) => {
      await lockState(q, workflowId);
      await removeResourceRow(q, workflowId, resource);
      await q.query(TOUCH_STATE, [workflowId, Date.now()]);
    });
  }

  resetState(workflowId: string, error?: string): Promise<void> {
    return this.#db.tx(async (q) => {
      await lockState(q, workflowId);
      const templateExists = ((await q.query('SELECT 1 FROM workflows WHERE id = $1', [workflowId])).rowCount ?? 0) > 0;
      if (!templateExists) {
        await deleteStateRows(q, workflowId);
        return;
      }
      await q.query(
        `WITH run AS (UPDATE runs SET active = false WHERE workflow_id = $1 AND active),
           res AS (DELETE FROM resources WHERE workflow_id = $1)
         UPDATE workflow_state SET state = 'NOT_STARTED', progress = 'NOT_STARTED', start_time = NULL, end_time = NULL,
           error = $2, error_detail = NULL, run_id = NULL, version = version + 1, updated_at = $3
         WHERE workflow_id = $1`,
        [workflowId, error ?? null, Date.now()],
      );
    });
  }

  async markDeprovisionPartial(workflowId: string, at: number): Promise<void> {
    await this.#db.query(
      `UPDATE workflow_state SET state = 'COMPLETED', progress = 'DONE', end_time = $1, version = version + 1, updated_at = $1
       WHERE workflow_id = $2`,
      [at, workflowId],
    );
  }

  /**
   * Only runs whose lease expired: every other owner is a live node renewing its leases. SKIP
   * LOCKED lets nodes sweeping at the same moment split the orphans instead of waiting on each
   * other, and no run is handed to two of them.
   */
  async claimOrphanedRuns(owner: string, now: number, leaseMs: number): Promise<RunRecord[]> {
    // Each claim counts an attempt of the run, durably, before anything is resumed.
    const r = await this.#db.query<RunRow>(
      `UPDATE runs AS r SET owner = $1, lease_until = $3, attempts = r.attempts + 1
       FROM (SELECT run_id FROM runs WHERE active AND lease_until < $2 FOR UPDATE SKIP LOCKED) AS o
       WHERE r.run_id = o.run_id
       RETURNING ${RUN_READ_COLS.split(', ')
         .map((c) => `r.${c}`)
         .join(', ')}`,
      [owner, now, now + leaseMs],
    );
    return r.rows.map(toRun).sort((a, b) => a.startTime - b.startTime || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  }

  async renewLeases(owner: string, now: number, leaseMs: number): Promise<void> {
    await this.#db.query('UPDATE runs SET lease_until = $1 WHERE owner = $2 AND active', [now + leaseMs, owner]);
  }

  async tryLockWorkflow(workflowId: string, op: string, owner: string, until: number): Promise<boolean> {
    const r = await this.#db.query(
      `INSERT INTO workflow_locks (workflow_id, op, owner, until) VALUES ($1, $2, $3, $4)
       ON CONFLICT (workflow_id, op) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
       WHERE workflow_locks.until < $5`,
      [workflowId, op, owner, until, Date.now()],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async unlockWorkflow(workflowId: string, op: string): Promise<void> {
    await this.#db.query('DELETE FROM workflow_locks WHERE workflow_id = $1 AND op = $2', [workflowId, op]);
  }
}
