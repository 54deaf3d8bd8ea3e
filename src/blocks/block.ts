/**
 * What a block type is: one processing unit of a published `flow`. Its config
 * is checked when the template is created (main thread); at publish time `prepare` resolves
 * what it refers to (a deployed model, a connector) into plain JSON; each service instance (a
 * worker thread) then `load`s the block and is ready once that resolves; `run` handles one
 * input. One file per block type implements this; block-registry.ts lists them.
 */
import type { JsonObject, JsonValue } from '../util/json.js';
import type { MlService } from '../ml/ml-service.js';

export type FlowMode = 'SYNC' | 'ASYNC';

/**
 * How the flow executor treats a block's output (the executor owns routing; a block only
 * computes):
 * - `transform` (default): the output goes to the downstream blocks.
 * - `switch`: `run` returns `{ "routes": ["<dest block id>", …] }`; only those edges are
 *   followed and the downstream blocks receive the switch's *input* (it is transparent).
 * - `split`: `run` returns an array; the blocks downstream run once per item (one context per
 *   item) up to the next `reduce` block.
 * - `reduce`: `run` receives the array of per-item outputs (in item order) and returns one value.
 * - `join`: `run` receives `{ "<upstream block id>": output, … }` (failed branches left out; the
 *   executor enforces `config.max_failed_branches`, default 0).
 */
export type BlockRole = 'transform' | 'switch' | 'split' | 'reduce' | 'join';

/** Main-thread facilities a block may use at publish time. */
export interface BlockPrepareDeps {
  ml: MlService;
  workflowId: string;
}

export interface BlockLimits {
  /** Per-input time limit (the block's `timeout`). */
  timeoutMs: number;
  /** Heap limit of the instance, when set (worker `resourceLimits`). */
  memoryMb?: number;
  /**
   * Set by a service instance: it terminates (and replaces) a worker whose run exceeds
   * `timeoutMs`, so a block need not arm its own per-run watchdog.
   */
  hostEnforcesTimeout?: boolean;
}

export interface BlockRunContext {
  blockId: string;
  signal: AbortSignal;
  correlationId?: string;
}

/** A loaded block inside one instance. */
export interface BlockRunner {
  run(input: JsonValue, ctx: BlockRunContext): Promise<JsonValue>;
  close?(): Promise<void>;
}

export interface BlockType {
  /** The `type` used in templates. */
  name: string;
  description: string;
  role?: BlockRole;
  /**
   * `load` runs the user's code (a script's top level), so the block timeout bounds it, the
   * promise callbacks that code scheduled included; the instance fails a longer load.
   */
  loadWithinTimeout?: boolean;
  /** Refused in SYNC flows (switch, split, reduce). */
  asyncOnly?: boolean;
  /**
   * Create-time check of `config` (after `${{ … }}` placeholders were replaced by sample
   * strings); returns the normalized config. Throws a validation FlowdError that names the
   * block and says what to fix.
   */
  validateConfig(config: JsonObject, blockId: string): JsonObject;
  /** Publish time, main thread: resolve references into JSON the instances load. */
  prepare?(config: JsonObject, deps: BlockPrepareDeps): Promise<JsonObject>;
  /** In the instance (worker thread): compile / load. The instance is ready when it resolves. */
  load(config: JsonObject, prepared: JsonObject, limits: BlockLimits): Promise<BlockRunner>;
}
