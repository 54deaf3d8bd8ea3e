/**
 * Runs the durable tasks of one ASYNC workflow on this node: claims QUEUED rows in batches
 * (leased to this node), runs each through the flow, and records results in batched
 * transactions. A task completes exactly once: `completeTasks` only changes rows this node
 * still owns while RUNNING, so a cancel, a lease lost to another node or a replay after a
 * crash cannot record a second result. Work left RUNNING by a dead process is requeued at
 * start (leases), and the claim loop also polls so nothing queued is forgotten.
 *
 * No poison work: every claim counts an attempt, durably, before the task runs. A task whose
 * run ends its instance (crash, memory, hang) is requeued and retried; one whose attempts all
 * ended the instance or the node (a kill, a crash, a lost lease) is dead-lettered: the claim
 * that would start it for the `maxAttempts + 1`-th time ends it ERROR instead
 * (`task.dead_lettered`), so no input can crash a node over and over across restarts.
 */
import type { Logger } from 'pino';
import type { Store, TaskDeadLetter, TaskRecord } from '../store/store.js';
import type { JsonValue } from '../util/json.js';
import { TurnBatch } from '../util/turn-batch.js';
import { internalError, stepFailure } from '../errors.js';
import { flowErrorOf } from './flow-failure.js';
import type { FlowError } from './flow-failure.js';
import type { PublishedFlow } from './published-flow.js';

const CLAIM_BATCH = 256;
const FLUSH_BATCH = 512;
const POLL_MS = 1000;
const FLUSH_RETRY_MS = 250;
/** Finished results not yet recorded past which claiming pauses (the store is behind or down). */
const MAX_UNRECORDED = 2048;

/** Metrics hooks: how long a task waited to be claimed, and how long its flow ran. */
export interface TaskObserver {
  taskStarted(waitSeconds: number): void;
  /** Not called for a canceled task (its result is not recorded). */
  taskFinished(runSeconds: number, status: 'COMPLETED' | 'ERROR'): void;
}

export interface TaskRunnerDeps {
  store: Store;
  owner: string;
  leaseMs: number;
  /** Attempts a task gets when its runs end the instance or the node; then it is dead-lettered. */
  maxAttempts: number;
  logger: Logger;
  /** The flow the tasks run through (republished in place, so one object for the runner's life). */
  flow: PublishedFlow;
  /** A task reached a terminal state (for long-polls and all-in-one analyze). */
  onDone: (taskId: string) => void;
  /** Task counts changed (claims, results). */
  onChange: () => void;
  observer?: TaskObserver;
}

interface Done {
  taskId: string;
  owner: string;
  status: 'COMPLETED' | 'ERROR';
  output: string;
  finishedAt: number;
}

/** How a run ended: a result to record, or (`RETRY`) back to the queue: the run ended its instance. */
type Outcome = { status: Done['status'] | 'RETRY'; output: string };

/**
 * Codes of a run that ended the instance it ran on (or one its chain went through): the input
 * may be what kills it, or it was a bystander; either way it is retried, and counted.
 */
const INSTANCE_LOST: ReadonlySet<string> = new Set(['instance.crashed', 'instance.out_of_memory', 'instance.hung', 'instance.link_lost']);

const instanceLost = (errors: readonly FlowError[]): boolean => errors.length > 0 && errors.every((e) => INSTANCE_LOST.has(e.code));

/** The error a dead-lettered task ends with (its output's first error). */
export function deadLetterError(attempts: number): FlowError {
  return flowErrorOf(
    stepFailure(
      `The task was attempted ${attempts} time${attempts === 1 ? '' : 's'} and each attempt ended the instance or the node running it; ` +
        'it was dead-lettered. Fix the input or the block and submit again.',
      { code: 'task.dead_lettered', node: '$executor' },
    ),
  );
}

/** A stored input that is not JSON (it never should be) runs as null rather than failing the runner. */
function parseInput(text: string | undefined): JsonValue {
  try {
    return JSON.parse(text ?? 'null') as JsonValue;
  } catch {
    return null;
  }
}

export class TaskRunner {
  readonly #workflowId: string;
  readonly #deps: TaskRunnerDeps;
  readonly #running = new Map<string, AbortController>();
  #concurrency = 1;
  /** Slots promised to tasks being inserted already claimed (see `reserve`). */
  #reserved = 0;
  #queued = 0;
  #claiming = false;
  /** Claims once per turn however many submissions, results or freed slots ask for one. */
  readonly #kicks = new TurnBatch<null>(() => void this.#claim());
  #pending: Done[] = [];
  /** Tasks to put back in the queue (recorded with the next batch of results). */
  #retries: string[] = [];
  /** Results finished in one turn are recorded in one transaction. */
  readonly #flushes = new TurnBatch<null>(() => void this.#flush());
  #flushing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** What a claim does with a task past its attempts (one text for all: built once). */
  readonly #deadLetter: TaskDeadLetter;

  constructor(workflowId: string, deps: TaskRunnerDeps) {
    this.#workflowId = workflowId;
    this.#deps = deps;
    this.#deadLetter = { maxAttempts: deps.maxAttempts, output: JSON.stringify({ errors: [deadLetterError(deps.maxAttempts)] }) };
  }

  get running(): number {
    return this.#running.size;
  }

  /** Tasks waiting to be claimed (exact after each poll, maintained in between). */
  get queued(): number {
    return this.#queued;
  }

  setConcurrency(n: number): void {
    this.#concurrency = Math.max(1, n);
    this.kick();
  }

  async start(): Promise<void> {
    this.#queued = await this.#deps.store.countQueuedTasks(this.#workflowId);
    const tick = (): void => {
      if (this.#stopped) return;
      void this.#poll().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, POLL_MS);
      });
    };
    this.#timer = setTimeout(tick, POLL_MS);
    this.kick();
  }

  /** `n` tasks were submitted (or capacity freed): claim soon, once per tick however many arrive. */
  submitted(n = 1): void {
    this.#queued += n;
    this.kick();
  }

  kick(): void {
    if (!this.#stopped) this.#kicks.add(null);
  }

  /**
   * Tasks this runner could start the moment they are stored, with no claim: none while
   * anything waits in the queue ahead of them (first in, first out, as far as this node
   * knows), while results pile up unrecorded, or once stopped. The TaskQueue decides.
   */
  get room(): number {
    if (this.#stopped || this.#queued > 0 || this.#pending.length >= MAX_UNRECORDED) return 0;
    return Math.max(0, this.#concurrency - this.#running.size - this.#reserved);
  }

  /** Holds `n` slots for tasks being stored RUNNING; each goes back by `startClaimed` or `release`. */
  hold(n: number): void {
    this.#reserved += n;
  }

  /** A held task is in the store, RUNNING and ours: run it. */
  startClaimed(t: TaskRecord, input: JsonValue): void {
    this.#reserved = Math.max(0, this.#reserved - 1);
    this.#run(t, input);
  }

  /** Reserved slots not used (the insert failed, or found an idempotent twin). */
  release(n: number): void {
    this.#reserved = Math.max(0, this.#reserved - n);
    this.kick();
  }

  /** Aborts a running task (its result is then not recorded: the row is already CANCELED). */
  cancel(taskId: string): boolean {
    const ac = this.#running.get(taskId);
    if (!ac) return false;
    ac.abort(new Error('task canceled'));
    return true;
  }

  async #poll(): Promise<void> {
    try {
      const now = Date.now();
      await this.#deps.store.renewTaskLeases(this.#workflowId, this.#deps.owner, now, this.#deps.leaseMs);
      this.#queued = await this.#deps.store.countQueuedTasks(this.#workflowId);
      if (this.#queued > 0) this.kick();
    } catch (e) {
      this.#deps.logger.warn({ err: e, workflowId: this.#workflowId }, 'task poll failed');
    }
  }

  async #claim(): Promise<void> {
    if (this.#claiming || this.#stopped) return;
    this.#claiming = true;
    try {
      for (;;) {
        const free = this.#concurrency - this.#running.size - this.#reserved;
        if (free <= 0 || this.#stopped || this.#pending.length >= MAX_UNRECORDED) break;
        const tasks = await this.#deps.store.claimTasks(
          this.#workflowId,
          this.#deps.owner,
          Math.min(free, CLAIM_BATCH),
          Date.now(),
          this.#deps.leaseMs,
          this.#deadLetter,
        );
        this.#queued = Math.max(0, this.#queued - tasks.length);
        for (const t of tasks) {
          if (t.status === 'RUNNING') this.#run(t);
          else this.#deadLettered(t);
        }
        if (tasks.length > 0) this.#deps.onChange();
        if (tasks.length < Math.min(free, CLAIM_BATCH)) {
          if (tasks.length === 0) this.#queued = 0;
          break;
        }
      }
    } catch (e) {
      this.#deps.logger.error({ err: e, workflowId: this.#workflowId }, 'claiming tasks failed');
    } finally {
      this.#claiming = false;
    }
  }

  /** The claim ended it instead of running it: its earlier attempts all ended without a result. */
  #deadLettered(t: TaskRecord): void {
    this.#deps.logger.warn(
      { workflowId: this.#workflowId, taskId: t.taskId, attempts: t.attempt, code: 'task.dead_lettered' },
      'task dead-lettered: each of its attempts ended the instance or the node running it',
    );
    this.#deps.onDone(t.taskId);
  }

  /** How a finished run is recorded: a run that ended its instance is retried while attempts are left. */
  #outcome(t: TaskRecord, errors: FlowError[]): Outcome {
    if (!instanceLost(errors)) return { status: 'ERROR', output: JSON.stringify({ errors }) };
    if (t.attempt < this.#deps.maxAttempts) {
      this.#deps.logger.warn(
        { workflowId: this.#workflowId, taskId: t.taskId, attempt: t.attempt, errors },
        'task run ended its instance; retrying it',
      );
      return { status: 'RETRY', output: '' };
    }
    this.#deps.logger.warn(
      { workflowId: this.#workflowId, taskId: t.taskId, attempts: t.attempt, errors, code: 'task.dead_lettered' },
      'task dead-lettered: each of its attempts ended the instance running it',
    );
    return { status: 'ERROR', output: JSON.stringify({ errors: [deadLetterError(t.attempt), ...errors] }) };
  }

  #run(t: TaskRecord & { input?: string }, parsed?: JsonValue): void {
    const ac = new AbortController();
    this.#running.set(t.taskId, ac);
    const t0 = performance.now();
    // startedAt is the claim time the store recorded; a requeued task counts from its creation.
    this.#deps.observer?.taskStarted(Math.max(0, ((t.startedAt ?? Date.now()) - t.createdAt) / 1000));
    const input = parsed !== undefined ? parsed : parseInput(t.input);
    this.#deps.flow
      .execute(input, { signal: ac.signal, ...(t.correlationId !== undefined ? { correlationId: t.correlationId } : {}) })
      .then(
        (r): Outcome => (r.ok ? { status: 'COMPLETED', output: JSON.stringify(r.output) } : this.#outcome(t, r.errors)),
        (e: unknown): Outcome => ({
          status: 'ERROR' as const,
          output: JSON.stringify({
            errors: [
              flowErrorOf(
                internalError(e instanceof Error ? e.message : String(e), { code: 'task.failed', node: '$executor', retryable: true }),
              ),
            ],
          }),
        }),
      )
      .then((res) => {
        this.#running.delete(t.taskId);
        if (ac.signal.aborted) {
          // Canceled: the row is CANCELED already; tell waiters, record nothing.
          this.#deps.onDone(t.taskId);
        } else if (res.status === 'RETRY') {
          this.#retries.push(t.taskId);
          this.#scheduleFlush();
        } else {
          this.#deps.observer?.taskFinished((performance.now() - t0) / 1000, res.status);
          this.#pending.push({ taskId: t.taskId, owner: this.#deps.owner, status: res.status, output: res.output, finishedAt: Date.now() });
          this.#scheduleFlush();
        }
        this.kick();
      })
      .catch((e: unknown) => this.#deps.logger.error({ err: e }, 'task bookkeeping failed'));
  }

  #scheduleFlush(): void {
    if (this.#pending.length >= FLUSH_BATCH) void this.#flush();
    else this.#flushes.add(null);
  }

  /** One transaction per batch of results; serialized so batches commit in order. */
  #flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.length === 0 && this.#retries.length === 0) return;
      // At most FLUSH_BATCH a transaction (short row locks); the rest goes in the next one.
      const batch = this.#pending.slice(0, FLUSH_BATCH);
      this.#pending = this.#pending.slice(FLUSH_BATCH);
      if (this.#pending.length > 0) this.#scheduleFlush();
      const retries = this.#retries;
      this.#retries = [];
      try {
        const done = batch.length > 0 ? await this.#deps.store.completeTasks(batch) : [];
        // Back in the queue, their attempt counted: the next claim runs them again or dead-letters them.
        const requeued = retries.length > 0 ? await this.#deps.store.requeueTasks(this.#deps.owner, retries) : [];
        for (const id of done) this.#deps.onDone(id);
        const doneSet = new Set(done);
        // Not recorded (canceled meanwhile, lease lost): still wake whoever waits on them.
        for (const d of batch) if (!doneSet.has(d.taskId)) this.#deps.onDone(d.taskId);
        if (requeued.length < retries.length) {
          const back = new Set(requeued);
          for (const id of retries) if (!back.has(id)) this.#deps.onDone(id);
        }
        this.#queued += requeued.length;
        this.#deps.onChange();
        this.kick(); // claiming may have paused on unrecorded results
      } catch (e) {
        // Not recorded (the store failed, e.g. a lost connection): keep the results and try
        // again shortly. The tasks stay RUNNING under this node's lease meanwhile, so nobody
        // else runs them; if this process dies first, the lease expires and they run again
        // (at-least-once execution, exactly-once completion).
        this.#pending = batch.concat(this.#pending);
        this.#retries = retries.concat(this.#retries);
        this.#deps.logger.warn({ err: e, workflowId: this.#workflowId, tasks: batch.length }, 'recording task results failed; retrying');
        if (!this.#stopped) {
          const retry = setTimeout(() => void this.#flush(), FLUSH_RETRY_MS);
          retry.unref();
        }
      }
    });
    return this.#flushing;
  }

  /** Stops claiming; waits up to `graceMs` for running tasks, then records what finished. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    const deadline = Date.now() + graceMs;
    while (this.#running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const ac of this.#running.values()) ac.abort(new Error('runtime stopping'));
    await this.#flush();
  }
}
