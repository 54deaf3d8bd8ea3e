/**
 * Collects the items added during one event-loop turn and hands them over together at its end
 * (setImmediate), in the order they were added: one message for many, where a message has a
 * fixed cost (a thread wake-up, a bus publish). An idle producer's item waits at most until the
 * end of the current turn.
 *
 * A delivery that throws never escapes the flush: from a setImmediate it would end the process.
 * It goes to `onError` with the items it concerned (default: a process warning).
 */
export type DeliveryFailure<T> = (error: unknown, items: T[]) => void;

const warn: DeliveryFailure<unknown> = (error, items) =>
  process.emitWarning(
    `A batch of ${items.length} item(s) could not be delivered: ${error instanceof Error ? error.message : String(error)}`,
    { code: 'FLOWD_BATCH_UNDELIVERED' },
  );

export class TurnBatch<T> {
  readonly #deliver: (items: T[]) => void;
  readonly #onError: DeliveryFailure<T>;
  #items: T[] = [];
  #scheduled = false;

  constructor(deliver: (items: T[]) => void, onError: DeliveryFailure<T> = warn) {
    this.#deliver = deliver;
    this.#onError = onError;
  }

  add(item: T): void {
    this.#items.push(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Delivers what is collected now (e.g. before something that must not overtake it). */
  readonly flush = (): void => {
    this.#scheduled = false;
    const items = this.#items;
    if (items.length === 0) return;
    this.#items = [];
    try {
      this.#deliver(items);
    } catch (e) {
      this.#onError(e, items);
    }
  };
}
