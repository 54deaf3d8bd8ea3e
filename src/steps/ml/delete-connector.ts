/** `delete_connector`: removes a connector; one that is already gone counts as deleted. */
import type { StepDefinition } from '../step.js';
import { CONNECTOR_ID } from './create-connector.js';
import { ML_PLUGIN, mlCall, requireInput } from './ml-step-support.js';

export const deleteConnectorStep: StepDefinition = {
  name: 'delete_connector',
  inputs: [CONNECTOR_ID],
  outputs: [CONNECTOR_ID],
  requiredPlugins: [ML_PLUGIN],
  async execute(ctx) {
    const id = requireInput(ctx, CONNECTOR_ID);
    await mlCall(ctx, () => ctx.services.ml.deleteConnector(id));
    return { outputs: { [CONNECTOR_ID]: id } };
  },
};
