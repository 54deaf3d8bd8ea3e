/**
 * In-process notifications that a workflow's state changed. Watchers (SSE, `--watch`,
 * `wait_for_completion_timeout`) subscribe instead of polling. A cluster-wide transport
 * (LISTEN/NOTIFY or a bus) can feed the same `notify`.
 */
import { EventEmitter } from 'node:events';

export class StateEvents {
  readonly #ee = new EventEmitter();

  constructor() {
    this.#ee.setMaxListeners(0);
  }

  #forward: ((workflowId: string) => void) | undefined;

  notify(workflowId: string): void {
    this.#ee.emit(workflowId);
    this.#ee.emit('*', workflowId);
    this.#forward?.(workflowId);
  }

  /** Cluster: where this node's changes go (the bus), so watchers on other nodes hear them. */
  setForwarder(fn: (workflowId: string) => void): void {
    this.#forward = fn;
  }

  /** A change made on another node: tell local watchers, do not forward it again. */
  deliverRemote(workflowId: string): void {
    this.#ee.emit(workflowId);
    this.#ee.emit('*', workflowId);
  }

  subscribe(workflowId: string, fn: () => void): () => void {
    this.#ee.on(workflowId, fn);
    return () => this.#ee.off(workflowId, fn);
  }

  subscribeAll(fn: (workflowId: string) => void): () => void {
    this.#ee.on('*', fn);
    return () => this.#ee.off('*', fn);
  }

  /** Resolves true once `check()` holds, false after `timeoutMs` (re-checked on each change). */
  async waitUntil(workflowId: string, check: () => Promise<boolean>, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (await check()) return true;
    return new Promise<boolean>((resolve) => {
      let settled = false;
      let checking = false;
      let again = false;
      const done = (v: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = (): void => done(false);
      const onChange = (): void => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        check()
          .then((ok) => {
            checking = false;
            if (ok) done(true);
            else if (again) {
              again = false;
              onChange();
            }
          })
          .catch(() => done(false));
      };
      const unsubscribe = this.subscribe(workflowId, onChange);
      const timer = setTimeout(() => done(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      onChange(); // the state may have changed between the first check and subscribing
    });
  }
}
