/**
 * Requests that arrived while a service had no ready instance (starting, restarting, scaled
 * to zero). Each waits until an instance is ready, its caller gives up (signal), or its
 * wait runs out; the count is the service's `queued`, which the autoscaler reads to wake a
 * service from zero.
 */
import type { JsonValue } from '../../util/json.js';
import { abortReason } from './instance.js';
import type { Instance, InstanceRunContext } from './instance.js';

interface Waiter {
  input: JsonValue;
  ctx: InstanceRunContext;
  resolve: (v: JsonValue) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
}

export class ReadyQueue {
  #waiters: Waiter[] = [];
  /** Called when the queue goes from empty to not empty, and back. */
  readonly #onEmptyChange: () => void;

  constructor(onEmptyChange: () => void) {
    this.#onEmptyChange = onEmptyChange;
  }

  get size(): number {
    return this.#waiters.length;
  }

  /** Queue a request; `expired` makes the error it fails with after `waitMs`. */
  wait(input: JsonValue, ctx: InstanceRunContext, waitMs: number, expired: () => Error): Promise<JsonValue> {
    const signal = ctx.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<JsonValue>((resolve, reject) => {
      const w: Waiter = { input, ctx, resolve, reject, timer: undefined, onAbort: undefined };
      w.timer = setTimeout(() => this.#drop(w, expired()), waitMs);
      if (signal) {
        w.onAbort = () => this.#drop(w, abortReason(signal));
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#waiters.push(w);
      if (this.#waiters.length === 1) this.#onEmptyChange();
    });
  }

  /** Hand the waiting requests to ready instances (`pick` chooses one per request). */
  flush(pick: () => Instance | undefined): void {
    if (this.#waiters.length === 0) return;
    while (this.#waiters.length > 0) {
      const inst = pick();
      if (!inst) return;
      const w = this.#waiters.shift()!;
      this.#clear(w);
      inst.run(w.input, w.ctx).then(w.resolve, w.reject);
    }
    this.#onEmptyChange();
  }

  /** Fail every waiting request (the service is stopping). */
  rejectAll(err: Error): void {
    for (const w of [...this.#waiters]) this.#drop(w, err);
  }

  #drop(w: Waiter, err: Error): void {
    const i = this.#waiters.indexOf(w);
    if (i < 0) return;
    this.#waiters.splice(i, 1);
    this.#clear(w);
    w.reject(err);
    if (this.#waiters.length === 0) this.#onEmptyChange();
  }

  #clear(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    if (w.onAbort) w.ctx.signal?.removeEventListener('abort', w.onAbort);
    w.timer = undefined;
    w.onAbort = undefined;
  }
}
