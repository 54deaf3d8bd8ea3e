/**
 * The agent tools flowd runs, with ML Commons' names, default descriptions and semantics:
 *
 * - `MLModelTool`: `_predict` on `model_id` (remote or built-in) with the tool's parameters;
 *   answers the first output's `dataAsMap[response_field]` (default `response`), else the whole
 *   `dataAsMap` as JSON.
 * - `ConnectorTool`: the `execute` action of `connector_id`; answers `dataAsMap.response`.
 * - `AgentTool`: runs `agent_id` with the parameters (plus the JSON map in `input`, if any);
 *   answers that agent's output tensors.
 *
 * Every other ML Commons tool (search, index, PPL, RAG… tools that read an OpenSearch cluster)
 * is refused with a 400 naming the tool, before anything runs.
 */
import { stepFailure, validationError } from '../errors.js';
import type { JsonValue } from '../util/json.js';
import { isObject } from './json-util.js';
import type { MlService } from './ml-service.js';
import type { ModelTensor, PredictResponse } from './predict-io.js';

/** ML Commons' `ToolMetadata` as `GET /_plugins/_ml/tools` lists it. */
export interface ToolMetadata {
  name: string;
  description: string;
  type: string;
  version: string;
}

/** What a tool answered: a value (text, map…) or, for AgentTool, another agent's tensors. */
export type ToolOutput = { value: JsonValue } | { tensors: ModelTensor[] };

/** Tool parameters as ML Commons passes them: strings. */
export type ToolParams = Record<string, string>;

export interface ToolContext {
  ml: MlService;
  /** Runs another agent (AgentTool); `depth` guards against agents that call each other. */
  runAgent(agentId: string, params: ToolParams): Promise<ModelTensor[]>;
  signal: AbortSignal | undefined;
}

interface ToolDefinition {
  description: string;
  /** The parameter the tool cannot be built without, with ML Commons' message when missing. */
  required: { key: string; message: string };
  run(spec: ToolParams, params: ToolParams, ctx: ToolContext): Promise<ToolOutput>;
}

/** The first output tensor's `dataAsMap` (ML Commons reads `getMlModelTensors().get(0).getDataAsMap()`). */
function firstDataAsMap(res: PredictResponse): Record<string, JsonValue> | undefined {
  const map = res.inference_results[0]?.output[0]?.dataAsMap;
  return isObject(map) ? map : undefined;
}

const TOOLS: Readonly<Record<string, ToolDefinition>> = {
  AgentTool: {
    description: 'Use this tool to run any agent.',
    required: { key: 'agent_id', message: 'AgentTool needs [agent_id] in its parameters' },
    async run(spec, params, ctx) {
      const extracted: ToolParams = { ...params };
      const input = params['input'];
      if (input !== undefined) {
        try {
          const parsed: unknown = JSON.parse(input);
          if (isObject(parsed)) for (const [k, v] of Object.entries(parsed)) extracted[k] = typeof v === 'string' ? v : JSON.stringify(v);
        } catch {
          // Not a JSON map: ML Commons keeps `input` as it is.
        }
      }
      return { tensors: await ctx.runAgent(spec['agent_id'] ?? '', extracted) };
    },
  },
  ConnectorTool: {
    description: 'This tool will invoke external service.',
    required: { key: 'connector_id', message: "connector_id can't be null" },
    async run(spec, params, ctx) {
      const res = await ctx.ml.executeConnector(spec['connector_id'] ?? '', params, ctx.signal);
      return { value: firstDataAsMap(res)?.['response'] ?? null };
    },
  },
  MLModelTool: {
    description: 'Use this tool to run any model.',
    required: { key: 'model_id', message: 'MLModelTool needs [model_id] in its parameters' },
    async run(spec, params, ctx) {
      const res = await ctx.ml.predict(spec['model_id'] ?? '', { parameters: params }, ctx.signal);
      const map = firstDataAsMap(res);
      if (map === undefined) {
        throw stepFailure('LLM returns wrong or empty tensors', { status: 500, code: 'ml.tool_bad_model_output' });
      }
      const field = spec['response_field'] ?? 'response';
      return { value: field in map ? (map[field] ?? null) : JSON.stringify(map) };
    },
  },
};

/** The tools flowd runs, as `GET /_plugins/_ml/tools` lists them. */
export function listTools(): ToolMetadata[] {
  return Object.entries(TOOLS).map(([name, t]) => ({ name, description: t.description, type: name, version: 'undefined' }));
}

export function getTool(name: string): ToolMetadata | undefined {
  return listTools().find((t) => t.name === name);
}

/**
 * Refuses a tool flowd cannot run, before the agent runs anything (ML Commons builds each tool
 * just before it runs, so a later unknown tool fails only after the earlier ones ran).
 */
export function checkRunnable(type: string, spec: ToolParams): void {
  const def = TOOLS[type];
  if (def === undefined) {
    throw validationError(`Tool not found: ${type}. flowd runs these tools: ${Object.keys(TOOLS).join(', ')}`, {
      code: 'ml.tool_not_supported',
    });
  }
  const v = spec[def.required.key];
  if (v === undefined || v.trim() === '') throw validationError(def.required.message, { code: 'ml.tool_invalid' });
}

export async function runTool(type: string, spec: ToolParams, params: ToolParams, ctx: ToolContext): Promise<ToolOutput> {
  checkRunnable(type, spec);
  return (TOOLS[type] as ToolDefinition).run(spec, params, ctx);
}
