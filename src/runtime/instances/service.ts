/**
 * A service keeps `desired` instances of one block alive and spreads requests over them.
 * It works like a small Kubernetes Deployment controller: every event (an
 * instance ready, failed or gone; a new desired count; a new spec) runs one reconcile pass
 * that starts, restarts or drains instances, and the status is derived from what exists.
 *
 * - A slot is one replica position. Its name stays while its worker is replaced after a
 *   crash, hang or load failure (with exponential backoff), and its `restarts` count grows.
 * - Scaling touches only the slots added or removed; removed ones drain (in-flight work
 *   finishes) before their thread ends.
 * - An update with a new block spec is a rolling update: new-version slots start at once;
 *   for each one that becomes ready an old instance drains, so ready capacity never drops
 *   below `desired` (NL Flow's re-publish documentation: "the pods of the old version keep running — and
 *   responding — until the new start running"). A spec with the same block only rescales.
 */
import type { Logger } from 'pino';
import type { BlockLimits } from '../../blocks/block.js';
import { conflict, unavailable, validationError } from '../../errors.js';
import type { FlowdError } from '../../errors.js';
import type { JsonObject, JsonValue } from '../../util/json.js';
import { Instance } from './instance.js';
import { ReadyQueue } from './ready-queue.js';
import { replicaName, versionSuffix } from './replica-names.js';
import type { InstanceBlock, InstanceFailure } from './instance.js';
import { computeRollout, replicaDetail, serviceHealth } from './service-status.js';
import type { RolloutView, ServiceStatusView } from './service-status.js';

export type { ServiceStatusView, ReplicaDetailView } from './service-status.js';

export interface ServiceSpec {
  serviceId: string;
  blockId: string;
  blockType: string;
  config: JsonObject;
  prepared: JsonObject;
  limits: BlockLimits;
  version: number;
}

export interface ServiceOptions {
  desired: number;
  logger: Logger;
  /** Delay before a failed instance is replaced: doubles per consecutive failure. Default 100 ms … 5 s. */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** How long `dispatch` waits for a ready instance before answering 503. Default 10 000. */
  waitReadyMs?: number;
  /** Instance heartbeat period. Default 1000. */
  heartbeatMs?: number;
  /** Slack past the block timeout before a silent busy instance counts as hung. Default 1000. */
  hangGraceMs?: number;
  /** A block load that takes longer fails. Default 120 000. */
  loadTimeoutMs?: number;
  /** A rollout still in progress after this long is reported Failed (ProgressDeadlineExceeded). Default 600 000. */
  progressDeadlineMs?: number;
  /** Called on every status-relevant transition. */
  onChange?: () => void;
}

export interface DispatchContext {
  signal?: AbortSignal;
  correlationId?: string;
}

interface Slot {
  name: string;
  gen: number;
  version: number;
  block: InstanceBlock;
  instance: Instance | undefined;
  restarts: number;
  /** Consecutive load failures (reset when an instance of the slot becomes ready). */
  loadFailures: number;
  /** Consecutive crashes/hangs (reset after the instance stayed up for a while). */
  crashes: number;
  readyAt: number;
  startedAt: Date;
  lastFailure: InstanceFailure | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  removed: boolean;
}

/** After this many consecutive load failures the rollout is Failed and retries slow to `maxMs`. */
export const LOAD_FAILURES_BEFORE_FAILED = 3;
/** An instance that stayed up this long resets its slot's crash backoff. */
const STABLE_AFTER_MS = 30_000;

export class Service {
  readonly id: string;
  #spec: ServiceSpec;
  #desired: number;
  #gen = 1;
  #genSuffix = versionSuffix();
  #slots: Slot[] = [];
  #readyList: Instance[] = [];
  #rr = 0;
  readonly #waiting = new ReadyQueue(() => this.#changed());
  #rolloutWaiters: Array<() => void> = [];
  #started = false;
  #stopping = false;
  #reconciling = false;
  #dirty = false;
  #progressSince: number | undefined;
  #progressTimer: NodeJS.Timeout | undefined;
  #deadlineExceeded = false;
  #lastRollout: RolloutView | undefined;
  readonly #logger: Logger;
  readonly #opts: Required<Omit<ServiceOptions, 'desired' | 'logger' | 'onChange'>> & Pick<ServiceOptions, 'onChange'>;

  constructor(spec: ServiceSpec, opts: ServiceOptions) {
    checkDesired(opts.desired, spec.blockId);
    this.id = spec.serviceId;
    this.#spec = spec;
    this.#desired = opts.desired;
    this.#logger = opts.logger.child({ service: spec.serviceId, block: spec.blockId });
    this.#opts = {
      restartBackoff: opts.restartBackoff ?? { initialMs: 100, maxMs: 5000 },
      waitReadyMs: opts.waitReadyMs ?? 10_000,
      heartbeatMs: opts.heartbeatMs ?? 1000,
      hangGraceMs: opts.hangGraceMs ?? 1000,
      loadTimeoutMs: opts.loadTimeoutMs ?? 120_000,
      progressDeadlineMs: opts.progressDeadlineMs ?? 600_000,
      onChange: opts.onChange,
    };
  }

  get spec(): ServiceSpec {
    return this.#spec;
  }
  get desired(): number {
    return this.#desired;
  }
  get inFlight(): number {
    let n = 0;
    for (const s of this.#slots) n += s.instance?.inFlight ?? 0;
    return n;
  }
  get queued(): number {
    return this.#waiting.size;
  }

  /** Spawn the desired instances. */
  start(): void {
    if (this.#started || this.#stopping) return;
    this.#started = true;
    this.#reconcile();
  }

  /** Add or remove instances without touching the others; removed ones drain first. */
  setDesired(n: number): void {
    checkDesired(n, this.#spec.blockId);
    if (this.#stopping || n === this.#desired) return;
    this.#desired = n;
    this.#resetProgress();
    this.#reconcile();
  }

  /**
   * Roll to a new spec and desired count. Resolves when the rollout completes or fails (see
   * `status().rolloutStatus`), or when a later update or `stop()` supersedes it.
   */
  update(spec: ServiceSpec, desired: number): Promise<void> {
    checkDesired(desired, spec.blockId);
    if (this.#stopping)
      return Promise.reject(
        conflict(`Service ${this.id} is stopped; publish the flow again to update it.`, { code: 'service.stopped', node: spec.blockId }),
      );
    const sameBlock =
      spec.blockId === this.#spec.blockId &&
      spec.blockType === this.#spec.blockType &&
      sameJson(spec.config, this.#spec.config) &&
      sameJson(spec.prepared, this.#spec.prepared) &&
      sameJson(spec.limits as unknown as JsonValue, this.#spec.limits as unknown as JsonValue);
    this.#spec = spec;
    this.#desired = desired;
    for (const w of this.#rolloutWaiters.splice(0)) w();
    if (sameBlock) {
      // Only the replica count (or nothing) changed: the running instances are already right.
      for (const s of this.#slots) if (s.gen === this.#gen) s.version = spec.version;
    } else {
      this.#gen++;
      this.#genSuffix = versionSuffix();
      this.#logger.info({ version: spec.version }, 'rolling update started');
    }
    this.#resetProgress();
    this.#started = true;
    const done = new Promise<void>((resolve) => this.#rolloutWaiters.push(resolve));
    this.#reconcile();
    return done;
  }

  /** How long a request waits for a ready instance before it is refused (503). */
  get waitReadyMs(): number {
    return this.#opts.waitReadyMs;
  }

  /** The 503 a request gets when no instance became ready in time (for callers that waited elsewhere). */
  unavailableError(waitedMs: number): FlowdError {
    return this.#unavailable(waitedMs);
  }

  /** Some instance (of any version, e.g. during a rollout) can take a request now. */
  get canServe(): boolean {
    return this.#readyList.length > 0;
  }

  /** The ready instance a request would go to now (least loaded), if any; for chains. */
  pickReady(): Instance | undefined {
    return this.#stopping ? undefined : this.#pick();
  }

  /** Run one input on the least-loaded ready instance, waiting up to `waitReadyMs` for one. */
  dispatch(input: JsonValue, ctx: DispatchContext = {}): Promise<JsonValue> {
    if (this.#stopping) return Promise.reject(this.#unavailable(0, 'it is stopping'));
    const inst = this.#pick();
    if (inst) return inst.run(input, ctx);
    const waitMs = this.#opts.waitReadyMs;
    return this.#waiting.wait(input, ctx, waitMs, () => this.#unavailable(waitMs));
  }

  status(): ServiceStatusView {
    const rollout = this.#rollout();
    const actual = this.#readyCurrent();
    return {
      id: this.id,
      blockId: this.#spec.blockId,
      desired: this.#desired,
      actual,
      status: serviceHealth(this.#desired, actual),
      rolloutStatus: rollout.status,
      ...(rollout.reason !== undefined ? { rolloutStatusReason: rollout.reason } : {}),
      replicasDetail: this.#slots.map((s) => replicaDetail({ ...s, state: s.instance?.state })),
      inFlight: this.inFlight,
      queued: this.queued,
      observedVersion: this.#spec.version,
    };
  }

  /** Stop accepting requests, let in-flight ones finish, end every thread. */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#clearProgressTimer();
      this.#waiting.rejectAll(this.#unavailable(0, 'it was stopped'));
      for (const w of this.#rolloutWaiters.splice(0)) w();
      for (const s of this.#slots) {
        s.removed = true;
        if (s.retryTimer) clearTimeout(s.retryTimer);
        s.retryTimer = undefined;
      }
      this.#logger.info('stopping');
    }
    // A copy: draining a starting instance ends it at once, which drops its slot from the list.
    await Promise.all([...this.#slots].map((s) => (s.instance ? s.instance.drain() : Promise.resolve())));
    this.#slots = [];
    this.#readyList = [];
    this.#changed();
  }

  // ---- reconcile ----

  #reconcile(): void {
    if (this.#reconciling) {
      this.#dirty = true;
      return;
    }
    this.#reconciling = true;
    try {
      do {
        this.#dirty = false;
        if (this.#started && !this.#stopping) this.#reconcileOnce();
      } while (this.#dirty);
    } finally {
      this.#reconciling = false;
    }
    this.#changed();
  }

  #reconcileOnce(): void {
    const current = this.#slots.filter((s) => s.gen === this.#gen && !s.removed);
    for (let i = current.length; i < this.#desired; i++) this.#addSlot();
    if (current.length > this.#desired) {
      // Scale down: the slots that serve nothing go first, then the most recently started.
      const order = (s: Slot): number => (!s.instance ? 0 : s.instance.state === 'Starting' ? 1 : 2);
      const victims = [...current].sort((a, b) => order(a) - order(b) || b.startedAt.getTime() - a.startedAt.getTime());
      for (const s of victims.slice(0, current.length - this.#desired)) this.#removeSlot(s);
    }
    // Old versions: the unready go now; ready ones drain as new ones take over, oldest first.
    const old = this.#slots.filter((s) => s.gen !== this.#gen && !s.removed);
    const oldReady: Slot[] = [];
    for (const s of old) {
      if (s.instance?.ready) oldReady.push(s);
      else this.#removeSlot(s);
    }
    const keep = Math.max(0, this.#desired - this.#readyCurrent());
    oldReady.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    for (const s of oldReady.slice(0, Math.max(0, oldReady.length - keep))) this.#removeSlot(s);
  }

  #addSlot(): void {
    const slot: Slot = {
      name: replicaName(this.id, this.#genSuffix),
      gen: this.#gen,
      version: this.#spec.version,
      block: {
        blockId: this.#spec.blockId,
        blockType: this.#spec.blockType,
        config: this.#spec.config,
        prepared: this.#spec.prepared,
        limits: this.#spec.limits,
      },
      instance: undefined,
      restarts: 0,
      loadFailures: 0,
      crashes: 0,
      readyAt: 0,
      startedAt: new Date(),
      lastFailure: undefined,
      retryTimer: undefined,
      removed: false,
    };
    this.#slots.push(slot);
    this.#spawn(slot);
  }

  #spawn(slot: Slot): void {
    slot.retryTimer = undefined;
    try {
      const inst = new Instance(slot.block, {
        name: slot.name,
        version: slot.version,
        restarts: slot.restarts,
        heartbeatMs: this.#opts.heartbeatMs,
        hangGraceMs: this.#opts.hangGraceMs,
        loadTimeoutMs: this.#opts.loadTimeoutMs,
        onStateChange: (i) => this.#onInstanceState(slot, i),
      });
      slot.instance = inst;
      slot.startedAt = inst.startedAt;
    } catch (e) {
      // The thread could not even be created (e.g. the worker entry is missing): a load failure.
      slot.instance = undefined;
      slot.startedAt = new Date();
      slot.lastFailure = { reason: 'LoadFailed', code: (e as FlowdError).code ?? 'instance.spawn_failed', message: (e as Error).message };
      this.#scheduleRestart(slot, true);
    }
  }

  #removeSlot(slot: Slot): void {
    slot.removed = true;
    if (slot.retryTimer) clearTimeout(slot.retryTimer);
    slot.retryTimer = undefined;
    if (slot.instance) void slot.instance.drain();
    else this.#dropSlot(slot);
  }

  #dropSlot(slot: Slot): void {
    if (slot.retryTimer) clearTimeout(slot.retryTimer);
    slot.retryTimer = undefined;
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
  }

  #onInstanceState(slot: Slot, inst: Instance): void {
    if (slot.instance !== inst) return;
    switch (inst.state) {
      case 'Ready':
        slot.loadFailures = 0;
        slot.readyAt = Date.now();
        this.#readyList.push(inst);
        this.#logger.info({ instance: inst.name, version: slot.version, restarts: slot.restarts }, 'instance ready');
        this.#waiting.flush(() => this.#pick());
        break;
      case 'Draining':
        this.#unlistReady(inst);
        break;
      case 'Failed': {
        this.#unlistReady(inst);
        slot.instance = undefined;
        slot.lastFailure = inst.failure;
        const f = inst.failure;
        const replace = !slot.removed && !this.#stopping && slot.gen === this.#gen;
        this.#logger.warn({ instance: inst.name, reason: f?.reason, code: f?.code, err: f?.message, replace }, 'instance failed');
        if (!replace) this.#dropSlot(slot);
        else this.#scheduleRestart(slot, !inst.loaded);
        break;
      }
      case 'Stopped':
        this.#unlistReady(inst);
        slot.instance = undefined;
        this.#dropSlot(slot);
        break;
      case 'Starting':
        break;
    }
    this.#reconcile();
  }

  #scheduleRestart(slot: Slot, loadFailure: boolean): void {
    const { initialMs, maxMs } = this.#opts.restartBackoff;
    let attempt: number;
    if (loadFailure) {
      attempt = ++slot.loadFailures;
    } else {
      if (slot.readyAt > 0 && Date.now() - slot.readyAt > STABLE_AFTER_MS) slot.crashes = 0;
      attempt = ++slot.crashes;
    }
    // Past the failure threshold the block is not going to load by itself: retry slowly.
    const delay = loadFailure && attempt >= LOAD_FAILURES_BEFORE_FAILED ? maxMs : Math.min(maxMs, initialMs * 2 ** (attempt - 1));
    slot.retryTimer = setTimeout(() => {
      if (slot.removed || this.#stopping) return;
      slot.restarts++;
      this.#spawn(slot);
      this.#reconcile();
    }, delay);
  }

  #unlistReady(inst: Instance): void {
    const i = this.#readyList.indexOf(inst);
    if (i >= 0) this.#readyList.splice(i, 1);
  }

  // ---- dispatch ----

  /** Least in-flight ready instance; ties rotate so idle instances share sequential traffic. */
  #pick(): Instance | undefined {
    const list = this.#readyList;
    const n = list.length;
    if (n <= 1) return list[0];
    const start = this.#rr++ % n;
    let best: Instance | undefined;
    let bestLoad = Infinity;
    for (let k = 0; k < n; k++) {
      const inst = list[(start + k) % n]!;
      const load = inst.inFlight;
      if (load < bestLoad) {
        best = inst;
        bestLoad = load;
        if (load === 0) break;
      }
    }
    return best;
  }

  #unavailable(waitedMs: number, why?: string): FlowdError {
    const rollout = this.#rollout();
    const detail =
      why ??
      (rollout.status === 'Failed' && rollout.reason
        ? `rollout failed: ${rollout.reason}`
        : `${this.#readyCurrent()} of ${this.#desired} instances ready`);
    return unavailable(
      `Block "${this.#spec.blockId}" has no ready instance (service ${this.id}: ${detail})${waitedMs > 0 ? ` after waiting ${waitedMs} ms` : ''}. ` +
        'Retry later; the workflow status (GET …/action/status) shows each instance and why it is not ready.',
      { code: 'service.unavailable', node: this.#spec.blockId, headers: { 'Retry-After': '1' } },
    );
  }

  // ---- status ----

  #readyCurrent(): number {
    let n = 0;
    for (const s of this.#slots) if (s.gen === this.#gen && !s.removed && s.instance?.ready) n++;
    return n;
  }

  #rollout(): RolloutView {
    const current = this.#slots.filter((s) => s.gen === this.#gen && !s.removed);
    const failing = current.find((s) => s.loadFailures >= LOAD_FAILURES_BEFORE_FAILED && !s.instance?.ready);
    return computeRollout({
      desired: this.#desired,
      readyCurrent: this.#readyCurrent(),
      oldRemaining: this.#slots.some((s) => s.gen !== this.#gen),
      loadFailure: failing?.lastFailure?.message,
      deadlineExceeded: this.#deadlineExceeded,
    });
  }

  #resetProgress(): void {
    this.#clearProgressTimer();
    this.#progressSince = undefined;
    this.#deadlineExceeded = false;
  }

  #clearProgressTimer(): void {
    if (this.#progressTimer) clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
  }

  /** Track the progress deadline, settle update() promises, and tell the listener. */
  #changed(): void {
    const r = this.#rollout();
    if (r.status === 'Complete') {
      this.#resetProgress();
    } else if (this.#progressSince === undefined && this.#started && !this.#stopping) {
      this.#progressSince = Date.now();
      this.#progressTimer = setTimeout(() => {
        this.#progressTimer = undefined;
        this.#deadlineExceeded = true;
        this.#changed();
      }, this.#opts.progressDeadlineMs);
      this.#progressTimer.unref();
    }
    if (r.status !== 'InProgress' && this.#rolloutWaiters.length > 0) for (const w of this.#rolloutWaiters.splice(0)) w();
    const prev = this.#lastRollout;
    if (prev?.status !== r.status && !this.#stopping) this.#logger.info({ rollout: r.status, reason: r.reason }, 'rollout status');
    this.#lastRollout = r;
    this.#opts.onChange?.();
  }
}

function checkDesired(n: number, blockId: string): void {
  if (!Number.isInteger(n) || n < 0) {
    throw validationError(`Block "${blockId}": replicas must be a whole number ≥ 0, got ${n}.`, {
      code: 'service.invalid_replicas',
      node: blockId,
    });
  }
}

/** Structural equality of two JSON values (key order ignored). */
function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => sameJson(v, b[i]));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson(a[k], b[k]));
}
