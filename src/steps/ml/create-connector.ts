/**
 * `create_connector`: an ML Commons connector stored natively in flowd. `credential` is a
 * secret input (encrypted in the stored template) and is sealed again in the connector
 * document. Retries and resumed runs reuse the connector created under the same key.
 */
import type { StepDefinition } from '../step.js';
import { ML_PLUGIN, mlCall, pick } from './ml-step-support.js';

export const CREATE_CONNECTOR = 'create_connector';
export const CONNECTOR_ID = 'connector_id';

const INPUTS = ['name', 'description', 'version', 'protocol', 'parameters', 'credential', 'actions'];
const OPTIONAL = ['backend_roles', 'add_all_backend_roles', 'access_mode', 'client_config', 'url', 'headers'];

export const createConnectorStep: StepDefinition = {
  name: CREATE_CONNECTOR,
  inputs: INPUTS,
  optionalInputs: OPTIONAL,
  outputs: [CONNECTOR_ID],
  requiredPlugins: [ML_PLUGIN],
  resourceType: CONNECTOR_ID,
  secretInputs: ['credential'],
  defaultTimeoutMs: 60_000,
  async execute(ctx) {
    const body = pick(ctx.inputs, [...INPUTS, ...OPTIONAL]);
    const id = await mlCall(ctx, () =>
      ctx.services.ml.createConnector(body, { idempotencyKey: ctx.idempotencyKey, tenantId: ctx.tenantId }),
    );
    return {
      outputs: { [CONNECTOR_ID]: id },
      resources: [{ workflow_step_name: CREATE_CONNECTOR, resource_type: CONNECTOR_ID, resource_id: id }],
    };
  },
};
