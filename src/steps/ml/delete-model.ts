/**
 * `delete_model`: removes a model; one that is already gone counts as deleted (as in Flow
 * Framework). A deployed model is refused: undeploy it first.
 */
import type { StepDefinition } from '../step.js';
import { ML_PLUGIN, MODEL_ID, mlCall, requireInput } from './ml-step-support.js';

export const deleteModelStep: StepDefinition = {
  name: 'delete_model',
  inputs: [MODEL_ID],
  outputs: [MODEL_ID],
  requiredPlugins: [ML_PLUGIN],
  async execute(ctx) {
    const id = requireInput(ctx, MODEL_ID);
    await mlCall(ctx, () => ctx.services.ml.deleteModel(id));
    return { outputs: { [MODEL_ID]: id } };
  },
};
