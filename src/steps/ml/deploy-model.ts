/**
 * `deploy_model`: loads a local model in-process or marks a remote model deployed.
 * Deploying a deployed model succeeds, so a retried step is harmless.
 */
import type { StepDefinition } from '../step.js';
import { ML_PLUGIN, MODEL_ID, mlCall, requireInput } from './ml-step-support.js';

export const DEPLOY_MODEL = 'deploy_model';

export const deployModelStep: StepDefinition = {
  name: DEPLOY_MODEL,
  inputs: [MODEL_ID],
  outputs: [MODEL_ID],
  requiredPlugins: [ML_PLUGIN],
  resourceType: MODEL_ID,
  defaultTimeoutMs: 15_000,
  async execute(ctx) {
    const id = requireInput(ctx, MODEL_ID);
    await mlCall(ctx, () => ctx.services.ml.deployModel(id, ctx.signal));
    return {
      outputs: { [MODEL_ID]: id, deploy_model_status: 'COMPLETED' },
      resources: [{ workflow_step_name: DEPLOY_MODEL, resource_type: MODEL_ID, resource_id: id }],
    };
  },
};
