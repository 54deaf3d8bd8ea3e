/**
 * The tasks of ASYNC workflows, submission and running both (NL Flow's asynchronous task API,
 * plus flowd's explicit states, idempotency, long-poll and batch operations): submit, status
 * (one, many, by status), result, input, cancel/delete. Tasks are rows in the store; each
 * published ASYNC flow gets a lane here, its TaskRunner (claims and runs on this node) and its
 * Autoscaler. Whether a new task is stored RUNNING (started at once, no claim) or QUEUED (for
 * the claim loop of this node or any other) is decided in one place: `submitMany`.
 */
import type { Logger } from 'pino';
import { coerceError, conflict, notFound, stepFailure, timeoutError, validationError } from '../errors.js';
import { flowErrorOf } from './flow-failure.js';
import type { Store, TaskRecord, TaskStatus } from '../store/store.js';
import type { JsonValue } from '../util/json.js';
import { newId } from '../util/ids.js';
import { TurnBatch } from '../util/turn-batch.js';
import { Autoscaler } from './autoscaler.js';
import type { FlowError, FlowResult } from './flow-executor.js';
import type { AsyncStatusInput, PublishedFlow } from './published-flow.js';
import type { RuntimeCluster } from './runtime-cluster.js';
import type { RuntimeEvents } from './runtime-events.js';
import { TaskRunner } from './task-runner.js';
import type { TaskObserver } from './task-runner.js';

export const TERMINAL: ReadonlySet<TaskStatus> = new Set(['COMPLETED', 'ERROR', 'CANCELED']);

const EXPIRY_SWEEP_MS = 60_000;

export interface TaskQueueDeps {
  store: Store;
  logger: Logger;
  events: RuntimeEvents;
  /** Long-polls on other nodes hear of the tasks that end here, and the other way round. */
  cluster: Pick<RuntimeCluster, 'announceTasksDone' | 'onTasksDone'>;
  /** The lease owner: this process. */
  owner: string;
  leaseMs: number;
  /** Attempts a task gets when its runs end the instance or the node (then dead-lettered). */
  maxAttempts: number;
  ttlMs: number;
  /** How long a stopping flow waits for its running tasks. */
  shutdownGraceMs: number;
  /** How often tasks whose node stopped renewing their lease are put back in the queue. */
  requeueMs: number;
  /** How often a long-poll re-reads the task anyway (a wake-up from another node may be lost); default 1 s. */
  waitRecheckMs?: number;
  /** Metrics: task wait and run times. */
  observer?: TaskObserver;
}

/** A published flow as the queue sees it; runner and scaler for ASYNC flows only. */
interface Lane {
  flow: PublishedFlow;
  runner?: TaskRunner;
  scaler?: Autoscaler;
}

export class TaskQueue {
  readonly #deps: TaskQueueDeps;
  readonly #lanes = new Map<string, Lane>();
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Task ids that ended here in one turn: one announcement to the other nodes. */
  readonly #doneOutbox: TurnBatch<string>;
  readonly #offTasksDone: () => void;
  #sweep: NodeJS.Timeout | undefined;
  #requeue: NodeJS.Timeout | undefined;

  constructor(deps: TaskQueueDeps) {
    this.#deps = deps;
    this.#doneOutbox = new TurnBatch<string>((ids) => deps.cluster.announceTasksDone(ids));
    this.#offTasksDone = deps.cluster.onTasksDone((ids) => {
      for (const id of ids) this.wake(id);
    });
  }

  /**
   * A flow is up on this node (SYNC too: its tasks are refused as such). ASYNC: its runner
   * starts claiming, its autoscaler sizes its services from `base` (this node's placement share).
   */
  attach(flow: PublishedFlow, base: (blockId: string, replicas: number) => number): void {
    const workflowId = flow.workflowId;
    const lane: Lane = { flow };
    this.#lanes.set(workflowId, lane);
    if (flow.mode !== 'ASYNC') return;
    const runner = new TaskRunner(workflowId, {
      store: this.#deps.store,
      owner: this.#deps.owner,
      leaseMs: this.#deps.leaseMs,
      maxAttempts: this.#deps.maxAttempts,
      logger: this.#deps.logger,
      flow,
      onDone: (taskId) => this.#done(taskId),
      // Task counts are this node's own: local watchers only (the cluster hears of instance
      // changes, not of every claim and result batch).
      onChange: () => this.#deps.events.notify(workflowId),
      ...(this.#deps.observer ? { observer: this.#deps.observer } : {}),
    });
    lane.runner = runner;
    lane.scaler = new Autoscaler(flow, runner, flow.changed, base);
    lane.scaler.start();
    void runner.start().catch((e: unknown) => this.#deps.logger.error({ err: e, workflowId }, 'task runner failed to start'));
  }

  /** The flow's spec or this node's share of it changed. */
  reset(workflowId: string): void {
    this.#lanes.get(workflowId)?.scaler?.reset();
  }

  /** The flow stops here: no more claims; running tasks get the grace period. */
  async detach(workflowId: string): Promise<void> {
    const lane = this.#lanes.get(workflowId);
    if (!lane) return;
    this.#lanes.delete(workflowId);
    lane.scaler?.stop();
    await lane.runner?.stop(this.#deps.shutdownGraceMs);
  }

  /** Queue numbers for the status of an ASYNC flow. */
  asyncStatus(workflowId: string): AsyncStatusInput | undefined {
    const lane = this.#lanes.get(workflowId);
    if (!lane?.runner || !lane.scaler) return undefined;
    return { queued: lane.runner.queued, running: lane.runner.running, targets: lane.scaler.targets };
  }

  /**
   * At start: requeue what a dead process left RUNNING; then, every period, what a node stopped
   * renewing; and drop expired tasks.
   */
  async start(): Promise<void> {
    const requeued = await this.#deps.store.requeueOrphanedTasks(this.#deps.owner, Date.now());
    if (requeued > 0) this.#deps.logger.info({ requeued }, 'requeued tasks left running by a previous process');
    this.#requeue = setInterval(() => {
      this.#requeueOrphans().catch((e: unknown) =>
        this.#deps.logger.warn({ err: e }, 'requeueing orphaned tasks failed; retrying next period'),
      );
    }, this.#deps.requeueMs);
    this.#requeue.unref();
    this.#sweep = setInterval(() => {
      this.#deps.store.deleteExpiredTasks(Date.now()).catch((e: unknown) => this.#deps.logger.warn({ err: e }, 'task expiry sweep failed'));
    }, EXPIRY_SWEEP_MS);
    this.#sweep.unref();
  }

  async #requeueOrphans(): Promise<void> {
    const n = await this.#deps.store.requeueOrphanedTasks(this.#deps.owner, Date.now());
    if (n === 0) return;
    this.#deps.logger.warn({ requeued: n }, 'requeued tasks whose node stopped renewing their lease');
    for (const lane of this.#lanes.values()) lane.runner?.kick();
  }

  /** Stops the background loops (the lanes stop with their flows). */
  close(): void {
    clearInterval(this.#requeue);
    clearInterval(this.#sweep);
    this.#offTasksDone();
  }

  #async(workflowId: string): { runner: TaskRunner; scaler?: Autoscaler } {
    const lane = this.#lanes.get(workflowId);
    if (!lane) throw notFound(`Workflow ${workflowId} is not published`, { code: 'runtime.not_published' });
    if (!lane.runner) {
      throw validationError(
        `Workflow ${workflowId} is published in SYNC mode: use POST action/analyze, or republish it with flow.mode: ASYNC to use tasks.`,
        {
          code: 'runtime.not_async',
        },
      );
    }
    return { runner: lane.runner, ...(lane.scaler ? { scaler: lane.scaler } : {}) };
  }

  async submit(
    workflowId: string,
    input: JsonValue,
    opts: { idempotencyKey?: string; correlationId?: string },
  ): Promise<{ task: TaskRecord; created: boolean }> {
    const item = { input, ...(opts.idempotencyKey !== undefined ? { idempotencyKey: opts.idempotencyKey } : {}) };
    const [res] = await this.submitMany(workflowId, [item], opts.correlationId !== undefined ? { correlationId: opts.correlationId } : {});
    if (!res) throw new Error('submitMany returned no task');
    return res;
  }

  /**
   * Submits many tasks at once (in order): every create is issued in the same event-loop turn,
   * so the store groups them into one multi-row insert; the autoscaler is woken and the runner
   * told once. An item with an idempotency key already used returns that task (created=false).
   * If a create fails, the ones that went in are still announced to the runner, then the first
   * error is thrown.
   */
  async submitMany(
    workflowId: string,
    items: ReadonlyArray<{ input: JsonValue; idempotencyKey?: string }>,
    opts: { correlationId?: string },
  ): Promise<Array<{ task: TaskRecord; created: boolean }>> {
    const { runner, scaler } = this.#async(workflowId);
    // Serialized before any runner slot is reserved: a throw here must not leak reservations.
    const inputs = items.map((item, i) => serializeTaskInput(item.input, i));
    const now = Date.now();
    // The one decision: tasks the runner has room for right now go in RUNNING under this
    // process's lease and start as soon as they are stored; the rest go in QUEUED for the claim
    // loop (of this node or any other).
    const direct = Math.min(items.length, runner.room);
    runner.hold(direct);
    const claim = { owner: this.#deps.owner, startedAt: now, leaseUntil: now + this.#deps.leaseMs };
    const settled = await Promise.allSettled(
      items.map((item, i) =>
        this.#deps.store.createTask({
          taskId: newId(),
          workflowId,
          input: inputs[i] as string,
          ...(item.idempotencyKey !== undefined ? { idempotencyKey: item.idempotencyKey } : {}),
          ...(opts.correlationId !== undefined ? { correlationId: opts.correlationId } : {}),
          createdAt: now,
          expiresAt: now + this.#deps.ttlMs,
          ...(i < direct ? { claim } : {}),
        }),
      ),
    );
    const results: Array<{ task: TaskRecord; created: boolean }> = [];
    let failure: { reason: unknown } | undefined;
    let queued = 0;
    let unused = 0;
    for (const [i, s] of settled.entries()) {
      const claimed = i < direct;
      if (s.status === 'rejected') {
        failure ??= { reason: s.reason };
        if (claimed) unused++;
        continue;
      }
      results.push(s.value);
      if (!s.value.created) {
        if (claimed) unused++;
      } else if (claimed) runner.startClaimed(s.value.task, items[i]?.input ?? null);
      else queued++;
    }
    if (unused > 0) runner.release(unused);
    if (queued > 0 || direct > unused) scaler?.wake();
    if (queued > 0) runner.submitted(queued);
    if (failure) throw failure.reason;
    return results;
  }

  async get(workflowId: string, taskId: string, opts?: { input?: boolean; output?: boolean }): Promise<TaskRecord> {
    const t = await this.#deps.store.getTask(workflowId, taskId, opts);
    if (!t)
      throw notFound(`Task ${taskId} not found in workflow ${workflowId} (it may have expired or been deleted)`, {
        code: 'task.not_found',
      });
    return t;
  }

  /**
   * Long-poll: resolves when the task is terminal or `waitMs` passed. The waiter is registered
   * before each read, so a wake-up that arrives while the read is in flight (the read saw the
   * task running, the end was committed and announced meanwhile) re-reads at once instead of
   * being lost until the next re-check.
   */
  async wait(workflowId: string, taskId: string, waitMs: number, signal?: AbortSignal): Promise<TaskRecord> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      let woken = false;
      let resume: (() => void) | undefined;
      const wake = (): void => {
        woken = true;
        resume?.();
      };
      const set = this.#waiters.get(taskId) ?? new Set<() => void>();
      this.#waiters.set(taskId, set);
      set.add(wake);
      let timer: NodeJS.Timeout | undefined;
      try {
        const t = await this.get(workflowId, taskId);
        const left = deadline - Date.now();
        if (TERMINAL.has(t.status) || left <= 0 || signal?.aborted) return t;
        if (woken) continue;
        await new Promise<void>((resolve) => {
          resume = resolve;
          // Re-check now and then: another node's wake-up (cluster) may have been lost.
          timer = setTimeout(resolve, Math.min(left, this.#deps.waitRecheckMs ?? 1000));
          signal?.addEventListener('abort', wake, { once: true });
        });
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        set.delete(wake);
        if (set.size === 0 && this.#waiters.get(taskId) === set) this.#waiters.delete(taskId);
      }
    }
  }

  /** A task of this node reached a terminal state: wake its long-polls here and on the other nodes. */
  #done(taskId: string): void {
    this.wake(taskId);
    this.#doneOutbox.add(taskId);
  }

  /** Wakes this node's long-polls of a task (they re-read it): it ended here or on another node. */
  wake(taskId: string): void {
    const set = this.#waiters.get(taskId);
    if (!set) return;
    for (const fn of [...set]) fn();
  }

  async result(workflowId: string, taskId: string): Promise<{ task: TaskRecord; output: JsonValue }> {
    const t = await this.get(workflowId, taskId, { output: true });
    if (t.status === 'CANCELED') throw conflict(`Task ${taskId} was canceled: it has no result`, { code: 'task.canceled' });
    if (!TERMINAL.has(t.status) || t.output === undefined) {
      throw conflict(`Task ${taskId} is ${t.status}: its result is not ready (poll GET task/${taskId}?wait=30s)`, {
        code: 'task.not_finished',
        retryable: true,
      });
    }
    return { task: t, output: JSON.parse(t.output) as JsonValue };
  }

  async input(workflowId: string, taskId: string): Promise<JsonValue> {
    const t = await this.get(workflowId, taskId, { input: true });
    return JSON.parse(t.input ?? 'null') as JsonValue;
  }

  statusMany(workflowId: string, taskIds: string[]): Promise<TaskRecord[]> {
    return this.#deps.store.getTasks(workflowId, taskIds);
  }

  list(
    workflowId: string,
    opts: { statuses?: TaskStatus[]; limit: number; after?: string },
  ): Promise<{ tasks: TaskRecord[]; next?: string }> {
    return this.#deps.store.listTasks(workflowId, opts);
  }

  /** DELETE task/{id}: a queued or running task is canceled (running work is aborted), then its traces removed. */
  async delete(workflowId: string, taskId: string): Promise<TaskRecord> {
    const t = await this.get(workflowId, taskId);
    if (!TERMINAL.has(t.status)) {
      await this.#deps.store.cancelTask(workflowId, taskId, Date.now());
      this.#lanes.get(workflowId)?.runner?.cancel(taskId);
      this.#done(taskId);
    }
    await this.#deps.store.deleteTask(workflowId, taskId);
    return { ...t, status: TERMINAL.has(t.status) ? t.status : 'CANCELED' };
  }

  /** DELETE task?status=…: removes (and cancels, for QUEUED/RUNNING) every task in those states; no states = all. */
  async deleteMany(workflowId: string, statuses: TaskStatus[] | undefined): Promise<number> {
    const wantsLive = statuses === undefined || statuses.includes('RUNNING') || statuses.includes('QUEUED');
    if (wantsLive) {
      const live: TaskStatus[] = statuses === undefined ? ['QUEUED', 'RUNNING'] : statuses.filter((s) => s === 'QUEUED' || s === 'RUNNING');
      let after: string | undefined;
      do {
        const page = await this.#deps.store.listTasks(workflowId, {
          statuses: live,
          limit: 500,
          ...(after !== undefined ? { after } : {}),
        });
        for (const t of page.tasks) {
          await this.#deps.store.cancelTask(workflowId, t.taskId, Date.now());
          this.#lanes.get(workflowId)?.runner?.cancel(t.taskId);
          this.#done(t.taskId);
        }
        after = page.next;
      } while (after !== undefined);
    }
    const expanded =
      statuses === undefined ? undefined : [...new Set<TaskStatus>([...statuses, ...(wantsLive ? (['CANCELED'] as TaskStatus[]) : [])])];
    return this.#deps.store.deleteTasks(workflowId, expanded ? { statuses: expanded } : {});
  }

  /** NL Flow's all-in-one mode, server-side: submit, wait, read, delete. */
  async runAllInOne(
    workflowId: string,
    input: JsonValue,
    opts: { correlationId?: string; signal?: AbortSignal; timeoutMs: number },
  ): Promise<FlowResult> {
    const { task } = await this.submit(workflowId, input, opts.correlationId !== undefined ? { correlationId: opts.correlationId } : {});
    const t = await this.wait(workflowId, task.taskId, opts.timeoutMs, opts.signal);
    if (!TERMINAL.has(t.status)) {
      await this.delete(workflowId, task.taskId);
      const late = timeoutError(`The task did not finish within ${opts.timeoutMs} ms`, { code: 'task.timeout', node: '$executor' });
      return { ok: false, status: late.status, errors: [flowErrorOf(late)] };
    }
    const full = await this.get(workflowId, task.taskId, { output: true });
    await this.#deps.store.deleteTask(workflowId, task.taskId);
    const out = JSON.parse(full.output ?? 'null') as JsonValue;
    if (full.status === 'COMPLETED') return { ok: true, output: out };
    const errors = (out as { errors?: FlowError[] } | null)?.errors ?? [
      flowErrorOf(stepFailure(`task ended ${full.status}`, { code: 'task.failed', node: '$executor' })),
    ];
    return { ok: false, status: 422, errors };
  }
}

/** A task input as stored; one that cannot be serialized is the caller's error, not ours. */
function serializeTaskInput(input: JsonValue, index: number): string {
  try {
    return JSON.stringify(input);
  } catch (e) {
    throw validationError(`Task input ${index} cannot be stored as JSON: ${coerceError(e).message}`, { code: 'task.invalid_input' });
  }
}
