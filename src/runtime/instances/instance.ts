/**
 * One service instance = one worker thread running one loaded block. The instance is Ready
 * only once the block's `load` resolved in the worker (a compiled script, a loaded model),
 * never merely because the thread started. It owns the failure detection for its thread:
 * a crash (worker `error`/`exit`, out of memory included) or a hang (silence past the
 * block's timeout while busy, or missed heartbeats while idle) ends the thread and fails the
 * requests it held with a retryable error, so callers can go to another instance.
 *
 * The silence watchdog is also how a block's timeout is enforced for synchronous code (the
 * worker tells blocks `hostEnforcesTimeout`, so the js sandbox skips its per-run vm timer):
 * a worker answers in order, so the run in progress started when the worker last spoke or
 * when the oldest unanswered request was sent, whichever is later. When that is longer ago
 * than the timeout plus a grace, the oldest request failed with `block.timeout` and the
 * thread is replaced. Silence only counts while this thread could listen: when its own event
 * loop was blocked (a tick comes late), the time it was deaf is nobody's silence.
 *
 * Messages cross the boundary guarded (message-batcher.ts, message-limits.ts): an input that
 * cannot be posted fails its request, a block output the worker cannot post fails its request
 * there. A message a receiving thread cannot read (`messageerror`) is lost without saying
 * which requests it carried; the parent then probes them along their path (`probe` → `gone`),
 * and probes any request that outlived the block timeout, so none waits forever.
 *
 *   Starting → Ready → (Draining) → Stopped
 *        ↘        ↘          ↘
 *                  Failed
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import type { BlockLimits } from '../../blocks/block.js';
import { FlowdError, stepFailure } from '../../errors.js';
import type { SerializedError } from '../../errors.js';
import type { JsonObject, JsonValue } from '../../util/json.js';
import type { BatchMessage, FromWorker, InstanceLoadData, RunMessage, ToWorker } from './instance-protocol.js';
import { MessageBatcher, unbatch } from './message-batcher.js';
import { lostMessage, reasonOf, uncloneableInput } from './message-limits.js';
import {
  arrayBufferFailure,
  blockTimeoutError,
  exitFailure,
  failureError,
  hungFailure,
  loadTimeoutFailure,
  notReadyError,
  stoppedError,
} from './instance-failures.js';
import type { FailingInstance, InstanceFailure } from './instance-failures.js';
import { instanceWorkerScript } from './worker-script.js';

export type InstanceState = 'Starting' | 'Ready' | 'Draining' | 'Stopped' | 'Failed';

export type { FailureReason, InstanceFailure } from './instance-failures.js';

/** What the worker loads. */
export interface InstanceBlock {
  blockId: string;
  blockType: string;
  config: JsonObject;
  prepared: JsonObject;
  limits: BlockLimits;
}

export interface InstanceOptions {
  name: string;
  version: number;
  /** Restarts of the slot this instance fills (reported, not used). */
  restarts?: number;
  /** Ping period; an idle worker that misses 3 pings in a row is hung. Default 1000. */
  heartbeatMs?: number;
  /** Slack past the block timeout before a busy, silent worker counts as hung. Default 1000. */
  hangGraceMs?: number;
  /** A load that takes longer fails. Default 120 000. */
  loadTimeoutMs?: number;
  /** How long a graceful close may take before the thread is ended. Default 5000. */
  closeTimeoutMs?: number;
  /** Called on every state change. */
  onStateChange?: (instance: Instance) => void;
}

export interface InstanceRunContext {
  signal?: AbortSignal;
  correlationId?: string;
}

interface PendingRequest {
  resolve: (v: JsonValue) => void;
  reject: (e: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  sentAt: number;
  /** When it was last probed (0: never), see `probe`. */
  probedAt: number;
  /** Every instance the request passes through (more than one for a chain); any of them may answer or fail it. */
  members: readonly Instance[];
}

/** Request ids are unique across instances: a chain's request is answered by its last instance. */
let nextRequestId = 1;

const MISSED_HEARTBEATS = 3;
/** A request without a block timeout is probed (is it still somewhere?) when it is older than this. */
const PROBE_UNTIMED_MS = 10_000;
/**
 * Room for short-lived objects in each instance's heap (V8's young generation: two semi-spaces
 * and a large-object space; 96 MB = 32 MB semi-spaces, twice the default). A request leaves
 * only garbage behind, so fewer, larger scavenges cost less server CPU per request (compare
 * A/B with bench/runtime-sync.ts). An upper bound, committed only as the heap grows.
 */
const YOUNG_GENERATION_MB = 96;
/** Monotonic milliseconds: wall-clock jumps must not look like silence. */
const now = (): number => performance.now();

export class Instance {
  readonly name: string;
  readonly version: number;
  readonly restarts: number;
  readonly startedAt: Date;
  readonly block: InstanceBlock;
  /** What failure messages name. */
  readonly #about: FailingInstance;

  #state: InstanceState = 'Starting';
  #loaded = false;
  #failure: InstanceFailure | undefined;
  readonly #worker: Worker;
  /** Everything but port transfers goes to the worker through here (one postMessage per turn). */
  readonly #outbox: MessageBatcher<ToWorker>;
  readonly #pending = new Map<number, PendingRequest>();
  /** Links to the workers of next-block instances (chains), and the instances linked to this one. */
  readonly #linksOut = new Map<Instance, number>();
  readonly #linksIn = new Set<Instance>();
  #nextLink = 1;
  #pingSeq = 0;
  #lastHeardAt: number;
  #lastPingAt: number;
  #lastTickAt: number;
  readonly #tickMs: number;
  #startedAtMono: number;
  /** When the worker said a load bounded by the block timeout began (see LoadingMessage). */
  #loadingAt: number | undefined;
  /** Why the last message to or from this worker could not be read (for the requests it lost). */
  #lostReason: string | undefined;
  /** Consecutive ticks that found the worker silent too long (two are needed to act). */
  #strikes = 0;
  #workerError: Error | undefined;
  readonly #heartbeat: NodeJS.Timeout;
  #closeTimer: NodeJS.Timeout | undefined;
  #closeRequested = false;
  readonly #heartbeatMs: number;
  readonly #hangGraceMs: number;
  readonly #loadTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #onStateChange: ((i: Instance) => void) | undefined;
  readonly #exited: Promise<void>;
  #readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(block: InstanceBlock, opts: InstanceOptions) {
    this.block = block;
    this.name = opts.name;
    this.version = opts.version;
    this.restarts = opts.restarts ?? 0;
    this.#heartbeatMs = opts.heartbeatMs ?? 1000;
    this.#hangGraceMs = opts.hangGraceMs ?? 1000;
    this.#loadTimeoutMs = opts.loadTimeoutMs ?? 120_000;
    this.#closeTimeoutMs = opts.closeTimeoutMs ?? 5000;
    this.#onStateChange = opts.onStateChange;
    this.startedAt = new Date();
    this.#about = { name: this.name, blockId: block.blockId, timeoutMs: block.limits.timeoutMs, memoryMb: block.limits.memoryMb };
    this.#startedAtMono = this.#lastHeardAt = this.#lastPingAt = this.#lastTickAt = now();

    const script = instanceWorkerScript();
    const workerData: InstanceLoadData = { type: 'load', ...block };
    const timeoutMs = block.limits.timeoutMs;
    const memoryMb = block.limits.memoryMb;
    this.#worker = new Worker(script.filename, {
      eval: script.eval,
      workerData,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB, ...(memoryMb ? { maxOldGenerationSizeMb: memoryMb } : {}) },
    });
    this.#outbox = new MessageBatcher<ToWorker>(this.#worker, (m, e) => this.#undeliverable(m, e));
    const onMessage = (m: FromWorker): void => this.#onMessage(m);
    this.#worker.on('message', (m: FromWorker | BatchMessage<FromWorker>) => unbatch(m, onMessage));
    this.#worker.on('messageerror', (e: unknown) => this.#lost(reasonOf(e)));
    this.#worker.on('error', (e: Error) => {
      this.#workerError = e;
    });
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code: number) => {
        this.#onExit(code);
        resolve();
      });
    });
    // Check often enough to catch a run past its timeout promptly; ping every heartbeatMs.
    this.#tickMs =
      timeoutMs > 0 ? Math.min(this.#heartbeatMs, Math.max(10, Math.ceil((timeoutMs + this.#hangGraceMs) / 4))) : this.#heartbeatMs;
    this.#heartbeat = setInterval(() => this.#tick(), this.#tickMs);
    this.#heartbeat.unref();
  }

  get state(): InstanceState {
    return this.#state;
  }
  get inFlight(): number {
    return this.#pending.size;
  }
  /** Why the instance failed, once it has. */
  get failure(): InstanceFailure | undefined {
    return this.#failure;
  }
  /** Ready and accepting requests. */
  get ready(): boolean {
    return this.#state === 'Ready';
  }
  /** The block loaded at some point (a failure after that is not a load failure). */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Resolves once the block loaded; rejects with the load (or crash) error otherwise. */
  waitReady(): Promise<void> {
    if (this.#state === 'Ready') return Promise.resolve();
    if (this.#state !== 'Starting') return Promise.reject(this.#notReadyError());
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** Run one input on this instance. Rejects with the block's error, or a retryable one if the instance dies. */
  run(input: JsonValue, ctx: InstanceRunContext = {}): Promise<JsonValue> {
    return this.runThrough([], input, ctx);
  }

  /**
   * Run `input` here, then hand the output to each of `next` in turn, worker to worker (a chain
   * of blocks, each with one upstream); resolves with the last output. The parent sends one
   * message and gets one back, however long the chain. A failure anywhere rejects with that
   * block's error; any instance of the chain ending fails the request (retryable).
   */
  runThrough(next: readonly Instance[], input: JsonValue, ctx: InstanceRunContext = {}): Promise<JsonValue> {
    const members = next.length === 0 ? [this] : [this, ...next];
    for (const m of members) if (m.#state !== 'Ready') return Promise.reject(m.#notReadyError());
    const signal = ctx.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const links = next.map((to, k) => (members[k] as Instance).#linkTo(to));
    const id = nextRequestId++;
    return new Promise<JsonValue>((resolve, reject) => {
      const req: PendingRequest = { resolve, reject, signal, onAbort: undefined, sentAt: now(), probedAt: 0, members };
      if (signal) {
        req.onAbort = () => {
          if (this.#pending.get(id) !== req) return;
          Instance.#forget(id, req);
          for (const m of members) m.#post({ type: 'cancel', id });
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', req.onAbort, { once: true });
      }
      for (const m of members) m.#pending.set(id, req);
      const msg: RunMessage = { type: 'run', id, input };
      if (links.length > 0) msg.next = links;
      if (ctx.correlationId !== undefined) msg.correlationId = ctx.correlationId;
      this.#post(msg);
    });
  }

  /** Stop taking requests, let the ones in flight finish, then close the block and end the thread. */
  drain(): Promise<void> {
    if (this.#state === 'Starting') return this.terminate();
    if (this.#state === 'Ready') {
      this.#setState('Draining');
      if (this.#pending.size === 0) this.#requestClose();
    }
    return this.#exited;
  }

  /** End the thread now; requests in flight fail with a retryable error. */
  async terminate(): Promise<void> {
    if (this.#state !== 'Stopped' && this.#state !== 'Failed') {
      this.#closeRequested = true;
      this.#failPending(stoppedError(this.#about));
      this.#rejectReadyWaiters(stoppedError(this.#about));
      this.#setState('Stopped');
    }
    await this.#worker.terminate();
    await this.#exited;
  }

  // ---- internals ----

  #post(m: ToWorker): void {
    this.#outbox.send(m);
  }

  /** A message the outbox could not post: a run fails (its input cannot be cloned); the others are tiny and never fail. */
  #undeliverable(m: ToWorker, e: unknown): undefined {
    if (m.type === 'run') this.#take(m.id)?.reject(uncloneableInput(this.block.blockId, e));
    return undefined;
  }

  /** A message to or from this worker could not be read: find out which requests it carried. */
  #lost(reason: string): void {
    this.#lostReason = reason;
    for (const [id, req] of this.#pending) Instance.#probe(id, req);
  }

  /** Asks the request's path whether it is still held somewhere (see ProbeMessage); `gone` if not. */
  static #probe(id: number, req: PendingRequest): void {
    req.probedAt = now();
    const members = req.members;
    const first = members[0] as Instance;
    if (members.length === 1) return first.#post({ type: 'probe', id });
    const next: number[] = [];
    for (let k = 1; k < members.length; k++) {
      const link = (members[k - 1] as Instance).#linksOut.get(members[k] as Instance);
      if (link === undefined) return; // an instance of the chain ended: the request has failed already
      next.push(link);
    }
    first.#post({ type: 'probe', id, next });
  }

  /** Request `id` is nowhere on its path: a message carrying it (an answer, or the run itself) was lost. */
  #gone(id: number): void {
    // Another member's error for it may still be in that member's port (ports are not ordered
    // with each other): look once the messages already here are read.
    setImmediate(() => {
      const req = this.#pending.get(id);
      if (!req) return;
      const reason = req.members.map((m) => m.#lostReason).find((r) => r !== undefined);
      this.#take(id);
      req.reject(lostMessage(this.block.blockId, reason));
    });
  }

  /** The link from this worker to `peer`'s (a MessageChannel), made on first use. */
  #linkTo(peer: Instance): number {
    const known = this.#linksOut.get(peer);
    if (known !== undefined) return known;
    const link = this.#nextLink++;
    const { port1, port2 } = new MessageChannel();
    // Port transfers go out directly, after whatever was queued before them.
    this.#outbox.flush();
    peer.#outbox.flush();
    this.#worker.postMessage({ type: 'link', link, port: port1 } satisfies ToWorker, [port1]);
    peer.#worker.postMessage({ type: 'accept', port: port2 } satisfies ToWorker, [port2]);
    this.#linksOut.set(peer, link);
    peer.#linksIn.add(this);
    return link;
  }

  /** This instance ended: the instances linked to it drop their links. */
  #unlinkAll(): void {
    for (const from of this.#linksIn) {
      const link = from.#linksOut.get(this);
      from.#linksOut.delete(this);
      if (link !== undefined && (from.#state === 'Ready' || from.#state === 'Draining')) from.#post({ type: 'unlink', link });
    }
    this.#linksIn.clear();
    for (const to of this.#linksOut.keys()) to.#linksIn.delete(this);
    this.#linksOut.clear();
  }

  /** Removes a settled request from every instance that holds it. */
  static #forget(id: number, req: PendingRequest): void {
    if (req.onAbort) req.signal?.removeEventListener('abort', req.onAbort);
    for (const m of req.members) {
      if (m.#pending.get(id) !== req) continue;
      m.#pending.delete(id);
      m.#afterSettle();
    }
  }

  #onMessage(m: FromWorker): void {
    this.#lastHeardAt = now();
    switch (m.type) {
      case 'result': {
        this.#take(m.id)?.resolve(m.output);
        break;
      }
      case 'error': {
        this.#take(m.id)?.reject(this.#blockError(m.error));
        break;
      }
      case 'pong':
        break;
      case 'ready':
        if (this.#state !== 'Starting') break;
        this.#loaded = true;
        this.#strikes = 0;
        this.#setState('Ready');
        for (const w of this.#readyWaiters.splice(0)) w.resolve();
        break;
      case 'loading':
        this.#loadingAt = this.#lastHeardAt;
        break;
      case 'load_error':
        this.#fail({
          reason: m.error.code === 'instance.out_of_memory' ? 'OOMKilled' : 'LoadFailed',
          code: m.error.code,
          message: m.error.message,
        });
        break;
      case 'closed':
        void this.#worker.terminate();
        break;
      case 'gone':
        this.#gone(m.id);
        break;
      case 'lost':
        this.#lost(m.reason);
        break;
      case 'out_of_memory':
        this.#fail(arrayBufferFailure(this.#about, m.usedMb));
        break;
    }
  }

  /** The request `id` answered here, now settled on every instance of its chain. */
  #take(id: number): PendingRequest | undefined {
    const req = this.#pending.get(id);
    if (!req) return undefined; // cancelled by the caller meanwhile
    Instance.#forget(id, req);
    return req;
  }

  #afterSettle(): void {
    if (this.#state === 'Draining' && this.#pending.size === 0) this.#requestClose();
  }

  #requestClose(): void {
    if (this.#closeRequested) return;
    this.#closeRequested = true;
    this.#post({ type: 'close' });
    this.#closeTimer = setTimeout(() => void this.#worker.terminate(), this.#closeTimeoutMs);
    this.#closeTimer.unref();
  }

  #tick(): void {
    const t = now();
    // A late tick means this thread's event loop was blocked: it could not read the worker's
    // answers meanwhile (nor send pings), so that time is not the worker's silence.
    const late = t - this.#lastTickAt - this.#tickMs;
    this.#lastTickAt = t;
    if (late > 0) {
      this.#lastHeardAt = Math.min(t, this.#lastHeardAt + late);
      this.#startedAtMono = Math.min(t, this.#startedAtMono + late);
      if (this.#loadingAt !== undefined) this.#loadingAt = Math.min(t, this.#loadingAt + late);
    }
    const timeoutMs = this.block.limits.timeoutMs;
    if (this.#state === 'Starting') {
      if (this.#loadingAt !== undefined && timeoutMs > 0) {
        // Two strikes, as below: a `ready` queued behind this tick is read before the next one.
        this.#strikes = t - this.#loadingAt > timeoutMs + this.#hangGraceMs ? this.#strikes + 1 : 0;
        if (this.#strikes >= 2) return this.#fail(loadTimeoutFailure(this.#about, true, this.#loadTimeoutMs));
      }
      if (t - this.#startedAtMono > this.#loadTimeoutMs) this.#fail(loadTimeoutFailure(this.#about, false, this.#loadTimeoutMs));
      return;
    }
    if (this.#state !== 'Ready' && this.#state !== 'Draining') return;
    const first = this.#pending.size > 0 ? this.#pending.entries().next().value : undefined;
    const oldest = first?.[1];
    let silentMs: number;
    let limitMs: number;
    if (oldest) {
      silentMs = t - Math.max(this.#lastHeardAt, oldest.sentAt);
      // Without a block timeout a long synchronous run is legitimate: silence proves nothing.
      limitMs = timeoutMs > 0 ? timeoutMs + this.#hangGraceMs : Infinity;
    } else {
      silentMs = t - this.#lastHeardAt;
      limitMs = MISSED_HEARTBEATS * this.#heartbeatMs;
    }
    // Two strikes: if this thread itself was stalled, the worker's answers are still queued
    // behind this timer; the next tick comes after they were read.
    this.#strikes = silentMs > limitMs ? this.#strikes + 1 : 0;
    if (this.#strikes >= 2) {
      this.#hung(Math.round(silentMs), first);
      return;
    }
    // A request older than any time limit allows while the worker talks: was it lost on the way?
    if (
      first &&
      oldest &&
      t - Math.max(oldest.sentAt, oldest.probedAt) > (timeoutMs > 0 ? timeoutMs + this.#hangGraceMs : PROBE_UNTIMED_MS)
    )
      Instance.#probe(first[0], oldest);
    if (t - this.#lastPingAt >= this.#heartbeatMs) {
      this.#lastPingAt = t;
      this.#post({ type: 'ping', seq: ++this.#pingSeq });
    }
  }

  /** The worker is stuck: the request it was running timed out, the others can go elsewhere. */
  #hung(silentMs: number, running: [number, PendingRequest] | undefined): void {
    if (running) {
      this.#take(running[0]);
      running[1].reject(blockTimeoutError(this.#about));
    }
    this.#fail(hungFailure(this.#about, silentMs, running !== undefined));
  }

  #onExit(code: number): void {
    clearInterval(this.#heartbeat);
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    if (this.#state === 'Stopped' || this.#state === 'Failed') return;
    if (this.#closeRequested && this.#state === 'Draining') {
      this.#failPending(stoppedError(this.#about));
      this.#setState('Stopped');
      return;
    }
    this.#fail(exitFailure(this.#about, this.#state === 'Starting', this.#workerError, code));
  }

  #fail(f: InstanceFailure): void {
    if (this.#state === 'Stopped' || this.#state === 'Failed') return;
    this.#failure = f;
    this.#closeRequested = true;
    clearInterval(this.#heartbeat);
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    const err = failureError(this.#about, f);
    this.#failPending(err);
    this.#rejectReadyWaiters(err);
    this.#setState('Failed');
    void this.#worker.terminate();
  }

  #failPending(err: Error): void {
    const reqs = [...this.#pending.entries()];
    this.#pending.clear();
    for (const [id, req] of reqs) {
      Instance.#forget(id, req);
      req.reject(err);
    }
  }

  #rejectReadyWaiters(err: Error): void {
    for (const w of this.#readyWaiters.splice(0)) w.reject(err);
  }

  #setState(s: InstanceState): void {
    if (this.#state === s) return;
    this.#state = s;
    if (s === 'Stopped' || s === 'Failed') this.#unlinkAll();
    this.#onStateChange?.(this);
  }

  /** The FlowdError the block's thread serialized, the same again here, named after this instance's block. */
  #blockError(e: SerializedError): FlowdError {
    return (
      FlowdError.fromSerialized({ ...e, node: this.block.blockId }) ??
      stepFailure(String(e.message), { code: 'block.failed', node: this.block.blockId })
    );
  }

  #notReadyError(): FlowdError {
    return notReadyError(this.#about, this.#state, this.#failure);
  }
}

export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(typeof r === 'string' ? r : 'The request was aborted.');
}
