/**
 * Per-block record of one run, kept only when the caller asked for verbose error output (NL Flow
 * `verboseErrorOutput`): `componentsData` per block and `workflowData`. A block inside a split
 * context runs once per item: its record sums the durations, counts the runs in `items`, keeps
 * the last output and the first error, and shows the worst status.
 */
import type { JsonObject, JsonValue } from '../util/json.js';
import type { FlowError } from './flow-failure.js';
import type { FlowPlan, PlanBlock } from './flow-plan.js';

type ComponentStatus = 'COMPLETED' | 'ERROR' | 'SKIPPED' | 'CANCELED';
const RANK: Record<ComponentStatus, number> = { SKIPPED: 0, COMPLETED: 1, CANCELED: 2, ERROR: 3 };

interface Record_ {
  status: ComponentStatus | undefined;
  durationMs: number;
  runs: number;
  inFlight: number;
  output?: JsonValue;
  error?: FlowError;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export class FlowTrace {
  readonly #plan: FlowPlan;
  readonly #t0 = performance.now();
  readonly #records: Record_[];

  constructor(plan: FlowPlan) {
    this.#plan = plan;
    this.#records = plan.blocks.map(() => ({ status: undefined, durationMs: 0, runs: 0, inFlight: 0 }));
  }

  #set(b: number, status: ComponentStatus): Record_ {
    const r = this.#records[b] as Record_;
    if (r.status === undefined || RANK[status] > RANK[r.status]) r.status = status;
    return r;
  }

  started(b: number): number {
    (this.#records[b] as Record_).inFlight++;
    return performance.now();
  }

  completed(b: number, started: number, output: JsonValue): void {
    const r = this.#set(b, 'COMPLETED');
    r.inFlight--;
    r.runs++;
    r.durationMs += performance.now() - started;
    r.output = output;
  }

  errored(b: number, started: number, error: FlowError): void {
    const r = this.#set(b, 'ERROR');
    r.inFlight--;
    r.runs++;
    r.durationMs += performance.now() - started;
    r.error ??= error;
  }

  skipped(b: number): void {
    this.#set(b, 'SKIPPED');
  }

  /** Not run because an upstream failed. */
  poisoned(b: number): void {
    this.#set(b, 'CANCELED');
  }

  joinFailed(b: PlanBlock, failed: number): void {
    const r = this.#set(b.index, 'ERROR');
    r.error ??= {
      message: `Join [${b.id}]: ${failed} upstream branches failed, more than its max_failed_branches (${b.maxFailedBranches}).`,
      node: b.id,
      code: 'flow.join_failed',
      retryable: false,
    };
  }

  verbose(input: JsonValue): JsonObject {
    const componentsData: JsonObject = {};
    this.#plan.blocks.forEach((b, i) => {
      const r = this.#records[i] as Record_;
      // Still running when the run stopped, or never reached: canceled by the failure.
      const status: ComponentStatus = r.inFlight > 0 && r.status !== 'ERROR' ? 'CANCELED' : (r.status ?? 'CANCELED');
      const o: JsonObject = { status, durationMs: round(r.durationMs) };
      if (b.region !== 0) o.items = r.runs;
      if (r.output !== undefined) o.output = r.output;
      if (r.error !== undefined) o.error = { ...r.error };
      Object.defineProperty(componentsData, b.id, { value: o, enumerable: true, writable: true, configurable: true });
    });
    return { componentsData, workflowData: { input, durationMs: round(performance.now() - this.#t0) } };
  }
}
