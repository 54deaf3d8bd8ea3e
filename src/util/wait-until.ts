/**
 * The one "wait until it is ready" helper: resolves with the first value `check` returns
 * (anything but undefined), re-checking on every change notification. A notification that is
 * not delivered (another node's state arrives by heartbeat, not by event) is covered by the
 * `recheckMs` backstop. `check` may throw: the wait ends with that error.
 */
export interface WaitUntilOptions {
  /** Aborting ends the wait with the signal's reason. */
  signal?: AbortSignal;
  /** After this long the wait resolves undefined (default: no limit). */
  timeoutMs?: number;
  /** Re-check this often even without a notification (default 250 ms). */
  recheckMs?: number;
}

/** Registers `wake` for change notifications; returns how to unregister it. */
export type Watch = (wake: () => void) => () => void;

export function waitUntil<T>(check: () => T | undefined, watch: Watch, opts: WaitUntilOptions = {}): Promise<T | undefined> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  let first: T | undefined;
  try {
    first = check();
  } catch (e) {
    return Promise.reject(asError(e));
  }
  if (first !== undefined) return Promise.resolve(first);
  return new Promise<T | undefined>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearInterval(recheck);
      if (deadline) clearTimeout(deadline);
      unwatch();
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const wake = (): void => {
      if (settled) return;
      try {
        const v = check();
        if (v !== undefined) finish(() => resolve(v));
      } catch (e) {
        finish(() => reject(asError(e)));
      }
    };
    const onAbort = (): void => finish(() => reject(abortReason(signal as AbortSignal)));
    const unwatch = watch(wake);
    const recheck = setInterval(wake, opts.recheckMs ?? 250);
    const deadline = opts.timeoutMs !== undefined ? setTimeout(() => finish(() => resolve(undefined)), opts.timeoutMs) : undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the wait was aborted');
}
