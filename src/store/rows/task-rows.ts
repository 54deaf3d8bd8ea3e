/** The tasks row as both stores read it (same columns on SQLite and PostgreSQL), and its mapping to the Store port's record. */
import type { NewTask, TaskRecord, TaskStatus } from '../store.js';

export interface TaskRow {
  seq: number;
  task_id: string;
  workflow_id: string;
  status: TaskStatus;
  attempt: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  expires_at: number;
  owner: string | null;
  lease_until: number | null;
  correlation_id: string | null;
  idempotency_key: string | null;
  input?: string;
  output?: string | null;
}

/** Everything but the payloads. */
export const TASK_META_COLS = `seq, task_id, workflow_id, status, attempt, created_at, started_at, finished_at, expires_at, owner, lease_until,
  correlation_id, idempotency_key`;

/** What a claim reads back: the columns it did not just set itself, and whether it ran or dead-lettered the task. */
export const CLAIMED_COLS = 'seq, task_id, status, attempt, created_at, expires_at, correlation_id, idempotency_key, input';

export type ClaimedRow = Pick<
  TaskRow,
  'seq' | 'task_id' | 'status' | 'attempt' | 'created_at' | 'expires_at' | 'correlation_id' | 'idempotency_key'
> & {
  input: string;
};

/** Attempts past which nothing is dead-lettered (a claim without a dead-letter policy). */
export const NO_ATTEMPT_LIMIT = 2_147_483_647;

/**
 * The record of a task this claim just set RUNNING, or ERROR when it dead-lettered it (fewer
 * columns to send and parse per task).
 */
export function claimedTask(
  r: ClaimedRow,
  workflowId: string,
  owner: string,
  now: number,
  leaseUntil: number,
): TaskRecord & { input: string } {
  const t: TaskRecord & { input: string } =
    r.status === 'RUNNING'
      ? {
          taskId: r.task_id,
          workflowId,
          status: 'RUNNING',
          attempt: r.attempt,
          createdAt: r.created_at,
          expiresAt: r.expires_at,
          startedAt: now,
          owner,
          leaseUntil,
          input: r.input,
        }
      : {
          taskId: r.task_id,
          workflowId,
          status: r.status,
          attempt: r.attempt,
          createdAt: r.created_at,
          expiresAt: r.expires_at,
          finishedAt: now,
          input: r.input,
        };
  if (r.correlation_id !== null) t.correlationId = r.correlation_id;
  if (r.idempotency_key !== null) t.idempotencyKey = r.idempotency_key;
  return t;
}

export function toTask(r: TaskRow): TaskRecord {
  const t: TaskRecord = {
    taskId: r.task_id,
    workflowId: r.workflow_id,
    status: r.status,
    attempt: r.attempt,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
  if (r.correlation_id !== null) t.correlationId = r.correlation_id;
  if (r.idempotency_key !== null) t.idempotencyKey = r.idempotency_key;
  if (r.started_at !== null) t.startedAt = r.started_at;
  if (r.finished_at !== null) t.finishedAt = r.finished_at;
  if (r.owner !== null) t.owner = r.owner;
  if (r.lease_until !== null) t.leaseUntil = r.lease_until;
  if (r.input !== undefined) t.input = r.input;
  if (r.output !== undefined && r.output !== null) t.output = r.output;
  return t;
}

/** The record of a task just inserted (QUEUED, never attempted; or RUNNING when inserted claimed), without reading its row back. */
export function newTaskRecord(t: NewTask): TaskRecord {
  const task: TaskRecord = {
    taskId: t.taskId,
    workflowId: t.workflowId,
    status: 'QUEUED',
    attempt: 0,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
  };
  if (t.correlationId !== undefined) task.correlationId = t.correlationId;
  if (t.idempotencyKey !== undefined) task.idempotencyKey = t.idempotencyKey;
  if (t.claim !== undefined) {
    task.status = 'RUNNING';
    task.attempt = 1;
    task.startedAt = t.claim.startedAt;
    task.owner = t.claim.owner;
    task.leaseUntil = t.claim.leaseUntil;
  }
  return task;
}
