/** `undeploy_model`: releases a deployed model (an undeployed one stays as it is). */
import { modelNotFound } from '../../errors.js';
import type { StepDefinition } from '../step.js';
import { ML_PLUGIN, MODEL_ID, mlCall, requireInput } from './ml-step-support.js';

export const undeployModelStep: StepDefinition = {
  name: 'undeploy_model',
  inputs: [MODEL_ID],
  outputs: ['success'],
  requiredPlugins: [ML_PLUGIN],
  async execute(ctx) {
    const id = requireInput(ctx, MODEL_ID);
    await mlCall(ctx, async () => {
      if (!(await ctx.services.ml.undeployModel(id))) throw modelNotFound(id);
    });
    return { outputs: { success: true } };
  },
};
