/**
 * Coalesces the messages one thread sends to one port during an event-loop turn into a single
 * postMessage. Each postMessage wakes the receiving thread and is dispatched there as its own
 * event; under load that fixed cost, paid per request per hop, weighs more than the requests'
 * work (bench/runtime-sync.ts). Messages keep their order; an idle sender waits at most until
 * the end of the current turn (setImmediate), which is well under a millisecond.
 */
import type { BatchMessage } from './instance-protocol.js';

interface Target {
  postMessage(value: unknown): void;
}

export class MessageBatcher<M> {
  readonly #target: Target;
  #queue: M[] = [];
  #scheduled = false;

  constructor(target: Target) {
    this.#target = target;
  }

  send(m: M): void {
    this.#queue.push(m);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Posts what is queued now (before a message that must go out directly, e.g. with a transfer list). */
  readonly flush = (): void => {
    this.#scheduled = false;
    const q = this.#queue;
    if (q.length === 0) return;
    this.#queue = [];
    this.#target.postMessage(q.length === 1 ? q[0] : ({ type: 'batch', messages: q } satisfies BatchMessage<M>));
  };
}

/** Calls `handle` for a message, or for each message of a batch, in order. */
export function unbatch<M>(m: M | BatchMessage<M>, handle: (m: M) => void): void {
  if (isBatch(m)) for (const x of m.messages) handle(x);
  else handle(m);
}

function isBatch<M>(m: M | BatchMessage<M>): m is BatchMessage<M> {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'batch';
}
