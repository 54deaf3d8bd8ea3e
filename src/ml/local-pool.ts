/**
 * The local models loaded in this process, by model id. Loading parses a packaged model
 * (slow the first time), so concurrent deploys and predicts of one model share one `load()`;
 * a failed load is forgotten so the next attempt retries it.
 */
import type { LoadedLocalModel, LocalModelSpec } from './local/local-model.js';

export class LocalModelPool {
  readonly #loaded = new Map<string, Promise<LoadedLocalModel>>();

  /** The loaded instance of `modelId`, loading `spec` once if needed. */
  get(modelId: string, spec: LocalModelSpec): Promise<LoadedLocalModel> {
    let p = this.#loaded.get(modelId);
    if (p === undefined) {
      p = spec.load();
      this.#loaded.set(modelId, p);
      p.catch(() => {
        if (this.#loaded.get(modelId) === p) this.#loaded.delete(modelId);
      });
    }
    return p;
  }

  has(modelId: string): boolean {
    return this.#loaded.has(modelId);
  }

  /** Drops the instance (undeploy/delete); in-flight predictions keep their reference. */
  release(modelId: string): void {
    this.#loaded.delete(modelId);
  }

  clear(): void {
    this.#loaded.clear();
  }
}
