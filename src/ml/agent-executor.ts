/**
 * `POST /_plugins/_ml/agents/{id}/_execute`, ML Commons' flow agent: the tools run in order,
 * each with the agent's tool parameters overlaid by the request's (`<tool>.key` addresses one
 * tool), and each tool's output is offered to the next as the parameter `<tool name>.output`
 * (JSON-escaped, so it can sit inside a JSON request body). The answer is one ModelTensors:
 * the last tool's output, plus the outputs of tools with `include_output_in_agent_response`.
 *
 * A conversational_flow agent without memory (or without app_type) runs the same way, as in ML
 * Commons, except that a single tool's output keeps the tool's name. Agents that need ML
 * Commons' conversation memory (conversational, plan_execute_and_reflect, conversational_flow
 * with memory and app_type) are refused with a 400 that says so, never answered with a guess.
 */
import { notFound, validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { isObject } from './json-util.js';
import type { MlService } from './ml-service.js';
import type { ModelTensor } from './predict-io.js';
import type { ToolOutput, ToolParams } from './ml-tools.js';
import { checkRunnable, runTool } from './ml-tools.js';

/** The execute answer: ML Commons' `ModelTensorOutput` (no status_code on agent outputs). */
export type AgentOutput = { inference_results: { output: ModelTensor[] }[] };

/** Agents calling agents (AgentTool) deeper than this are refused: a cycle, most likely. */
const MAX_DEPTH = 8;

export const agentNotFound = (agentId: string): Error =>
  notFound(`Failed to find agent with the provided agent id: ${agentId}`, { code: 'ml.agent_not_found' });

/** ML Commons reads `parameters` as a string map: other values become their JSON text. */
export function executeParams(body: unknown): ToolParams {
  const params = isObject(body) ? body['parameters'] : undefined;
  if (!isObject(params)) throw validationError('Agent input data can not be empty.', { code: 'ml.invalid_agent_input' });
  const out: ToolParams = {};
  for (const [k, v] of Object.entries(params)) if (v !== null) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

interface ToolSpec {
  type: string;
  name: string | undefined;
  parameters: ToolParams;
  config: ToolParams;
  includeOutput: boolean;
}

const stringMap = (v: JsonValue | undefined): ToolParams => {
  const out: ToolParams = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};

function toolSpecs(agent: JsonObject): ToolSpec[] {
  const tools = Array.isArray(agent['tools']) ? agent['tools'] : [];
  return tools.filter(isObject).map((t) => ({
    type: typeof t['type'] === 'string' ? t['type'] : '',
    name: typeof t['name'] === 'string' ? t['name'] : undefined,
    parameters: stringMap(t['parameters']),
    config: stringMap(t['config']),
    includeOutput: t['include_output_in_agent_response'] === true,
  }));
}

/** `${parameters.x}` in `input`, from the tool's parameters; unknown ones stay as they are. */
const substituteInput = (input: string, params: ToolParams): string =>
  input.replace(/\$\{parameters\.([^{}]+?)\}/g, (whole, key: string) => params[key] ?? whole);

/** The parameters one tool runs with (ML Commons' `getToolExecuteParams`). */
function toolParams(spec: ToolSpec, params: ToolParams): ToolParams {
  const out: ToolParams = { ...spec.parameters };
  for (const [key, value] of Object.entries(params)) {
    let prefix: string | undefined;
    if (key.startsWith(`${spec.type}.`)) prefix = `${spec.type}.`;
    if (spec.name !== undefined && key.startsWith(`${spec.name}.`)) prefix = `${spec.name}.`;
    out[prefix === undefined ? key : key.slice(prefix.length)] = value;
  }
  Object.assign(out, spec.config);
  const input = out['input'];
  if (input !== undefined) out['input'] = substituteInput(input, out);
  return out;
}

/** A tool's output as the text the next tools see. */
function outputText(out: ToolOutput): string {
  if ('tensors' in out) return JSON.stringify({ inference_results: [{ output: out.tensors }] });
  return typeof out.value === 'string' ? out.value : JSON.stringify(out.value);
}

/** JSON-escaped without the quotes (ML Commons' `escapeJson`). */
const escapeJson = (s: string): string => JSON.stringify(s).slice(1, -1);

export class AgentExecutor {
  readonly #ml: MlService;

  constructor(ml: MlService) {
    this.#ml = ml;
  }

  async execute(agentId: string, params: ToolParams, signal?: AbortSignal): Promise<AgentOutput> {
    return { inference_results: [{ output: await this.#run(agentId, params, signal, 0) }] };
  }

  async #run(agentId: string, params: ToolParams, signal: AbortSignal | undefined, depth: number): Promise<ModelTensor[]> {
    if (depth > MAX_DEPTH) {
      throw validationError(`AgentTool nests agents more than ${MAX_DEPTH} deep (agent ${agentId}): do the agents call each other?`, {
        code: 'ml.agent_too_deep',
      });
    }
    const agent = await this.#ml.openAgent(agentId);
    if (agent === undefined) throw agentNotFound(agentId);
    const type = typeof agent['type'] === 'string' ? agent['type'].toUpperCase() : '';
    // ML Commons runs a conversational_flow agent with no memory to keep as a flow agent.
    const memoryless = type === 'CONVERSATIONAL_FLOW' && (agent['app_type'] === undefined || agent['memory'] === undefined);
    if (type !== 'FLOW' && !memoryless) {
      throw validationError(
        `flowd runs flow agents (and conversational_flow agents without memory) only: a ${type.toLowerCase()} agent ` +
          "needs ML Commons' conversation memory and LLM prompt loop, which flowd does not implement. " +
          'Register a flow agent whose tools run in order (e.g. MLModelTool with your LLM).',
        { code: 'ml.agent_type_not_supported' },
      );
    }
    const specs = toolSpecs(agent);
    if (specs.length === 0) throw validationError('no tool configured', { code: 'ml.agent_no_tools' });
    for (const s of specs) checkRunnable(s.type, s.parameters);

    const ctx = {
      ml: this.#ml,
      signal,
      runAgent: (id: string, p: ToolParams) => this.#run(id, p, signal, depth + 1),
    };
    const vars: ToolParams = { ...params };
    const tensors: ModelTensor[] = [];
    for (const [i, spec] of specs.entries()) {
      const out = await runTool(spec.type, spec.parameters, toolParams(spec, vars), ctx);
      const last = i === specs.length - 1;
      if (specs.length === 1 && type === 'FLOW') {
        // A single tool's output is the answer itself, named `response` (ML Commons' processOutput).
        if ('tensors' in out) tensors.push(...out.tensors);
        else tensors.push({ name: 'response', result: outputText(out) });
        break;
      }
      const key = spec.name ?? spec.type;
      vars[`${key}.output`] = escapeJson(outputText(out));
      if (spec.includeOutput || last) {
        if ('tensors' in out) tensors.push(...out.tensors);
        else tensors.push({ name: key, result: outputText(out) });
      }
    }
    return tensors;
  }
}
