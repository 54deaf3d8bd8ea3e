/**
 * A durable run's plan: what to do with each node. Stored with the run, so a run resumed after
 * a crash does exactly what the interrupted one set out to do, even if the template changed.
 */
import type { ResourceCreated } from '../store/store.js';
import type { Template, Workflow } from '../template/types.js';
import type { JsonObject } from '../util/json.js';

export type NodeAction = 'create' | 'update' | 'replay';
export type OnFailure = 'keep' | 'rollback';

export interface Plan {
  workflow: Workflow;
  actions: Record<string, NodeAction>;
  /** Outputs of unchanged nodes replayed from the previous run (reprovision). */
  replayOutputs: Record<string, JsonObject>;
  /** Resources of nodes removed from the template (reprovision): deleted after the rest succeeds. */
  removed: ResourceCreated[];
  /** user_inputs (secrets still sealed) of the removed nodes, for their deleters. */
  removedInputs?: Record<string, JsonObject>;
  onFailure: OnFailure;
  /** Reprovision: the new template, saved when the run completes. */
  template?: Template;
}

export const planToJson = (p: Plan): JsonObject => p as unknown as JsonObject;
export const planFromJson = (j: JsonObject): Plan => j as unknown as Plan;
