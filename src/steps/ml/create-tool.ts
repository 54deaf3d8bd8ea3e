/**
 * `create_tool`: builds an ML Commons tool spec for `register_agent`; nothing is persisted.
 * For `connector_id`, `model_id` and `agent_id`, a predecessor that `previous_node_inputs`
 * names with that key fills the tool's `parameters` (unless they already hold it), as Flow
 * Framework does.
 */
import { textOf } from '../../ml/json-util.js';
import { toolSpec } from '../../ml/agents.js';
import type { StepDefinition } from '../step.js';
import { ML_PLUGIN, fromPredecessors, mlCall, pick, requireInput } from './ml-step-support.js';

export const CREATE_TOOL = 'create_tool';
export const TOOLS = 'tools';

const OPTIONAL = ['name', 'description', 'parameters', 'attributes', 'config', 'include_output_in_agent_response', 'runtime_resources'];
const INJECTED = ['connector_id', 'model_id', 'agent_id'];

export const createToolStep: StepDefinition = {
  name: CREATE_TOOL,
  inputs: ['type'],
  optionalInputs: OPTIONAL,
  outputs: [TOOLS],
  requiredPlugins: [ML_PLUGIN],
  async execute(ctx) {
    requireInput(ctx, 'type');
    const spec = await mlCall(ctx, async () => toolSpec(pick(ctx.inputs, ['type', ...OPTIONAL])));
    const params = spec['parameters'];
    if (params !== null && typeof params === 'object' && !Array.isArray(params)) {
      for (const key of INJECTED) {
        const from = fromPredecessors(ctx, key)[0];
        if (from !== undefined && params[key] === undefined) params[key] = textOf(from.value);
      }
    }
    return { outputs: { [TOOLS]: spec } };
  },
};
