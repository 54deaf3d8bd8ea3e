/**
 * Collects the items added during one event-loop turn and hands them over together at its end
 * (setImmediate), in the order they were added: one message for many, where a message has a
 * fixed cost (a thread wake-up, a bus publish). An idle producer's item waits at most until the
 * end of the current turn.
 */
export class TurnBatch<T> {
  readonly #deliver: (items: T[]) => void;
  #items: T[] = [];
  #scheduled = false;

  constructor(deliver: (items: T[]) => void) {
    this.#deliver = deliver;
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
    this.#deliver(items);
  };
}
