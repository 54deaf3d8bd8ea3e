/**
 * `register_remote_model`: a model served through a connector (function_name is forced to
 * `remote`). With `deploy: true` it is also deployed and a second resource
 * `deploy_model / model_id` is recorded, so deprovision undeploys before it deletes.
 */
import type { StepDefinition } from '../step.js';
import { ML_PLUGIN, MODEL_ID, registerModel } from './ml-step-support.js';

export const REGISTER_REMOTE_MODEL = 'register_remote_model';

const INPUTS = ['name', 'connector_id'];
const OPTIONAL = [
  'model_group_id',
  'description',
  'deploy',
  'guardrails',
  'interface',
  'is_enabled',
  'rate_limiter',
  'deploy_setting',
  'backend_roles',
  'add_all_backend_roles',
  'access_mode',
  'model_node_ids',
  'function_name',
];

export const registerRemoteModelStep: StepDefinition = {
  name: REGISTER_REMOTE_MODEL,
  inputs: INPUTS,
  optionalInputs: OPTIONAL,
  outputs: [MODEL_ID, 'register_model_status'],
  requiredPlugins: [ML_PLUGIN],
  resourceType: MODEL_ID,
  async execute(ctx) {
    return registerModel(
      ctx,
      REGISTER_REMOTE_MODEL,
      'CREATED',
      (body, key) => ctx.services.ml.registerRemoteModel(body, { idempotencyKey: key, tenantId: ctx.tenantId }),
      [...INPUTS, ...OPTIONAL],
    );
  },
};
