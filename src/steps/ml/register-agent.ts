/**
 * `register_agent`: an ML Commons agent stored natively. Tool wiring follows Flow Framework:
 * every `previous_node_inputs` entry with the value `tools` contributes that node's tool
 * spec, the nodes listed in `tools_order` first; `llm.model_id` comes from the input or else
 * from the predecessor named with the value `model_id`.
 */
import { isObject, jsonish, optionalStringList } from '../../ml/json-util.js';
import type { JsonObject, JsonValue } from '../../util/json.js';
import type { StepContext, StepDefinition } from '../step.js';
import { ML_PLUGIN, MODEL_ID, fromPredecessors, mlCall, pick } from './ml-step-support.js';

export const REGISTER_AGENT = 'register_agent';
export const AGENT_ID = 'agent_id';

const OPTIONAL = [
  'description',
  'llm',
  'model',
  'tools',
  'tools_order',
  'parameters',
  'memory',
  'app_type',
  'context_management_name',
  'context_management',
  'created_time',
  'last_updated_time',
];

/** Predecessors' tool specs (tools_order first), then any tools listed in the inputs. */
function collectTools(ctx: StepContext): JsonValue[] {
  const providers = fromPredecessors(ctx, 'tools');
  const order = optionalStringList(ctx.inputs['tools_order'], 'register_agent [tools_order]') ?? [];
  const rank = (node: string): number => {
    const i = order.indexOf(node);
    return i < 0 ? order.length : i;
  };
  // Array.prototype.sort is stable: unlisted providers keep their previous_node_inputs order.
  const sorted = [...providers].sort((a, b) => rank(a.node) - rank(b.node));
  const tools: JsonValue[] = sorted.flatMap((p) => (Array.isArray(p.value) ? p.value : [p.value]));
  // When a predecessor provides `tools`, input resolution puts its spec (an object) here: skip it.
  const own = jsonish(ctx.inputs['tools']);
  if (Array.isArray(own)) tools.push(...own);
  return tools;
}

function llmOf(ctx: StepContext): JsonValue | undefined {
  const llm = jsonish(ctx.inputs['llm']);
  const fromModel = fromPredecessors(ctx, MODEL_ID)[0]?.value;
  if (llm === undefined || llm === null) return fromModel === undefined ? undefined : { model_id: fromModel };
  if (!isObject(llm)) return llm; // let the service report the wrong type
  const id = llm['model_id'];
  if ((id === undefined || id === null || id === '') && fromModel !== undefined) return { ...llm, model_id: fromModel };
  return llm;
}

export const registerAgentStep: StepDefinition = {
  name: REGISTER_AGENT,
  inputs: ['name', 'type'],
  optionalInputs: OPTIONAL,
  outputs: [AGENT_ID],
  requiredPlugins: [ML_PLUGIN],
  resourceType: AGENT_ID,
  // An inline model (ML Commons' unified agent API) or llm may carry a connector-style credential.
  secretInputs: ['llm.credential', 'model.credential'],
  async execute(ctx) {
    const id = await mlCall(ctx, async () => {
      const body: JsonObject = pick(ctx.inputs, ['name', 'type', ...OPTIONAL]);
      delete body['tools_order'];
      body['tools'] = collectTools(ctx);
      const llm = llmOf(ctx);
      if (llm === undefined) delete body['llm'];
      else body['llm'] = llm;
      return ctx.services.ml.registerAgent(body, { idempotencyKey: ctx.idempotencyKey, tenantId: ctx.tenantId });
    });
    return {
      outputs: { [AGENT_ID]: id },
      resources: [{ workflow_step_name: REGISTER_AGENT, resource_type: AGENT_ID, resource_id: id }],
    };
  },
};
