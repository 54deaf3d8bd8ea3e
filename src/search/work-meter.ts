/**
 * Bounds how long one search keeps the event loop. Matchers charge work units as they go (roughly:
 * characters examined × pattern words); every CHECK_EVERY units the active meter reads the clock,
 * and past its deadline throws SearchTimedOut. The search then stops and answers what it found so
 * far with `timed_out: true`, as OpenSearch does when a search runs past its `timeout`.
 *
 * The active meter is module state on purpose: a search evaluates synchronously between two yields
 * to the event loop, so no other search can run while one meter is installed, and threading a meter
 * through every compiled matcher would put it in every signature for no gain.
 */

/** Thrown through the matchers when the active meter's deadline has passed. */
export class SearchTimedOut extends Error {
  constructor() {
    super('search timed out');
    this.name = 'SearchTimedOut';
  }
}

const CHECK_EVERY = 1 << 16;

export class WorkMeter {
  #units = 0;
  /** performance.now() after which work stops; Infinity for none. */
  deadline: number;

  constructor(deadline: number) {
    this.deadline = deadline;
  }

  charge(units: number): void {
    this.#units += units;
    if (this.#units >= CHECK_EVERY) {
      this.#units = 0;
      this.check();
    }
  }

  check(): void {
    if (performance.now() > this.deadline) throw new SearchTimedOut();
  }
}

let active: WorkMeter | undefined;

/** Count `units` of work against the search being evaluated (no-op outside one). */
export function chargeWork(units: number): void {
  active?.charge(units);
}

/** Run `fn` with `meter` as the active meter. */
export function metered<T>(meter: WorkMeter, fn: () => T): T {
  const previous = active;
  active = meter;
  try {
    return fn();
  } finally {
    active = previous;
  }
}
