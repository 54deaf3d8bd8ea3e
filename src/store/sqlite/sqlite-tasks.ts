/**
 * Durable ASYNC tasks on SQLite. Runners claim the oldest QUEUED tasks in batches under a lease
 * and complete them in batches; a completion only lands while the task is still RUNNING and
 * owned by the runner, so every task is completed at most once whatever crashes, cancels or
 * lease expiries happen in between. (PostgreSQL does the same with `FOR UPDATE SKIP LOCKED`.)
 *
 * The per-request writes (create, cancel, delete) are group-committed: calls made in the same
 * event-loop turn (a TurnBatch) share one transaction, each in its own savepoint, and each
 * promise settles after the commit. A commit (writing the WAL) costs far more than the insert
 * itself, so under load this is what keeps createTask cheap; a lone call still commits at the
 * end of its turn.
 *
 * Per-status counts are kept in memory: this process is the only writer of the file (the data
 * dir is locked), so adjusting them after every committed change keeps them exact, and queue
 * depth, read on every status request, costs nothing instead of a scan of the workflow's tasks.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { NewTask, TaskCompletion, TaskDeadLetter, TaskPage, TaskRecord, TaskStatus } from '../store.js';
import { TASK_STATUSES } from '../store.js';
import { statementCache } from './sqlite-statement-cache.js';
import type { ClaimedRow, TaskRow } from '../rows/task-rows.js';
import { CLAIMED_COLS, NO_ATTEMPT_LIMIT, TASK_META_COLS as META, claimedTask, newTaskRecord, toTask } from '../rows/task-rows.js';
import { decodeCursor, encodeCursor } from '../task-cursor.js';
import { TurnBatch } from '../../util/turn-batch.js';

/** Rows deleted per transaction by the expiry sweep; the event loop gets a turn in between. */
const EXPIRY_CHUNK = 2000;

type Counts = Record<TaskStatus, number>;
type Delta = Array<[workflowId: string, status: TaskStatus, n: number]>;
/** A grouped write's result and its effect on the counts (applied once committed). */
interface Effect<T> {
  value: T;
  delta?: Delta;
}
interface PendingWrite {
  run: () => Effect<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
type Outcome = { ok: true; effect: Effect<unknown> } | { ok: false; error: unknown };

const emptyCounts = (): Counts => ({ QUEUED: 0, RUNNING: 0, COMPLETED: 0, ERROR: 0, CANCELED: 0 });

export class SqliteTasks {
  readonly #db: Db;
  readonly #q: (sql: string) => Statement;
  readonly #counts = new Map<string, Counts>();
  /** Runs a write inside the group's transaction as a savepoint: a failing one undoes only itself. */
  readonly #savepoint: (run: () => Effect<unknown>) => Effect<unknown>;
  readonly #writes = new TurnBatch<PendingWrite>(
    (batch) => this.#commit(batch),
    (error, batch) => {
      for (const w of batch) w.reject(error);
    },
  );

  constructor(db: Db) {
    this.#db = db;
    this.#q = statementCache(this.#db);
    this.#savepoint = db.transaction((run: () => Effect<unknown>) => run());
  }

  #grouped<T>(run: () => Effect<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.#writes.add({ run, resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Commits the pending grouped writes now (also called when the store closes). */
  flush(): void {
    this.#writes.flush();
  }

  #commit(batch: PendingWrite[]): void {
    const outcomes: Outcome[] = [];
    try {
      if (!this.#db.open) throw new Error('The task store is closed.');
      this.#db.transaction(() => {
        for (const w of batch) {
          try {
            outcomes.push({ ok: true, effect: this.#savepoint(w.run) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      })();
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (!o) return w.reject(new Error('lost grouped write'));
      if (!o.ok) return w.reject(o.error);
      if (o.effect.delta) this.#apply(o.effect.delta);
      w.resolve(o.effect.value);
    });
  }

  /** Applied only after the transaction committed, so a rollback never skews the counts. */
  #apply(delta: Delta): void {
    for (const [wf, status, n] of delta) {
      const c = this.#counts.get(wf);
      if (c) c[status] += n;
    }
  }

  create(t: NewTask): Promise<{ task: TaskRecord; created: boolean }> {
    return this.#grouped((): Effect<{ task: TaskRecord; created: boolean }> => {
      if (t.idempotencyKey !== undefined) {
        const existing = this.#q(`SELECT ${META} FROM tasks WHERE workflow_id = ? AND idempotency_key = ?`).get(
          t.workflowId,
          t.idempotencyKey,
        ) as TaskRow | undefined;
        if (existing) return { value: { task: toTask(existing), created: false } };
      }
      const c = t.claim;
      const status = c ? 'RUNNING' : 'QUEUED';
      this.#q(
        `INSERT INTO tasks (task_id, workflow_id, status, attempt, created_at, expires_at, correlation_id, idempotency_key, input, started_at, owner, lease_until)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        t.taskId,
        t.workflowId,
        status,
        c ? 1 : 0,
        t.createdAt,
        t.expiresAt,
        t.correlationId ?? null,
        t.idempotencyKey ?? null,
        t.input,
        c?.startedAt ?? null,
        c?.owner ?? null,
        c?.leaseUntil ?? null,
      );
      return { value: { task: newTaskRecord(t), created: true }, delta: [[t.workflowId, status, 1]] };
    });
  }

  claim(
    workflowId: string,
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    deadLetter?: TaskDeadLetter,
  ): Array<TaskRecord & { input: string }> {
    if (limit <= 0) return [];
    // The subquery walks (workflow_id, status, seq): O(log n + limit) however long the queue.
    // A task claimed maxAttempts times already is dead-lettered by the same statement (every
    // SET expression reads the row as it was), so the check costs no extra round trip.
    const leaseUntil = now + leaseMs;
    const rows = this.#q(
      `UPDATE tasks SET
         status = CASE WHEN attempt < @max THEN 'RUNNING' ELSE 'ERROR' END,
         attempt = CASE WHEN attempt < @max THEN attempt + 1 ELSE attempt END,
         started_at = CASE WHEN attempt < @max THEN @now ELSE started_at END,
         owner = CASE WHEN attempt < @max THEN @owner ELSE NULL END,
         lease_until = CASE WHEN attempt < @max THEN @leaseUntil ELSE NULL END,
         finished_at = CASE WHEN attempt < @max THEN finished_at ELSE @now END,
         output = CASE WHEN attempt < @max THEN output ELSE @output END
       WHERE seq IN (SELECT seq FROM tasks WHERE workflow_id = @workflowId AND status = 'QUEUED' ORDER BY seq LIMIT @limit)
       RETURNING ${CLAIMED_COLS}`,
    ).all({
      max: deadLetter?.maxAttempts ?? NO_ATTEMPT_LIMIT,
      output: deadLetter?.output ?? null,
      now,
      owner,
      leaseUntil,
      workflowId,
      limit,
    }) as ClaimedRow[];
    rows.sort((a, b) => a.seq - b.seq); // RETURNING promises no order
    let running = 0;
    for (const r of rows) if (r.status === 'RUNNING') running++;
    this.#apply([
      [workflowId, 'QUEUED', -rows.length],
      [workflowId, 'RUNNING', running],
      [workflowId, 'ERROR', rows.length - running],
    ]);
    return rows.map((r) => claimedTask(r, workflowId, owner, now, leaseUntil));
  }

  requeue(owner: string, taskIds: string[]): string[] {
    if (taskIds.length === 0) return [];
    const rows = this.#q(
      `UPDATE tasks SET status = 'QUEUED', owner = NULL, lease_until = NULL, started_at = NULL
       WHERE task_id IN (SELECT value FROM json_each(?)) AND status = 'RUNNING' AND owner = ? RETURNING task_id, workflow_id`,
    ).all(JSON.stringify(taskIds), owner) as Array<{ task_id: string; workflow_id: string }>;
    this.#apply(
      rows.flatMap((r): Delta => [
        [r.workflow_id, 'RUNNING', -1],
        [r.workflow_id, 'QUEUED', 1],
      ]),
    );
    return rows.map((r) => r.task_id);
  }

  complete(results: TaskCompletion[]): string[] {
    const delta: Delta = [];
    const done = this.#db.transaction((): string[] => {
      const upd = this.#q(
        `UPDATE tasks SET status = ?, output = ?, finished_at = ?, lease_until = NULL
         WHERE task_id = ? AND status = 'RUNNING' AND owner = ? RETURNING workflow_id`,
      );
      const ids: string[] = [];
      for (const r of results) {
        const row = upd.get(r.status, r.output, r.finishedAt, r.taskId, r.owner) as { workflow_id: string } | undefined;
        if (!row) continue;
        ids.push(r.taskId);
        delta.push([row.workflow_id, 'RUNNING', -1], [row.workflow_id, r.status, 1]);
      }
      return ids;
    })();
    this.#apply(delta);
    return done;
  }

  renewLeases(workflowId: string, owner: string, now: number, leaseMs: number): void {
    this.#q(`UPDATE tasks SET lease_until = ? WHERE workflow_id = ? AND status = 'RUNNING' AND owner = ?`).run(
      now + leaseMs,
      workflowId,
      owner,
    );
  }

  requeueOrphans(owner: string, now: number): number {
    // One process owns an SQLite file, so a RUNNING task owned by anyone else was left behind
    // by a process that died; one of ours whose lease lapsed belongs to a stalled runner.
    const rows = this.#q(
      `UPDATE tasks SET status = 'QUEUED', owner = NULL, lease_until = NULL, started_at = NULL
       WHERE status = 'RUNNING' AND (owner IS NOT ? OR lease_until < ?) RETURNING workflow_id`,
    ).all(owner, now) as Array<{ workflow_id: string }>;
    this.#apply(
      rows.flatMap((r): Delta => [
        [r.workflow_id, 'RUNNING', -1],
        [r.workflow_id, 'QUEUED', 1],
      ]),
    );
    return rows.length;
  }

  get(workflowId: string, taskId: string, opts: { input?: boolean; output?: boolean } = {}): TaskRecord | undefined {
    const cols = META + (opts.input ? ', input' : '') + (opts.output ? ', output' : '');
    const row = this.#q(`SELECT ${cols} FROM tasks WHERE task_id = ? AND workflow_id = ?`).get(taskId, workflowId) as TaskRow | undefined;
    return row ? toTask(row) : undefined;
  }

  getMany(workflowId: string, taskIds: string[]): TaskRecord[] {
    if (taskIds.length === 0) return [];
    // One cached statement for any number of ids: they travel as one JSON array.
    const rows = this.#q(`SELECT ${META} FROM tasks WHERE task_id IN (SELECT value FROM json_each(?)) AND workflow_id = ?`).all(
      JSON.stringify(taskIds),
      workflowId,
    ) as TaskRow[];
    const byId = new Map(rows.map((r) => [r.task_id, r]));
    const out: TaskRecord[] = [];
    for (const id of new Set(taskIds)) {
      const r = byId.get(id);
      if (r) out.push(toTask(r));
    }
    return out;
  }

  list(workflowId: string, opts: { statuses?: TaskStatus[]; limit: number; after?: string }): TaskPage {
    const after = decodeCursor(opts.after);
    const limit = Math.max(1, Math.floor(opts.limit));
    // One index range per status, merged here: each is O(log n + limit) whatever the mix of
    // statuses, where a single query filtering on status could scan every finished task.
    const stmt = this.#q(`SELECT ${META} FROM tasks WHERE workflow_id = ? AND status = ? AND seq > ? ORDER BY seq LIMIT ?`);
    const rows: TaskRow[] = [];
    for (const s of new Set(opts.statuses ?? TASK_STATUSES)) rows.push(...(stmt.all(workflowId, s, after, limit + 1) as TaskRow[]));
    rows.sort((a, b) => a.seq - b.seq);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { tasks: page.map(toTask), ...(rows.length > limit && last ? { next: encodeCursor(last.seq) } : {}) };
  }

  cancel(workflowId: string, taskId: string, at: number): Promise<TaskRecord | undefined> {
    return this.#grouped((): Effect<TaskRecord | undefined> => {
      const row = this.#q(`SELECT ${META} FROM tasks WHERE task_id = ? AND workflow_id = ?`).get(taskId, workflowId) as TaskRow | undefined;
      if (!row) return { value: undefined };
      if (row.status !== 'QUEUED' && row.status !== 'RUNNING') return { value: toTask(row) };
      this.#q(`UPDATE tasks SET status = 'CANCELED', finished_at = ?, lease_until = NULL WHERE seq = ?`).run(at, row.seq);
      return {
        value: toTask({ ...row, status: 'CANCELED', finished_at: at, lease_until: null }),
        delta: [
          [workflowId, row.status, -1],
          [workflowId, 'CANCELED', 1],
        ],
      };
    });
  }

  delete(workflowId: string, taskId: string): Promise<boolean> {
    return this.#grouped((): Effect<boolean> => {
      const row = this.#q('DELETE FROM tasks WHERE task_id = ? AND workflow_id = ? RETURNING status').get(taskId, workflowId) as
        { status: TaskStatus } | undefined;
      return row ? { value: true, delta: [[workflowId, row.status, -1]] } : { value: false };
    });
  }

  deleteMany(workflowId: string, opts: { statuses?: TaskStatus[] }): number {
    const delta: Delta = [];
    const n = this.#db.transaction((): number => {
      const del = this.#q('DELETE FROM tasks WHERE workflow_id = ? AND status = ?');
      let total = 0;
      for (const s of new Set(opts.statuses ?? TASK_STATUSES)) {
        const changes = del.run(workflowId, s).changes;
        total += changes;
        delta.push([workflowId, s, -changes]);
      }
      return total;
    })();
    this.#apply(delta);
    return n;
  }

  countQueued(workflowId: string): number {
    return this.count(workflowId).QUEUED;
  }

  count(workflowId: string): Record<TaskStatus, number> {
    let c = this.#counts.get(workflowId);
    if (!c) {
      c = emptyCounts();
      const rows = this.#q('SELECT status, COUNT(*) AS n FROM tasks WHERE workflow_id = ? GROUP BY status').all(workflowId) as Array<{
        status: TaskStatus;
        n: number;
      }>;
      for (const r of rows) c[r.status] = r.n;
      this.#counts.set(workflowId, c);
    }
    return { ...c };
  }

  /** Chunked so that a large backlog of expired tasks never holds the event loop for long. */
  async deleteExpired(now: number): Promise<number> {
    const del = this.#q(
      `DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE expires_at <= ? ORDER BY expires_at LIMIT ${EXPIRY_CHUNK})
       RETURNING workflow_id, status`,
    );
    let total = 0;
    for (;;) {
      if (!this.#db.open) return total;
      const rows = del.all(now) as Array<{ workflow_id: string; status: TaskStatus }>;
      this.#apply(rows.map((r): [string, TaskStatus, number] => [r.workflow_id, r.status, -1]));
      total += rows.length;
      if (rows.length < EXPIRY_CHUNK) return total;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
