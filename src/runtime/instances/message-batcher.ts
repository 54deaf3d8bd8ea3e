/**
 * Coalesces the messages one thread sends to one port during an event-loop turn into a single
 * postMessage. Each postMessage wakes the receiving thread and is dispatched there as its own
 * event; under load that fixed cost, paid per request per hop, weighs more than the requests'
 * work (bench/runtime-sync.ts). Messages keep their order.
 */
import { TurnBatch } from '../../util/turn-batch.js';
import type { BatchMessage } from './instance-protocol.js';

interface Target {
  postMessage(value: unknown): void;
}

export class MessageBatcher<M> {
  readonly #batch: TurnBatch<M>;

  constructor(target: Target) {
    this.#batch = new TurnBatch<M>((q) => target.postMessage(q.length === 1 ? q[0] : ({ type: 'batch', messages: q } satisfies BatchMessage<M>)));
  }

  send(m: M): void {
    this.#batch.add(m);
  }

  /** Posts what is queued now (before a message that must go out directly, e.g. with a transfer list). */
  flush(): void {
    this.#batch.flush();
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
