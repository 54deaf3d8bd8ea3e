/**
 * "Something about this key changed": the one notification hub behind workflow state changes
 * (engine/state-events.ts) and runtime status changes (runtime/runtime-events.ts).
 *
 * Notifications carry no payload; a listener re-reads what it shows. So a burst on one key is
 * worth one delivery: notifications are collected per event-loop turn (util/turn-batch.ts) and
 * each changed key is delivered once at the turn's end, to its listeners and to the listeners of
 * every key. A cluster bridges a hub through `setForwarder` (where this node's changes go,
 * also once per key and turn) and `deliverRemote` (another node's change: local listeners only,
 * so it is never sent back out).
 */
import { TurnBatch } from './turn-batch.js';

type Listener = () => void;
type AnyListener<K> = (key: K) => void;

interface Change<K> {
  key: K;
  /** Made on this node, so the forwarder hears it too. */
  local: boolean;
}

export class EventHub<K extends string = string> {
  readonly #byKey = new Map<K, Set<Listener>>();
  readonly #any = new Set<AnyListener<K>>();
  readonly #batch = new TurnBatch<Change<K>>((changes) => this.#deliver(changes));
  #forward: ((key: K) => void) | undefined;

  /** A change made on this node. */
  notify(key: K): void {
    this.#batch.add({ key, local: true });
  }

  /** A change made on another node: tell local listeners, do not forward it again. */
  deliverRemote(key: K): void {
    this.#batch.add({ key, local: false });
  }

  /** Cluster: where this node's changes go (a bus), so listeners on other nodes hear them. */
  setForwarder(fn: (key: K) => void): void {
    this.#forward = fn;
  }

  subscribe(key: K, fn: Listener): () => void {
    let set = this.#byKey.get(key);
    if (!set) {
      set = new Set();
      this.#byKey.set(key, set);
    }
    set.add(fn);
    return () => {
      const s = this.#byKey.get(key);
      if (!s?.delete(fn)) return;
      if (s.size === 0) this.#byKey.delete(key);
    };
  }

  subscribeAll(fn: AnyListener<K>): () => void {
    this.#any.add(fn);
    return () => this.#any.delete(fn);
  }

  /** Resolves true once `check()` holds, false after `timeoutMs` or on abort (re-checked on each change). */
  async waitUntil(key: K, check: () => Promise<boolean>, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
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
      const unsubscribe = this.subscribe(key, onChange);
      const timer = setTimeout(() => done(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      onChange(); // the state may have changed between the first check and subscribing
    });
  }

  #deliver(changes: Change<K>[]): void {
    const keys = new Set<K>();
    const local = new Set<K>();
    for (const c of changes) {
      keys.add(c.key);
      if (c.local) local.add(c.key);
    }
    const failures: unknown[] = [];
    const call = (fn: () => void): void => {
      try {
        fn();
      } catch (e) {
        failures.push(e); // one listener's fault must not keep the others uninformed
      }
    };
    for (const key of keys) {
      for (const fn of [...(this.#byKey.get(key) ?? [])]) call(fn);
      for (const fn of [...this.#any]) call(() => fn(key));
    }
    const forward = this.#forward;
    if (forward) for (const key of local) call(() => forward(key));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} event listeners failed`);
  }
}
