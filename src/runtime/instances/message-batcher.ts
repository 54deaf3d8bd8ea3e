/**
 * Coalesces the messages one thread sends to one port during an event-loop turn into a single
 * postMessage. Each postMessage wakes the receiving thread and is dispatched there as its own
 * event; under load that fixed cost, paid per request per hop, weighs more than the requests'
 * work (bench/runtime-sync.ts). Messages keep their order.
 *
 * A message that cannot be cloned (nested too deeply for the serializer's stack, a function, a
 * symbol…) makes postMessage throw, here inside a setImmediate flush where nothing else would
 * catch it. The guard is one try/catch per flush: only when a batch fails are its messages
 * sent one by one, so the others still go and only the culprits reach `onUndeliverable`.
 */
import { TurnBatch } from '../../util/turn-batch.js';
import type { BatchMessage } from './instance-protocol.js';

interface Target {
  postMessage(value: unknown): void;
}

/**
 * Told about each message that could not be posted, with the reason; may return a message to
 * post in its place (in its position: an error answer instead of an answer), e.g. a small error.
 */
export type Undeliverable<M> = (message: M, error: unknown) => M | undefined;

export class MessageBatcher<M> {
  readonly #batch: TurnBatch<M>;
  readonly #target: Target;
  readonly #undeliverable: Undeliverable<M>;

  constructor(target: Target, onUndeliverable: Undeliverable<M>) {
    this.#target = target;
    this.#undeliverable = onUndeliverable;
    this.#batch = new TurnBatch<M>((q) => this.#deliver(q));
  }

  send(m: M): void {
    this.#batch.add(m);
  }

  /** Posts what is queued now (before a message that must go out directly, e.g. with a transfer list). */
  flush(): void {
    this.#batch.flush();
  }

  #deliver(q: M[]): void {
    try {
      this.#target.postMessage(q.length === 1 ? q[0] : ({ type: 'batch', messages: q } satisfies BatchMessage<M>));
    } catch (e) {
      if (q.length === 1) this.#replace(q[0] as M, e);
      else for (const m of q) this.#postOne(m);
    }
  }

  #postOne(m: M): void {
    try {
      this.#target.postMessage(m);
    } catch (e) {
      this.#replace(m, e);
    }
  }

  #replace(m: M, e: unknown): void {
    const instead = this.#undeliverable(m, e);
    if (instead === undefined) return;
    try {
      this.#target.postMessage(instead);
    } catch {
      // A replacement is a small error message; should even that fail, there is nothing left to send.
    }
  }
}

/** Calls `handle` for a message, or for each message of a batch, in order. */
export function unbatch<M>(m: M | BatchMessage<M>, handle: (m: M) => void): void {
  if (isBatch(m)) for (const x of m.messages) handle(x);
  else handle(m);
}

function isBatch<M>(m: M | BatchMessage<M>): m is BatchMessage<M> {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'batch';
}
