/**
 * Per-run state of one region of a flow: the top level, or one item of a split. A scope holds
 * the values and states of the nodes of its region; blocks of enclosing regions are read from
 * the parent scopes (a fixed number of hops, computed by the plan).
 */
import type { JsonObject, JsonValue } from '../util/json.js';
import type { Failure } from './flow-failure.js';
import type { FlowPlan, PlanBlock, PlanRegion } from './flow-plan.js';

export const PENDING = 0;
export const RUNNING = 1;
export const DONE = 2;
export const SKIPPED = 3;
/** The block ran and failed (or a join had too many failed branches). */
export const ERROR = 4;
/** The block did not run because an upstream failed. */
export const POISONED = 5;

export class Scope {
  /** Block outputs (a switch's: its input; a split's: its items, or the item inside its region). */
  readonly values: Array<JsonValue | undefined>;
  readonly state: Uint8Array;
  readonly pending: Int32Array;
  remaining: number;
  errors: Array<Failure[] | undefined> | undefined;
  /** Per switch: the downstream blocks it routed to. */
  routes: Array<readonly number[] | undefined> | undefined;
  /** Per child region: the scopes of its items, in item order. */
  items: Array<Scope[] | undefined> | undefined;

  constructor(
    plan: FlowPlan,
    readonly region: PlanRegion,
    readonly parent: Scope | undefined,
    readonly onDone: () => void,
  ) {
    this.values = new Array<JsonValue | undefined>(plan.n);
    this.state = new Uint8Array(plan.pendingInit.length);
    this.pending = plan.pendingInit.slice();
    this.remaining = region.nodes.length;
  }

  up(hops: number): Scope {
    if (hops === 0) return this;
    let s = this.parent as Scope;
    for (let i = 1; i < hops; i++) s = s.parent as Scope;
    return s;
  }

  failuresOf(node: number): Failure[] {
    return this.errors?.[node] ?? [];
  }

  setFailures(node: number, failures: Failure[]): void {
    (this.errors ??= [])[node] = failures;
  }

  /** Whether block `p`, finished in this scope, feeds block `b` (a switch feeds only its routes). */
  feeds(p: PlanBlock, b: number): boolean {
    return p.role !== 'switch' || (this.routes?.[p.index]?.includes(b) ?? false);
  }
}

/** Follow a dot path through objects (own keys) and arrays (indexes); undefined when absent. */
export function readPath(v: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  let cur = v;
  for (const seg of path) {
    if (Array.isArray(cur)) cur = /^(?:0|[1-9]\d*)$/.test(seg) ? cur[Number(seg)] : undefined;
    else if (cur !== null && typeof cur === 'object') cur = Object.hasOwn(cur, seg) ? cur[seg] : undefined;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Assign without the `__proto__` setter (block ids and mapping keys are user data). */
export function setKey(o: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}
