/**
 * Runs one input through a published flow. Event-driven: a block is dispatched
 * the moment its (routed) upstreams are finished, so independent branches run concurrently.
 * Routing is the executor's job (block.ts `BlockRole`): a switch's routes choose the edges that
 * are followed, a split runs its context once per item, a reduce collects the items, a join
 * tolerates up to `max_failed_branches` failed branches. The first failure nothing can absorb
 * aborts the blocks still running and answers `{"errors":[{message, node, code, retryable}]}`.
 *
 * Where data goes: a start block gets the workflow input; a block with one upstream gets its
 * output; several upstreams (and any join) give `{ "<upstreamId>": output }` of those that ran;
 * an `input` mapping replaces all that (a missing path or a skipped source leaves the key out).
 * The workflow output is the last block's output, or `{ "<lastBlockId>": output }` for several
 * (skipped ones left out); a last block inside a split context gives the array of its per-item
 * outputs. Items a switch routed nowhere are left out of a reduce's input.
 *
 * Block timeouts are the dispatcher's (the instance enforces the block's `timeout`); the caller
 * bounds the whole run with `signal` (an AbortSignal.timeout answers 504).
 */
import { setMaxListeners } from 'node:events';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { BlockType } from '../blocks/block.js';
import type { FlowSpec } from '../blocks/flow-spec.js';
import { compileInputSchema } from '../blocks/input-schema.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { FlowdError, coerceError, stepFailure, validationError } from '../errors.js';
import { failureOf, flowErrorOf, flowFailure } from './flow-failure.js';
import type { Failure, FlowError } from './flow-failure.js';
import { buildFlowPlan } from './flow-plan.js';
import type { FlowPlan, PlanBlock } from './flow-plan.js';
import { DONE, ERROR, PENDING, POISONED, RUNNING, SKIPPED, Scope, readPath, setKey } from './flow-scope.js';
import { FlowTrace } from './flow-trace.js';

export type { FlowError } from './flow-failure.js';

export type Dispatch = (blockId: string, input: JsonValue, ctx: { signal: AbortSignal; correlationId?: string }) => Promise<JsonValue>;
/** Runs a whole chain of blocks in one go; undefined when it cannot now (then block by block). */
export type DispatchChain = (
  blockIds: readonly string[],
  input: JsonValue,
  ctx: { signal: AbortSignal; correlationId?: string },
) => Promise<JsonValue> | undefined;

export type FlowResult =
  | { ok: true; output: JsonValue }
  | {
      ok: false;
      errors: FlowError[];
      /** HTTP status: 400 bad input, 422 block error, the block's 4xx, 503 unavailable, 504 timeout. */
      status: number;
      verbose?: JsonObject;
    };

export interface FlowExecuteOptions {
  dispatch: Dispatch;
  dispatchChain?: DispatchChain;
  signal?: AbortSignal;
  correlationId?: string;
  /** On error, add per-block `componentsData` and `workflowData` (NL Flow verboseErrorOutput). */
  verbose?: boolean;
}

export interface FlowExecutorOptions {
  /** Items of one split run concurrently up to this many (default 16). */
  itemConcurrency?: number;
  /** A split returning more items than this fails (default 10000). */
  maxItems?: number;
}

export class FlowExecutor {
  readonly #plan: FlowPlan;
  readonly #validate: ValidateFunction | undefined;
  readonly #limits: Required<FlowExecutorOptions>;

  constructor(spec: FlowSpec, blockType: (name: string) => BlockType | undefined, opts: FlowExecutorOptions = {}) {
    this.#plan = buildFlowPlan(spec, blockType);
    // patterns run on RE2 (linear time): validation is on the main thread, with user-written schemas
    this.#validate = spec.inputSchema === undefined ? undefined : compileInputSchema(spec.inputSchema);
    this.#limits = { itemConcurrency: Math.max(1, opts.itemConcurrency ?? 16), maxItems: opts.maxItems ?? 10_000 };
  }

  execute(input: JsonValue, opts: FlowExecuteOptions): Promise<FlowResult> {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return Promise.resolve(
        inputError(
          `The workflow input must be a JSON object, got ${Array.isArray(input) ? 'an array' : input === null ? 'null' : `a ${typeof input}`}. Send an object such as {"text": "…"}.`,
        ),
      );
    }
    if (this.#validate !== undefined && !this.#validate(input)) {
      return Promise.resolve(
        inputError(`The workflow input does not match the flow's input_schema: ${schemaMessage(this.#validate.errors?.[0])}.`),
      );
    }
    return new Execution(this.#plan, this.#limits, input, opts).run();
  }
}

function inputError(message: string): FlowResult {
  const e = validationError(message, { code: 'flow.invalid_input', node: '$input' });
  return { ok: false, status: e.status, errors: [flowErrorOf(e)] };
}

function schemaMessage(e: ErrorObject | undefined): string {
  if (e === undefined) return 'invalid';
  const at = `input${e.instancePath.replace(/\//g, '.')}`;
  const params = e.params as Record<string, unknown>;
  const extra =
    e.keyword === 'enum'
      ? `: ${JSON.stringify(params.allowedValues)}`
      : e.keyword === 'additionalProperties'
        ? ` [${String(params.additionalProperty)}]`
        : '';
  return `${at} ${e.message ?? 'is invalid'}${extra}`;
}

class Execution {
  readonly #plan: FlowPlan;
  readonly #limits: Required<FlowExecutorOptions>;
  readonly #input: JsonObject;
  readonly #opts: FlowExecuteOptions;
  /** Aborts the blocks still running when the run ends early; none is needed when one dispatch at a time runs under the caller's signal. */
  readonly #ac: AbortController | undefined;
  readonly #ctx: { signal: AbortSignal; correlationId?: string };
  readonly #trace: FlowTrace | undefined;
  #finished = false;
  #resolveRun: (r: FlowResult) => void = () => undefined;
  #onExternalAbort: (() => void) | undefined;

  constructor(plan: FlowPlan, limits: Required<FlowExecutorOptions>, input: JsonObject, opts: FlowExecuteOptions) {
    this.#plan = plan;
    this.#limits = limits;
    this.#input = input;
    this.#opts = opts;
    // One block, or a chain: a single dispatch is ever in flight, and the run only ends early
    // when the caller's signal aborts, which that dispatch already hears.
    const single = plan.regions.length === 1 && (plan.n === 1 || plan.chain !== undefined);
    let signal: AbortSignal;
    if (single && opts.signal !== undefined) {
      this.#ac = undefined;
      signal = opts.signal;
    } else {
      this.#ac = new AbortController();
      signal = this.#ac.signal;
    }
    this.#ctx = opts.correlationId === undefined ? { signal } : { signal, correlationId: opts.correlationId };
    this.#trace = opts.verbose ? new FlowTrace(plan) : undefined;
    // Every in-flight dispatch may listen on the signal; split items make that many.
    if (this.#ac !== undefined && (plan.regions.length > 1 || plan.n > 8)) setMaxListeners(0, this.#ac.signal);
  }

  run(): Promise<FlowResult> {
    return new Promise<FlowResult>((resolve) => {
      this.#resolveRun = resolve;
      const external = this.#opts.signal;
      if (external !== undefined) {
        if (external.aborted) return this.#canceled(external.reason);
        this.#onExternalAbort = () => this.#canceled(external.reason);
        external.addEventListener('abort', this.#onExternalAbort, { once: true });
      }
      const top: Scope = new Scope(this.#plan, this.#plan.regions[0] as Scope['region'], undefined, () => this.#succeed(top));
      if (!this.#runChain(top)) this.#guard(() => this.#startScope(top));
    });
  }

  /**
   * A chain flow (plan.chain) goes through its blocks in one dispatch when the stream can (not
   * when tracing: the trace needs every block's output). The answer is what running the chain
   * block by block would give: the last output, or the first failure with its block.
   */
  #runChain(top: Scope): boolean {
    const chain = this.#plan.chain;
    const send = this.#opts.dispatchChain;
    if (chain === undefined || send === undefined || this.#trace !== undefined) return false;
    const first = chain.first;
    let p: Promise<JsonValue> | undefined;
    try {
      p = send(chain.ids, this.#inputOf(top, first), this.#ctx);
    } catch (e) {
      p = Promise.reject(coerceError(e));
    }
    if (p === undefined) return false;
    p.then(
      (output) => this.#end({ ok: true, output }),
      (e: unknown) =>
        this.#guard(() => this.#finishFailed([failureOf(e, e instanceof FlowdError && e.node !== undefined ? e.node : first.id)])),
    );
    return true;
  }

  #startScope(scope: Scope): void {
    const nodes = scope.region.nodes;
    if (nodes.length === 0) return scope.onDone();
    for (const node of nodes) {
      if (this.#finished) return;
      if (scope.pending[node] === 0 && scope.state[node] === PENDING) this.#ready(scope, node);
    }
  }

  #ready(scope: Scope, node: number): void {
    const n = this.#plan.n;
    if (node >= n) this.#runRegion(scope, node - n);
    else if (this.#plan.blocks[node]?.role === 'reduce') this.#runReduce(scope, this.#plan.blocks[node]);
    else this.#runBlock(scope, this.#plan.blocks[node] as PlanBlock);
  }

  /** Mark a node finished and start whatever was waiting only for it. */
  #settle(scope: Scope, node: number, state: number): void {
    scope.state[node] = state;
    for (const d of this.#plan.dependents[node] as number[]) {
      const left = (scope.pending[d] as number) - 1;
      scope.pending[d] = left;
      if (left === 0 && !this.#finished) this.#ready(scope, d);
    }
    if (--scope.remaining === 0 && !this.#finished) scope.onDone();
  }

  #runBlock(scope: Scope, b: PlanBlock): void {
    const { preds, predHops } = b;
    let completed = 0;
    let failed = 0;
    let failures: Failure[] | undefined;
    for (let i = 0; i < preds.length; i++) {
      const s = scope.up(predHops[i] as number);
      const p = preds[i] as number;
      const st = s.state[p];
      if (st === DONE) {
        if (s.feeds(this.#plan.blocks[p] as PlanBlock, b.index)) completed++;
      } else if (st === ERROR || st === POISONED) {
        failed++;
        failures = failures === undefined ? s.failuresOf(p) : failures.concat(s.failuresOf(p));
      }
    }
    if (failed > 0 && !(b.role === 'join' && failed <= b.maxFailedBranches)) {
      if (b.role !== 'join') return this.#fail(scope, b, failures ?? [], POISONED);
      this.#trace?.joinFailed(b, failed);
      return this.#fail(scope, b, failures ?? [], ERROR);
    }
    if (preds.length > 0 && completed === 0 && failed === 0) {
      this.#trace?.skipped(b.index);
      return this.#settle(scope, b.index, SKIPPED);
    }
    this.#dispatch(scope, b, this.#inputOf(scope, b));
  }

  #inputOf(scope: Scope, b: PlanBlock): JsonValue {
    if (b.mapping !== undefined) {
      const o: JsonObject = {};
      for (const m of b.mapping) {
        let v: JsonValue | undefined;
        if (m.source < 0) v = readPath(this.#input, m.path);
        else {
          const s = scope.up(m.hops);
          if (s.state[m.source] === DONE) v = readPath(s.values[m.source], m.path);
        }
        if (v !== undefined) setKey(o, m.key, v);
      }
      return o;
    }
    const { preds, predHops } = b;
    if (preds.length === 0) return this.#input;
    if (preds.length === 1 && b.role !== 'join') return scope.up(predHops[0] as number).values[preds[0] as number] as JsonValue;
    const o: JsonObject = {};
    for (let i = 0; i < preds.length; i++) {
      const s = scope.up(predHops[i] as number);
      const p = preds[i] as number;
      if (s.state[p] === DONE && s.feeds(this.#plan.blocks[p] as PlanBlock, b.index))
        setKey(o, (this.#plan.blocks[p] as PlanBlock).id, s.values[p] as JsonValue);
    }
    return o;
  }

  #dispatch(scope: Scope, b: PlanBlock, input: JsonValue): void {
    scope.state[b.index] = RUNNING;
    const started = this.#trace?.started(b.index) ?? 0;
    let p: Promise<JsonValue>;
    try {
      p = this.#opts.dispatch(b.id, input, this.#ctx);
    } catch (e) {
      p = Promise.reject(coerceError(e));
    }
    p.then(
      (out) => this.#guard(() => this.#onOutput(scope, b, input, out, started)),
      (e: unknown) => this.#guard(() => this.#onError(scope, b, e, started)),
    );
  }

  #onOutput(scope: Scope, b: PlanBlock, input: JsonValue, out: JsonValue, started: number): void {
    if (this.#finished) return;
    let failure: Failure | undefined;
    if (b.role === 'switch') {
      const routes = this.#routesOf(b, out);
      if (Array.isArray(routes)) {
        (scope.routes ??= [])[b.index] = routes;
        scope.values[b.index] = input;
      } else failure = routes;
    } else if (b.role === 'split' && (!Array.isArray(out) || out.length > this.#limits.maxItems)) {
      const message = Array.isArray(out)
        ? `Split block [${b.id}] returned ${out.length} items, more than the limit of ${this.#limits.maxItems}: split into fewer, larger items.`
        : `Split block [${b.id}] must return an array of items, got ${out === null ? 'null' : typeof out}.`;
      failure = flowFailure(message, b.id, 'flow.invalid_split_output', 422);
    } else {
      scope.values[b.index] = out;
    }
    if (failure !== undefined) {
      this.#trace?.errored(b.index, started, flowErrorOf(failure.error));
      return this.#fail(scope, b, [failure], ERROR);
    }
    this.#trace?.completed(b.index, started, out);
    this.#settle(scope, b.index, DONE);
  }

  #onError(scope: Scope, b: PlanBlock, e: unknown, started: number): void {
    if (this.#finished) return;
    const f = failureOf(e, b.id);
    this.#trace?.errored(b.index, started, flowErrorOf(f.error));
    this.#fail(scope, b, [f], ERROR);
  }

  /** Record a failed block; end the run unless a join downstream may still absorb it. */
  #fail(scope: Scope, b: PlanBlock, failures: Failure[], state: number): void {
    if (state === POISONED) this.#trace?.poisoned(b.index);
    scope.setFailures(b.index, failures);
    if (b.fatal) return this.#finishFailed(failures);
    this.#settle(scope, b.index, state);
  }

  #routesOf(b: PlanBlock, out: JsonValue): number[] | Failure {
    const routes = out !== null && typeof out === 'object' && !Array.isArray(out) ? out.routes : undefined;
    if (!Array.isArray(routes)) {
      return flowFailure(
        `Switch block [${b.id}] must return {"routes": ["<block id>", …]}, got ${JSON.stringify(out)?.slice(0, 200)}.`,
        b.id,
        'flow.invalid_switch_output',
        422,
      );
    }
    const out2: number[] = [];
    for (const r of routes) {
      const d = typeof r === 'string' ? this.#plan.index.get(r) : undefined;
      if (d === undefined || !b.succs.includes(d)) {
        const known = b.succs.map((s) => this.#plan.blocks[s]?.id).join(', ');
        return flowFailure(
          `Switch block [${b.id}] routed to ${JSON.stringify(r)}, which is not one of its downstream blocks [${known}].`,
          b.id,
          'flow.invalid_route',
          422,
        );
      }
      out2.push(d);
    }
    return out2;
  }

  /** A split's context: run it once per item (bounded concurrency), then collect its sinks. */
  #runRegion(scope: Scope, r: number): void {
    const node = this.#plan.n + r;
    const region = this.#plan.regions[r] as Scope['region'];
    scope.state[node] = RUNNING;
    const splitState = scope.state[region.split];
    if (splitState === SKIPPED) {
      for (const s of region.sinks) scope.state[s] = SKIPPED;
      return this.#settle(scope, node, SKIPPED);
    }
    if (splitState !== DONE) {
      const failures = scope.failuresOf(region.split);
      if (region.sinks.length > 0) return this.#finishFailed(failures);
      scope.setFailures(node, failures);
      return this.#settle(scope, node, POISONED);
    }
    const items = scope.values[region.split] as JsonValue[];
    const scopes = new Array<Scope>(items.length);
    let next = 0;
    let active = 0;
    let done = 0;
    let pumping = false;
    const finish = (): void => {
      (scope.items ??= [])[r] = scopes;
      for (const s of region.sinks) {
        const collected: JsonValue[] = [];
        for (const sc of scopes) if (sc.state[s] === DONE) collected.push(sc.values[s] as JsonValue);
        scope.values[s] = collected;
        scope.state[s] = DONE;
      }
      this.#settle(scope, node, DONE);
    };
    const itemDone = (): void => {
      active--;
      if (++done === items.length) finish();
      else pump();
    };
    // A loop, not recursion: items whose blocks all skip finish synchronously.
    const pump = (): void => {
      if (pumping) return;
      pumping = true;
      while (active < this.#limits.itemConcurrency && next < items.length && !this.#finished) {
        const k = next++;
        active++;
        const sc = new Scope(this.#plan, region, scope, itemDone);
        sc.values[region.split] = items[k];
        sc.state[region.split] = DONE;
        scopes[k] = sc;
        this.#startScope(sc);
      }
      pumping = false;
    };
    if (items.length === 0) return finish();
    pump();
  }

  #runReduce(scope: Scope, b: PlanBlock): void {
    const node = this.#plan.n + b.closes;
    const st = scope.state[node];
    if (st === SKIPPED) {
      this.#trace?.skipped(b.index);
      return this.#settle(scope, b.index, SKIPPED);
    }
    if (st !== DONE) return this.#fail(scope, b, scope.failuresOf(node), POISONED);
    const collected: JsonValue[] = [];
    let failures: Failure[] | undefined;
    for (const sc of scope.items?.[b.closes] ?? []) {
      let one: JsonValue | undefined;
      for (const p of b.preds) {
        const pst = sc.state[p];
        if (pst === ERROR || pst === POISONED) failures = (failures ?? []).concat(sc.failuresOf(p));
        else if (pst === DONE && sc.feeds(this.#plan.blocks[p] as PlanBlock, b.index)) {
          if (b.preds.length === 1) one = sc.values[p];
          else setKey((one ??= {}) as JsonObject, (this.#plan.blocks[p] as PlanBlock).id, sc.values[p] as JsonValue);
        }
      }
      if (one !== undefined) collected.push(one);
    }
    if (failures !== undefined) return this.#fail(scope, b, failures, POISONED);
    this.#dispatch(scope, b, collected);
  }

  #succeed(top: Scope): void {
    const sinks = this.#plan.sinks;
    let output: JsonValue;
    if (sinks.length === 1) {
      const s = sinks[0] as number;
      output = top.state[s] === DONE ? (top.values[s] as JsonValue) : null;
    } else {
      const o: JsonObject = {};
      for (const s of sinks) if (top.state[s] === DONE) setKey(o, (this.#plan.blocks[s] as PlanBlock).id, top.values[s] as JsonValue);
      output = o;
    }
    this.#end({ ok: true, output });
  }

  #finishFailed(failures: Failure[]): void {
    if (this.#finished) return;
    const errors = [...new Set(failures.map((f) => f.error))].map(flowErrorOf);
    const status = failures[0]?.status ?? 500;
    if (errors.length === 0) errors.push(flowErrorOf(stepFailure('The flow failed.', { code: 'flow.failed', node: '$flow' })));
    this.#end({ ok: false, errors, status });
  }

  #canceled(reason: unknown): void {
    const timeout = reason instanceof Error && reason.name === 'TimeoutError';
    const f = timeout
      ? flowFailure(
          'The workflow did not finish within its time limit; retry later or raise the limit.',
          '$flow',
          'flow.timeout',
          504,
          true,
        )
      : flowFailure(`The run was canceled${reason instanceof Error ? `: ${reason.message}` : ''}.`, '$flow', 'flow.canceled', 499, true);
    this.#finishFailed([f]);
  }

  #end(result: FlowResult): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#onExternalAbort !== undefined) this.#opts.signal?.removeEventListener('abort', this.#onExternalAbort);
    if (!result.ok) {
      const e = new Error(`The flow stopped: ${result.errors[0]?.message ?? 'failed'}`);
      e.name = 'AbortError';
      this.#ac?.abort(e);
      if (this.#trace !== undefined) result.verbose = this.#trace.verbose(this.#input);
    }
    this.#resolveRun(result);
  }

  /** A bug in the executor must answer the request, not leave it hanging. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#finishFailed([flowFailure(`Internal error in the flow executor: ${coerceError(e).message}`, '$flow', 'flow.internal', 500)]);
    }
  }
}
