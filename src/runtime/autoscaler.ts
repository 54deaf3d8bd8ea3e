/**
 * Queue-driven autoscaling of an ASYNC flow's services (KEDA-style, as NL Flow's parameters
 * are): every `pollingInterval` each service gets enough instances for the work waiting and
 * running (ceil(work / consumers)), between its floor and max; after `cooldownPeriod` with no
 * work it goes to `minReplicas` (0 allowed). Scale-down only drains instances, so in-flight
 * work finishes. A submitted task wakes a scaled-to-zero flow at once instead of waiting for
 * the next poll: that is the cold start the benchmark measures.
 */
import type { AutoscalingSpec, FlowSpec } from '../blocks/flow-spec.js';
import type { PublishedFlow } from './published-flow.js';
import type { TaskRunner } from './task-runner.js';

export class Autoscaler {
  readonly #flow: PublishedFlow;
  readonly #runner: TaskRunner;
  readonly #onChange: () => void;
  readonly #targets = new Map<string, number>();
  #lastBusy = Date.now();
  #timer: NodeJS.Timeout | undefined;

  readonly #base: (blockId: string, replicas: number) => number;

  /**
   * `base`: the instances this node runs of a block when nothing is scaled (in a cluster, its
   * placement share; alone, the block's replicas). Tasks in flight follow from it, so each node
   * claims what its own instances can take.
   */
  constructor(
    flow: PublishedFlow,
    runner: TaskRunner,
    onChange: () => void,
    base: (blockId: string, replicas: number) => number = (_id, n) => n,
  ) {
    this.#flow = flow;
    this.#runner = runner;
    this.#onChange = onChange;
    this.#base = base;
    for (const b of flow.spec.blocks) this.#targets.set(b.id, base(b.id, b.replicas));
    this.#applyConcurrency();
  }

  get targets(): ReadonlyMap<string, number> {
    return this.#targets;
  }

  #as(): AutoscalingSpec {
    return this.#flow.spec.autoscaling;
  }

  #enabled(): boolean {
    return this.#as().preset !== 'disabled';
  }

  start(): void {
    if (!this.#enabled()) return;
    const tick = (): void => {
      this.evaluate();
      this.#timer = setTimeout(tick, this.#as().pollingIntervalMs);
      this.#timer.unref();
    };
    this.#timer = setTimeout(tick, this.#as().pollingIntervalMs);
    this.#timer.unref();
  }

  /** Work arrived: bring every service at zero to its floor (at least one instance) now. */
  wake(): void {
    this.#lastBusy = Date.now();
    if (!this.#enabled()) return;
    let changed = false;
    for (const b of this.#flow.spec.blocks) {
      if ((this.#targets.get(b.id) ?? 0) === 0) {
        this.#set(b.id, Math.max(1, this.#as().minReplicas));
        changed = true;
      }
    }
    if (changed) this.#afterChange();
  }

  evaluate(now = Date.now()): void {
    if (!this.#enabled()) return;
    const work = this.#runner.queued + this.#runner.running;
    if (work > 0) this.#lastBusy = now;
    const idle = work === 0 && now - this.#lastBusy >= this.#as().cooldownPeriodMs;
    let changed = false;
    for (const b of this.#flow.spec.blocks) {
      const max = Math.max(b.replicas, this.#as().maxReplicas);
      const floor = this.#as().minReplicas;
      const current = this.#targets.get(b.id) ?? b.replicas;
      let next = current;
      if (idle) next = floor;
      else if (work > 0) next = Math.min(max, Math.max(floor, 1, Math.ceil(work / b.consumers)));
      // Between work and cooldown: keep what is running (no flapping).
      if (next !== current) {
        this.#set(b.id, next);
        changed = true;
      }
    }
    if (changed) this.#afterChange();
  }

  #set(blockId: string, n: number): void {
    this.#targets.set(blockId, n);
    this.#flow.service(blockId)?.setDesired(n);
  }

  #afterChange(): void {
    this.#applyConcurrency();
    this.#onChange();
  }

  /** Tasks in flight = what the narrowest service can take (instances × consumers). */
  #applyConcurrency(): void {
    const spec: FlowSpec = this.#flow.spec;
    let c = Infinity;
    for (const b of spec.blocks) c = Math.min(c, Math.max(1, this.#targets.get(b.id) ?? b.replicas) * b.consumers);
    this.#runner.setConcurrency(Number.isFinite(c) ? c : 1);
  }

  /** The spec or this node's placement share changed: re-read replicas. */
  reset(): void {
    const fixed = !this.#enabled();
    for (const b of this.#flow.spec.blocks) if (fixed || !this.#targets.has(b.id)) this.#targets.set(b.id, this.#base(b.id, b.replicas));
    for (const id of [...this.#targets.keys()]) if (!this.#flow.spec.blocks.some((b) => b.id === id)) this.#targets.delete(id);
    this.#applyConcurrency();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }
}
