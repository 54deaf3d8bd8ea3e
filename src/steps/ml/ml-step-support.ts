/**
 * What every ML step shares: the plugin it requires (flowd provides `opensearch-ml`
 * natively), the conversion of the ML service's errors into step failures (Flow Framework's
 * `WorkflowStepException`, not retried: a missing connector stays missing), and the inputs
 * check done at run time because inputs can arrive from predecessors after validation.
 */
import { isFlowdError, stepFailure } from '../../errors.js';
import type { JsonObject, JsonValue } from '../../util/json.js';
import type { ResourceCreated } from '../../store/store.js';
import { truthy } from '../../ml/json-util.js';
import type { StepContext, StepResult } from '../step.js';

export const ML_PLUGIN = 'opensearch-ml';
export const MODEL_ID = 'model_id';

/** Runs `fn`, turning the ML service's validation / not-found / conflict errors into step failures. */
export async function mlCall<T>(ctx: Pick<StepContext, 'nodeId'>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isFlowdError(e) || e.kind === 'step_failure' || e.kind === 'internal') throw e;
    throw stepFailure(e.message, { status: e.status, code: e.code, node: ctx.nodeId, retryable: e.retryable, cause: e });
  }
}

/** A required input as a non-empty string (numbers as their text), with Flow Framework's message. */
export function requireInput(ctx: Pick<StepContext, 'inputs' | 'workflowId' | 'nodeId'>, key: string): string {
  const v = ctx.inputs[key];
  const text = typeof v === 'number' ? String(v) : v;
  if (typeof text !== 'string' || text.trim() === '') {
    throw stepFailure(`Missing required inputs [${key}] in workflow [${ctx.workflowId}] node [${ctx.nodeId}]`, {
      status: 400,
      code: 'step.missing_inputs',
      node: ctx.nodeId,
    });
  }
  return text;
}

/** The inputs among `keys` that are present, as the body handed to the ML service. */
export function pick(inputs: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of keys) {
    const v: JsonValue | undefined = inputs[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The value a predecessor provides for `key` when `previous_node_inputs` names it so. */
export function fromPredecessors(
  ctx: Pick<StepContext, 'previousNodeInputs' | 'previousOutputs'>,
  key: string,
): Array<{ node: string; value: JsonValue }> {
  const out: Array<{ node: string; value: JsonValue }> = [];
  for (const [node, want] of Object.entries(ctx.previousNodeInputs)) {
    if (want !== key) continue;
    const value = ctx.previousOutputs[node]?.[key];
    if (value !== undefined && value !== null) out.push({ node, value });
  }
  return out;
}

/** A register step's resources: the model, then (with `deploy: true`) its deployment. */
export function modelResources(stepName: string, modelId: string, deployed: boolean): Array<Omit<ResourceCreated, 'workflow_step_id'>> {
  const out = [{ workflow_step_name: stepName, resource_type: MODEL_ID, resource_id: modelId }];
  if (deployed) out.push({ workflow_step_name: 'deploy_model', resource_type: MODEL_ID, resource_id: modelId });
  return out;
}

/**
 * Shared by the register_*_model steps: register once per idempotency key, then deploy when
 * `deploy` is true (`"true"` after substitution counts), recording both resources.
 */
export async function registerModel(
  ctx: StepContext,
  stepName: string,
  status: string,
  register: (body: JsonObject, key: string) => Promise<string>,
  keys: readonly string[],
): Promise<StepResult> {
  const modelId = await mlCall(ctx, () => register(pick(ctx.inputs, keys), ctx.idempotencyKey));
  const deploy = truthy(ctx.inputs['deploy']);
  const outputs: JsonObject = { model_id: modelId, register_model_status: status };
  if (deploy) {
    await mlCall(ctx, () => ctx.services.ml.deployModel(modelId, ctx.signal));
    outputs['deploy_model_status'] = 'COMPLETED';
  }
  return { outputs, resources: modelResources(stepName, modelId, deploy) };
}
