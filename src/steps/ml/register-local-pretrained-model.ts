/**
 * `register_local_pretrained_model`: one of flowd's built-in local models (npm-packaged, no
 * download), chosen by `name`; an unknown name fails with the list of available ones.
 * `deploy: true` also loads it and records the `deploy_model` resource.
 */
import type { StepDefinition } from '../step.js';
import { ML_PLUGIN, MODEL_ID, registerModel } from './ml-step-support.js';

export const REGISTER_LOCAL_PRETRAINED_MODEL = 'register_local_pretrained_model';

const INPUTS = ['name', 'version', 'model_format'];
const OPTIONAL = [
  'description',
  'model_group_id',
  'deploy',
  'interface',
  'is_enabled',
  'rate_limiter',
  'deploy_setting',
  'guardrails',
  'backend_roles',
  'add_all_backend_roles',
  'access_mode',
  'model_node_ids',
];

export const registerLocalPretrainedModelStep: StepDefinition = {
  name: REGISTER_LOCAL_PRETRAINED_MODEL,
  inputs: INPUTS,
  optionalInputs: OPTIONAL,
  outputs: [MODEL_ID, 'register_model_status'],
  requiredPlugins: [ML_PLUGIN],
  resourceType: MODEL_ID,
  defaultTimeoutMs: 60_000,
  async execute(ctx) {
    return registerModel(
      ctx,
      REGISTER_LOCAL_PRETRAINED_MODEL,
      'COMPLETED',
      (body, key) => ctx.services.ml.registerLocalModel(body, { idempotencyKey: key, tenantId: ctx.tenantId }),
      [...INPUTS, ...OPTIONAL],
    );
  },
};
