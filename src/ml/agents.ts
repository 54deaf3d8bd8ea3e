/**
 * Agents and tool specs, shaped like ML Commons' `MLAgent` / `MLToolSpec`, validated with its
 * rules (agent type, an LLM for conversational agents, string-to-string maps, unique tool
 * names). An agent's `model.credential` is sealed at rest and never returned.
 */
import { validationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { SecretBox } from '../util/secret-box.js';
import { hideAgentSecrets } from './agent-secrets.js';
import { isObject, jsonish, textOf, lenientStringMap, optionalString, requiredString, strictStringMap, truthy } from './json-util.js';

export const AGENT_KIND = 'agent';

export const AGENT_TYPES = ['FLOW', 'CONVERSATIONAL', 'CONVERSATIONAL_FLOW', 'PLAN_EXECUTE_AND_REFLECT'] as const;

/** Agent types that reason with an LLM and so need `llm.model_id`. */
const NEEDS_LLM = new Set(['CONVERSATIONAL', 'PLAN_EXECUTE_AND_REFLECT']);

const bad = (message: string): Error => validationError(message, { code: 'ml.invalid_agent' });

/** A tool spec (create_tool's output, an entry of an agent's `tools`). */
export function toolSpec(raw: JsonValue | undefined): JsonObject {
  const t = jsonish(raw);
  if (!isObject(t)) throw bad('A tool must be an object with a [type]');
  const spec: JsonObject = { type: requiredString(t, 'type', 'tool') };
  const name = optionalString(t, 'name', 'tool');
  if (name !== undefined) spec['name'] = name;
  const description = optionalString(t, 'description', 'tool');
  if (description !== undefined) spec['description'] = description;
  spec['parameters'] = lenientStringMap(t['parameters'], 'tool [parameters]') ?? {};
  const attributes = lenientStringMap(t['attributes'], 'tool [attributes]');
  if (attributes !== undefined) spec['attributes'] = attributes;
  const config = lenientStringMap(t['config'], 'tool [config]');
  if (config !== undefined) spec['config'] = config;
  spec['include_output_in_agent_response'] = truthy(t['include_output_in_agent_response']);
  const runtime = jsonish(t['runtime_resources']);
  if (runtime !== undefined && runtime !== null) {
    if (!isObject(runtime)) throw bad('tool [runtime_resources] must be a map');
    spec['runtime_resources'] = runtime;
  }
  return spec;
}

function agentType(v: JsonValue | undefined): string {
  const t = typeof v === 'string' ? v.trim() : '';
  if (t === '') throw bad('agent [type] is required');
  if (!(AGENT_TYPES as readonly string[]).includes(t.toUpperCase())) {
    throw bad(`Wrong Agent type [${t}]: expected one of ${AGENT_TYPES.map((x) => x.toLowerCase()).join(', ')}`);
  }
  return t;
}

function llmSpec(raw: JsonValue | undefined): JsonObject | undefined {
  const llm = jsonish(raw);
  if (llm === undefined || llm === null) return undefined;
  if (!isObject(llm)) throw bad('agent [llm] must be an object with [model_id] and [parameters]');
  const spec: JsonObject = { model_id: requiredString(llm, 'model_id', 'llm field') };
  const params = strictStringMap(llm['parameters'], 'llm field [parameters] must be a string to string map');
  if (params !== undefined) spec['parameters'] = params;
  return spec;
}

function toolList(raw: JsonValue | undefined): JsonObject[] {
  const tools = jsonish(raw);
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw bad('agent [tools] must be a list of tool specs');
  const specs = tools.map(toolSpec);
  const seen = new Set<string>();
  for (const s of specs) {
    const key = textOf(s['name'] ?? s['type'] ?? '');
    if (seen.has(key)) throw bad(`Duplicate tool defined: ${key}`);
    seen.add(key);
  }
  return specs;
}

/** `model` (a JSON string in Flow Framework): its credential, if any, is sealed. */
function modelSpec(raw: JsonValue | undefined, secrets: SecretBox): JsonObject | undefined {
  const model = jsonish(raw);
  if (model === undefined || model === null || model === '') return undefined;
  if (!isObject(model)) throw bad('agent [model] must be an object (model_id, model_provider, credential, model_parameters)');
  const out: JsonObject = { ...model };
  const credential = model['credential'];
  if (credential !== undefined && credential !== null) out['credential'] = secrets.sealJson(credential);
  return out;
}

/** The stored document of a register-agent body (ML Commons' REST body or register_agent's inputs). */
export function agentDoc(body: JsonObject, secrets: SecretBox, now: number): JsonObject {
  const type = agentType(body['type']);
  const doc: JsonObject = { name: requiredString(body, 'name', 'agent'), type };
  const description = optionalString(body, 'description', 'agent');
  if (description !== undefined) doc['description'] = description;
  const llm = llmSpec(body['llm']);
  if (llm !== undefined) doc['llm'] = llm;
  else if (NEEDS_LLM.has(type.toUpperCase()))
    throw bad(`We need model information for the ${type.toLowerCase()} agent type: set [llm.model_id]`);
  doc['tools'] = toolList(body['tools']);
  const params = lenientStringMap(body['parameters'], 'agent [parameters]');
  if (params !== undefined) doc['parameters'] = params;
  const memory = jsonish(body['memory']);
  if (memory !== undefined && memory !== null) {
    if (!isObject(memory)) throw bad('agent [memory] must be an object such as {"type": "conversation_index"}');
    doc['memory'] = memory;
  }
  const appType = optionalString(body, 'app_type', 'agent');
  if (appType !== undefined) doc['app_type'] = appType;
  const model = modelSpec(body['model'], secrets);
  if (model !== undefined) doc['model'] = model;
  const cmName = optionalString(body, 'context_management_name', 'agent');
  if (cmName !== undefined) doc['context_management_name'] = cmName;
  const cm = jsonish(body['context_management']);
  if (cm !== undefined && cm !== null && cm !== '') doc['context_management'] = cm;
  // Flow Framework ignores created_time/last_updated_time inputs: always now.
  doc['created_time'] = now;
  doc['last_updated_time'] = now;
  return doc;
}

/** What GET returns: the agent without its model credential nor its sealed parameters (agent-secrets.ts). */
export function publicAgent(stored: JsonObject): JsonObject {
  const doc = hideAgentSecrets(stored);
  const model = doc['model'];
  if (!isObject(model) || !('credential' in model)) return doc;
  const { credential: _sealed, ...rest } = model;
  return { ...doc, model: rest };
}
