/**
 * What a step type is: declared inputs/outputs (what `_steps` lists and validation checks),
 * the resource it creates, which inputs are secret, its default timeout, and how to create,
 * update and delete its resource. One file per step type (or per provider) implements it.
 */
import type { JsonObject, JsonValue } from '../util/json.js';
import type { ResourceCreated } from '../store/store.js';
import type { StepServices } from './services.js';

export interface StepContext {
  workflowId: string;
  nodeId: string;
  /** Resolved inputs (user_inputs + predecessor outputs + params, substituted). */
  inputs: JsonObject;
  /** Outputs of the node's direct predecessors, keyed by node id. */
  previousOutputs: Record<string, JsonObject>;
  /** previous_node_inputs of the node. */
  previousNodeInputs: Record<string, string>;
  /** Stable across retries and restarts of this node in this run: use it to create at most once. */
  idempotencyKey: string;
  /** Multi-tenancy: the workflow's tenant; the resources a step creates are that tenant's. */
  tenantId?: string;
  signal: AbortSignal;
  services: StepServices;
}

export interface StepResult {
  outputs: JsonObject;
  /** Resources to record, in order; `workflow_step_id` is filled by the engine. */
  resources?: Array<Omit<ResourceCreated, 'workflow_step_id'>>;
}

export interface DeleteContext {
  workflowId: string;
  nodeId: string;
  resourceId: string;
  resourceType: string;
  /** The creating node's user_inputs as stored in the template (secrets decrypted), when known. */
  nodeInputs: JsonObject | undefined;
  signal: AbortSignal;
  services: StepServices;
}

export interface StepDefinition {
  /** The step type name used in templates. */
  name: string;
  /** Required inputs checked at validation time (and listed by `_steps`). */
  inputs: string[];
  /** Extra inputs the step understands (documentation; resolved like the required ones). */
  optionalInputs?: string[];
  outputs: string[];
  requiredPlugins: string[];
  /** Resource type this step records (if any). */
  resourceType?: string;
  /** Inputs encrypted at rest and never returned (e.g. `credential`); dotted paths reach into maps (`model.credential`). */
  secretInputs?: string[];
  /** Default node timeout in ms (10s when not set, as Flow Framework). */
  defaultTimeoutMs?: number;
  /** Hidden from `_steps` and refused in templates (used only by deprovision). */
  denylisted?: boolean;
  /** Inputs required at runtime but not at validation (FF's lists differ). */
  runtimeRequired?: string[];
  execute(ctx: StepContext): Promise<StepResult>;
  /** Reprovision: apply changed inputs to the existing resource. */
  update?(ctx: StepContext, resourceId: string): Promise<StepResult>;
}

/** How a recorded resource is removed on deprovision/rollback, keyed by `workflow_step_name`. */
export interface ResourceDeleter {
  /** The step that created it (its `workflow_step_name`). */
  createdBy: string;
  /** Name of the deprovision step as Flow Framework labels it (e.g. `delete_connector`). */
  deleteStep: string;
  /** Needs an explicit `allow_delete` (indices, pipelines). */
  requiresAllowDelete: boolean;
  /** Resolves when gone; "already gone" must resolve too. */
  remove(ctx: DeleteContext): Promise<void>;
}

export type { JsonValue };
