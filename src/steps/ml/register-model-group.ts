/**
 * `register_model_group`: a named group for model versions. Deprovision leaves groups in
 * place, as Flow Framework does (its deprovision step for them is a noop).
 */
import type { StepDefinition } from '../step.js';
import { ML_PLUGIN, mlCall, pick } from './ml-step-support.js';

export const REGISTER_MODEL_GROUP = 'register_model_group';
export const MODEL_GROUP_ID = 'model_group_id';

const OPTIONAL = ['description', 'backend_roles', 'access_mode', 'add_all_backend_roles'];

export const registerModelGroupStep: StepDefinition = {
  name: REGISTER_MODEL_GROUP,
  inputs: ['name'],
  optionalInputs: OPTIONAL,
  outputs: [MODEL_GROUP_ID, 'model_group_status'],
  requiredPlugins: [ML_PLUGIN],
  resourceType: MODEL_GROUP_ID,
  async execute(ctx) {
    const body = pick(ctx.inputs, ['name', ...OPTIONAL]);
    const id = await mlCall(ctx, () =>
      ctx.services.ml.registerModelGroup(body, { idempotencyKey: ctx.idempotencyKey, tenantId: ctx.tenantId }),
    );
    return {
      outputs: { [MODEL_GROUP_ID]: id, model_group_status: 'CREATED' },
      resources: [{ workflow_step_name: REGISTER_MODEL_GROUP, resource_type: MODEL_GROUP_ID, resource_id: id }],
    };
  },
};
