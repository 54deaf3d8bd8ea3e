/** `delete_agent`: removes an agent; one that is already gone counts as deleted. */
import type { StepDefinition } from '../step.js';
import { AGENT_ID } from './register-agent.js';
import { ML_PLUGIN, mlCall, requireInput } from './ml-step-support.js';

export const deleteAgentStep: StepDefinition = {
  name: 'delete_agent',
  inputs: [AGENT_ID],
  outputs: [AGENT_ID],
  requiredPlugins: [ML_PLUGIN],
  async execute(ctx) {
    const id = requireInput(ctx, AGENT_ID);
    await mlCall(ctx, () => ctx.services.ml.deleteAgent(id));
    return { outputs: { [AGENT_ID]: id } };
  },
};
