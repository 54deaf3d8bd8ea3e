/**
 * Notifications that a published workflow's runtime status may have changed (an instance
 * became ready, crashed, was scaled…). Bursts are coalesced per workflow into one event per
 * tick, so SSE watchers get one fresh status instead of a storm. A cluster transport (bus,
 * LISTEN/NOTIFY) can feed `notify` the same way.
 */
import { EventEmitter } from 'node:events';

export class RuntimeEvents {
  readonly #ee = new EventEmitter();
  readonly #pending = new Set<string>();

  constructor() {
    this.#ee.setMaxListeners(0);
  }

  notify(workflowId: string): void {
    if (this.#pending.has(workflowId)) return;
    this.#pending.add(workflowId);
    setImmediate(() => {
      this.#pending.delete(workflowId);
      this.#ee.emit(workflowId);
    });
  }

  subscribe(workflowId: string, fn: () => void): () => void {
    this.#ee.on(workflowId, fn);
    return () => this.#ee.off(workflowId, fn);
  }
}
