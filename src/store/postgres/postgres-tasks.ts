/**
 * Durable ASYNC tasks on PostgreSQL, shared by every node of a cluster. Runners claim the
 * oldest QUEUED tasks with `FOR UPDATE SKIP LOCKED` (concurrent claimers split the queue
 * instead of waiting on each other) under a lease, and complete them in batches; a completion
 * only lands while the task is still RUNNING and owned by the runner, so every task is
 * completed at most once whatever crashes, cancels or lease expiries happen in between.
 *
 * createTask calls made in the same event-loop turn (a TurnBatch) become one multi-row INSERT (one round
 * trip, one commit): under load that is what keeps task submission cheap, as SQLite's group
 * commit does. Counts are read from the table (no in-memory cache: other nodes write too).
 */
import { conflict } from '../../errors.js';
import type { NewTask, TaskCompletion, TaskDeadLetter, TaskPage, TaskRecord, TaskStatus } from '../store.js';
import { TASK_STATUSES } from '../store.js';
import type { PgDb } from './postgres-connection.js';
import type { TaskRow } from '../rows/task-rows.js';
import type { ClaimedRow } from '../rows/task-rows.js';
import { CLAIMED_COLS, NO_ATTEMPT_LIMIT, TASK_META_COLS as META, claimedTask, newTaskRecord, toTask } from '../rows/task-rows.js';
import { decodeCursor, encodeCursor } from '../task-cursor.js';
import { TurnBatch } from '../../util/turn-batch.js';

/** Rows per INSERT of grouped creates, and per DELETE of the expiry sweep. */
const CREATE_CHUNK = 1000;
const EXPIRY_CHUNK = 2000;

interface PendingCreate {
  task: NewTask;
  resolve: (v: { task: TaskRecord; created: boolean }) => void;
  reject: (e: unknown) => void;
  /** Set once it was re-sent because its idempotent twin vanished between INSERT and SELECT. */
  retried?: boolean;
}

const statusList = (statuses: TaskStatus[] | undefined): TaskStatus[] => [...new Set(statuses ?? TASK_STATUSES)];

export class PgTasks {
  readonly #db: PgDb;
  readonly #creates = new TurnBatch<PendingCreate>(
    (batch) => this.#send(batch),
    (error, batch) => {
      for (const p of batch) p.reject(error);
    },
  );
  readonly #inFlight = new Set<Promise<void>>();

  constructor(db: PgDb) {
    this.#db = db;
  }

  create(task: NewTask): Promise<{ task: TaskRecord; created: boolean }> {
    return new Promise((resolve, reject) => this.#creates.add({ task, resolve, reject }));
  }

  #send(batch: PendingCreate[]): void {
    for (let i = 0; i < batch.length; i += CREATE_CHUNK) {
      const run = this.#insert(batch.slice(i, i + CREATE_CHUNK));
      this.#inFlight.add(run);
      void run.finally(() => this.#inFlight.delete(run));
    }
  }

  /** Sends the pending creates now and waits for every create in flight (the store is closing). */
  async flush(): Promise<void> {
    // An insert may hand creates back to the batch (a task id twice in one group): send those too.
    for (;;) {
      this.#creates.flush();
      if (this.#inFlight.size === 0) return;
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /** Never rejects: each create settles on its own. */
  async #insert(batch: PendingCreate[]): Promise<void> {
    // A task id twice in one statement could not tell which of them went in: later ones wait for the next turn.
    const seen = new Set<string>();
    const now: PendingCreate[] = [];
    for (const p of batch) {
      if (seen.has(p.task.taskId)) this.#creates.add(p);
      else {
        seen.add(p.task.taskId);
        now.push(p);
      }
    }
    try {
      const ts = now.map((p) => p.task);
      // ON CONFLICT DO NOTHING also skips a row whose idempotency key an earlier row of the same
      // statement took, so "the same key in one group finds the first" holds as on SQLite.
      // Arrays, not one JSON parameter: PostgreSQL reads arrays faster than it extracts JSON
      // fields, and the database is the part that every node shares.
      const r = await this.#db.query<{ task_id: string }>(
        `INSERT INTO tasks (task_id, workflow_id, status, attempt, created_at, expires_at, correlation_id, idempotency_key, input, started_at, owner, lease_until)
         SELECT n.task_id, n.workflow_id, CASE WHEN n.owner IS NULL THEN 'QUEUED' ELSE 'RUNNING' END, CASE WHEN n.owner IS NULL THEN 0 ELSE 1 END,
           n.created_at, n.expires_at, n.correlation_id, n.idempotency_key, n.input, n.started_at, n.owner, n.lease_until
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::bigint[]) WITH ORDINALITY
           AS n(task_id, workflow_id, created_at, expires_at, correlation_id, idempotency_key, input, started_at, owner, lease_until, ord)
         ORDER BY n.ord
         ON CONFLICT DO NOTHING
         RETURNING task_id`,
        [
          ts.map((t) => t.taskId),
          ts.map((t) => t.workflowId),
          ts.map((t) => t.createdAt),
          ts.map((t) => t.expiresAt),
          ts.map((t) => t.correlationId ?? null),
          ts.map((t) => t.idempotencyKey ?? null),
          ts.map((t) => t.input),
          ts.map((t) => t.claim?.startedAt ?? null),
          ts.map((t) => t.claim?.owner ?? null),
          ts.map((t) => t.claim?.leaseUntil ?? null),
        ],
      );
      const inserted = new Set(r.rows.map((row) => row.task_id));
      const skipped: PendingCreate[] = [];
      for (const p of now) {
        if (inserted.has(p.task.taskId)) p.resolve({ task: newTaskRecord(p.task), created: true });
        else skipped.push(p);
      }
      if (skipped.length > 0) await this.#resolveSkipped(skipped);
    } catch (e) {
      for (const p of now) p.reject(e);
    }
  }

  /** Rows the INSERT skipped: the idempotent twin they map to, or a duplicate task id. */
  async #resolveSkipped(skipped: PendingCreate[]): Promise<void> {
    const keyed = skipped.filter((p) => p.task.idempotencyKey !== undefined);
    const existing = new Map<string, TaskRow>();
    if (keyed.length > 0) {
      const r = await this.#db.query<TaskRow>(
        `SELECT ${META} FROM tasks
         WHERE (workflow_id, idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
        [keyed.map((p) => p.task.workflowId), keyed.map((p) => p.task.idempotencyKey)],
      );
      for (const row of r.rows) existing.set(`${row.workflow_id}\u0000${row.idempotency_key ?? ''}`, row);
    }
    for (const p of skipped) {
      const row = p.task.idempotencyKey !== undefined ? existing.get(`${p.task.workflowId}\u0000${p.task.idempotencyKey}`) : undefined;
      if (row) p.resolve({ task: toTask(row), created: false });
      else if (p.task.idempotencyKey !== undefined && !p.retried)
        this.#creates.add({ ...p, retried: true }); // its twin was just deleted
      else p.reject(conflict(`A task with id [${p.task.taskId}] already exists.`, { code: 'task.duplicate_id' }));
    }
  }

  async claim(
    workflowId: string,
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    deadLetter?: TaskDeadLetter,
  ): Promise<Array<TaskRecord & { input: string }>> {
    if (limit <= 0) return [];
    // The subquery walks (workflow_id, status, seq); SKIP LOCKED passes over rows another node is claiming.
    // A task claimed maxAttempts times already is dead-lettered by the same statement (SET
    // expressions read the row as it was): no extra round trip per claim.
    const leaseUntil = now + leaseMs;
    const r = await this.#db.query<ClaimedRow>(
      `UPDATE tasks SET
         status = CASE WHEN attempt < $6::int THEN 'RUNNING' ELSE 'ERROR' END,
         attempt = CASE WHEN attempt < $6::int THEN attempt + 1 ELSE attempt END,
         started_at = CASE WHEN attempt < $6::int THEN $3::bigint ELSE started_at END,
         owner = CASE WHEN attempt < $6::int THEN $4::text ELSE NULL END,
         lease_until = CASE WHEN attempt < $6::int THEN $5::bigint ELSE NULL END,
         finished_at = CASE WHEN attempt < $6::int THEN finished_at ELSE $3::bigint END,
         output = CASE WHEN attempt < $6::int THEN output ELSE $7::text END
       WHERE seq IN (SELECT seq FROM tasks WHERE workflow_id = $1 AND status = 'QUEUED' ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING ${CLAIMED_COLS}`,
      [workflowId, Math.floor(limit), now, owner, leaseUntil, deadLetter?.maxAttempts ?? NO_ATTEMPT_LIMIT, deadLetter?.output ?? null],
    );
    const rows = r.rows.sort((a, b) => a.seq - b.seq); // RETURNING promises no order
    return rows.map((row) => claimedTask(row, workflowId, owner, now, leaseUntil));
  }

  /** Rows locked in seq order, as every multi-row writer of tasks does (no deadlock with a completion batch). */
  async requeue(owner: string, taskIds: string[]): Promise<string[]> {
    if (taskIds.length === 0) return [];
    const r = await this.#db.query<{ task_id: string }>(
      `UPDATE tasks SET status = 'QUEUED', owner = NULL, lease_until = NULL, started_at = NULL
       WHERE seq IN (SELECT seq FROM tasks WHERE task_id = ANY($1::text[]) ORDER BY seq FOR UPDATE)
         AND status = 'RUNNING' AND owner = $2
       RETURNING task_id`,
      [taskIds, owner],
    );
    return r.rows.map((row) => row.task_id);
  }

  async complete(results: TaskCompletion[]): Promise<string[]> {
    // The first completion of a (task, owner) pair wins, as when applied one by one.
    const key = (taskId: string, owner: string): string => `${taskId}\u0000${owner}`;
    const unique = new Map<string, TaskCompletion>();
    for (const c of results) if (!unique.has(key(c.taskId, c.owner))) unique.set(key(c.taskId, c.owner), c);
    if (unique.size === 0) return [];
    const rows = [...unique.values()];
    // One statement, one round trip (not BEGIN, lock, update, COMMIT). Rows are locked first, in
    // seq order (the materialized CTE; every other multi-row writer of tasks uses the same order
    // or skips locked rows), so two statements can never wait on each other. A row changed since
    // the statement's snapshot (canceled, requeued) is re-checked against the WHERE clause before
    // it is updated. Both joins are keyed (task_id, then seq): a join on a filter alone goes
    // quadratic in the batch. Planned for each batch, against the table's size now. The results
    // travel as one JSON parameter: with unnested arrays the row estimate led the planner to a
    // hash join over the whole table.
    const r = await this.#db.queryPlannedEachTime<{ task_id: string; owner: string }>(
      `WITH c AS (
         SELECT e->>0 AS task_id, e->>1 AS owner, e->>2 AS status, e->>3 AS output, (e->>4)::bigint AS finished_at
         FROM json_array_elements($1::json) AS e
       ), locked AS MATERIALIZED (
         SELECT t.seq, c.owner, c.status, c.output, c.finished_at
         FROM tasks AS t JOIN c ON t.task_id = c.task_id
         ORDER BY t.seq FOR UPDATE OF t
       )
       UPDATE tasks AS t SET status = l.status, output = l.output, finished_at = l.finished_at, lease_until = NULL
       FROM locked AS l
       WHERE t.seq = l.seq AND t.owner = l.owner AND t.status = 'RUNNING'
       RETURNING t.task_id, t.owner`,
      [JSON.stringify(rows.map((c) => [c.taskId, c.owner, c.status, c.output, c.finishedAt]))],
    );
    const done = new Set(r.rows.map((row) => key(row.task_id, row.owner)));
    return [...unique.entries()].filter(([k]) => done.has(k)).map(([, c]) => c.taskId);
  }

  async renewLeases(workflowId: string, owner: string, now: number, leaseMs: number): Promise<void> {
    // The workflow's RUNNING range of tasks_by_status. Rows being completed right now are
    // skipped (they need no lease any more): no deadlock with a concurrent completion.
    await this.#db.query(
      `UPDATE tasks SET lease_until = $1
       WHERE seq IN (SELECT seq FROM tasks WHERE workflow_id = $2 AND status = 'RUNNING' AND owner = $3 ORDER BY seq FOR UPDATE SKIP LOCKED)`,
      [now + leaseMs, workflowId, owner],
    );
  }

  /**
   * Only expired leases: on PostgreSQL another owner is a live node still renewing its own.
   * Reads the RUNNING range of tasks_by_status for each workflow that has tasks: the workflows
   * are found by a loose scan of the index (one probe each), so the cost follows the number of
   * workflows and running tasks, not the size of the table.
   */
  async requeueOrphans(_owner: string, now: number): Promise<number> {
    const r = await this.#db.query(
      `WITH RECURSIVE w(id) AS (
         (SELECT workflow_id FROM tasks ORDER BY workflow_id LIMIT 1)
         UNION ALL
         SELECT (SELECT t.workflow_id FROM tasks AS t WHERE t.workflow_id > w.id ORDER BY t.workflow_id LIMIT 1) FROM w WHERE w.id IS NOT NULL
       )
       UPDATE tasks SET status = 'QUEUED', owner = NULL, lease_until = NULL, started_at = NULL
       WHERE seq IN (
         SELECT seq FROM tasks
         WHERE workflow_id = ANY (ARRAY(SELECT id FROM w WHERE id IS NOT NULL)) AND status = 'RUNNING' AND lease_until < $1
         ORDER BY seq FOR UPDATE SKIP LOCKED
       ) AND status = 'RUNNING' AND lease_until < $1`,
      [now],
    );
    return r.rowCount ?? 0;
  }

  async get(workflowId: string, taskId: string, opts: { input?: boolean; output?: boolean } = {}): Promise<TaskRecord | undefined> {
    const cols = META + (opts.input ? ', input' : '') + (opts.output ? ', output' : '');
    const r = await this.#db.query<TaskRow>(`SELECT ${cols} FROM tasks WHERE task_id = $1 AND workflow_id = $2`, [taskId, workflowId]);
    const row = r.rows[0];
    return row ? toTask(row) : undefined;
  }

  async getMany(workflowId: string, taskIds: string[]): Promise<TaskRecord[]> {
    if (taskIds.length === 0) return [];
    const r = await this.#db.query<TaskRow>(`SELECT ${META} FROM tasks WHERE task_id = ANY($1::text[]) AND workflow_id = $2`, [
      taskIds,
      workflowId,
    ]);
    const byId = new Map(r.rows.map((row) => [row.task_id, row]));
    const out: TaskRecord[] = [];
    for (const id of new Set(taskIds)) {
      const row = byId.get(id);
      if (row) out.push(toTask(row));
    }
    return out;
  }

  async list(workflowId: string, opts: { statuses?: TaskStatus[]; limit: number; after?: string }): Promise<TaskPage> {
    const after = decodeCursor(opts.after);
    const limit = Math.max(1, Math.floor(opts.limit));
    // One index range per status, merged: each is O(log n + limit) whatever the mix of statuses,
    // where one range filtering on status could scan every finished task.
    const r = await this.#db.query<TaskRow>(
      `SELECT t.* FROM unnest($2::text[]) AS s(status)
       CROSS JOIN LATERAL (SELECT ${META} FROM tasks WHERE workflow_id = $1 AND status = s.status AND seq > $3 ORDER BY seq LIMIT $4) AS t
       ORDER BY t.seq LIMIT $4`,
      [workflowId, statusList(opts.statuses), after, limit + 1],
    );
    const page = r.rows.slice(0, limit);
    const last = page[page.length - 1];
    return { tasks: page.map(toTask), ...(r.rows.length > limit && last ? { next: encodeCursor(last.seq) } : {}) };
  }

  async cancel(workflowId: string, taskId: string, at: number): Promise<TaskRecord | undefined> {
    const r = await this.#db.query<TaskRow>(
      `UPDATE tasks SET status = 'CANCELED', finished_at = $3, lease_until = NULL
       WHERE task_id = $1 AND workflow_id = $2 AND status IN ('QUEUED', 'RUNNING')
       RETURNING ${META}`,
      [taskId, workflowId, at],
    );
    const row = r.rows[0];
    if (row) return toTask(row);
    return this.get(workflowId, taskId); // finished (returned unchanged) or unknown
  }

  async delete(workflowId: string, taskId: string): Promise<boolean> {
    const r = await this.#db.query('DELETE FROM tasks WHERE task_id = $1 AND workflow_id = $2', [taskId, workflowId]);
    return (r.rowCount ?? 0) > 0;
  }

  async deleteMany(workflowId: string, opts: { statuses?: TaskStatus[] }): Promise<number> {
    const r = await this.#db.query('DELETE FROM tasks WHERE workflow_id = $1 AND status = ANY($2::text[])', [
      workflowId,
      statusList(opts.statuses),
    ]);
    return r.rowCount ?? 0;
  }

  async count(workflowId: string): Promise<Record<TaskStatus, number>> {
    const c: Record<TaskStatus, number> = { QUEUED: 0, RUNNING: 0, COMPLETED: 0, ERROR: 0, CANCELED: 0 };
    const r = await this.#db.query<{ status: TaskStatus; n: number }>(
      'SELECT status, COUNT(*) AS n FROM tasks WHERE workflow_id = $1 GROUP BY status',
      [workflowId],
    );
    for (const row of r.rows) c[row.status] = row.n;
    return c;
  }

  /** Reads only the QUEUED entries of tasks_by_status: the cost follows the queue, not the table. */
  async countQueued(workflowId: string): Promise<number> {
    const r = await this.#db.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM tasks WHERE workflow_id = $1 AND status = 'QUEUED'", [
      workflowId,
    ]);
    return r.rows[0]?.n ?? 0;
  }

  /** In chunks: short transactions, and sweeping nodes skip each other's rows. */
  async deleteExpired(now: number): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await this.#db.query(
        `DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE expires_at <= $1 ORDER BY expires_at LIMIT ${EXPIRY_CHUNK} FOR UPDATE SKIP LOCKED)`,
        [now],
      );
      const n = r.rowCount ?? 0;
      total += n;
      if (n < EXPIRY_CHUNK) return total;
    }
  }
}
