/**
 * ML Commons' REST rules for agent bodies, checked before flowd's own (agents.ts), so the REST
 * API answers ML Commons' messages: `MLAgent`'s validation for `_register` and
 * `MLAgentUpdateInput`'s for `PUT /agents/{id}`. An update replaces the fields it names and
 * keeps the rest; the type and the creation time never change.
 */
import { validationError } from '../errors.js';
import { searchError } from '../search/errors.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { SecretBox } from '../util/secret-box.js';
import { AGENT_TYPES, agentDoc } from './agents.js';
import { sealAgentSecrets } from './agent-secrets.js';
import { isObject } from './json-util.js';

/** ML Commons' `MLAgent.AGENT_NAME_MAX_LENGTH`. */
export const AGENT_NAME_MAX_LENGTH = 128;

const illegal = (message: string): Error => validationError(message, { code: 'ml.invalid_agent' });

/** The request body as an object (OpenSearch's parse errors otherwise). */
export function agentBodyObject(body: unknown): JsonObject {
  if (body === undefined) throw searchError('parse_exception', 'request body is required');
  if (!isObject(body)) throw searchError('parse_exception', 'request body must be a JSON object');
  return body;
}

const text = (v: JsonValue | undefined): string | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);

function checkName(name: string | undefined): void {
  if (name !== undefined && (name.trim() === '' || name.length > AGENT_NAME_MAX_LENGTH)) {
    throw illegal(`Agent name cannot be empty or exceed max length of ${AGENT_NAME_MAX_LENGTH} characters`);
  }
}

function checkDuplicateTools(tools: JsonValue | undefined): void {
  if (!Array.isArray(tools)) return;
  const seen = new Set<string>();
  for (const t of tools) {
    if (!isObject(t)) continue;
    const name = text(t['name']) ?? text(t['type']) ?? '';
    if (seen.has(name)) throw illegal(`Duplicate tool defined: ${name}`);
    seen.add(name);
  }
}

/** `MLAgent`'s checks, in its order, with its messages. */
export function checkRegisterBody(body: JsonObject): void {
  const name = text(body['name']);
  if (name === undefined) throw illegal("Agent name can't be null");
  checkName(name);
  const type = text(body['type']);
  if (type === undefined) throw illegal("Agent type can't be null");
  if (!(AGENT_TYPES as readonly string[]).includes(type.toUpperCase())) throw illegal(`${type} is not a valid Agent Type`);
  if (type.toUpperCase() === 'CONVERSATIONAL' && (body['llm'] === undefined || body['llm'] === null)) {
    throw illegal('We need model information for the conversational agent type');
  }
  checkDuplicateTools(body['tools']);
}

/** The fields `PUT /agents/{id}` may change (`MLAgentUpdateInput`); others are ignored, as there. */
const UPDATABLE = ['name', 'description', 'llm', 'tools', 'parameters', 'memory', 'app_type'] as const;

/** `MLAgentUpdateInput`'s checks. */
export function checkUpdateBody(body: JsonObject): void {
  checkName(text(body['name']));
  const memory = body['memory'];
  if (isObject(memory) && text(memory['type']) !== 'conversation_index') {
    throw illegal(`Invalid memory type: ${text(memory['type']) ?? 'null'}`);
  }
  checkDuplicateTools(body['tools']);
}

/**
 * The stored agent after an update: named fields replaced, then validated as a new agent would
 * be (agents.ts), with its type, `model` (credential still sealed) and `created_time` kept.
 */
export function updatedAgentDoc(stored: JsonObject, patch: JsonObject, secrets: SecretBox, now: number): JsonObject {
  checkUpdateBody(patch);
  const merged: JsonObject = {};
  for (const [k, v] of Object.entries(stored)) if (k !== 'model') merged[k] = v;
  for (const k of UPDATABLE) if (patch[k] !== undefined && patch[k] !== null) merged[k] = patch[k];
  const doc = agentDoc(merged, secrets, now);
  if (stored['model'] !== undefined) doc['model'] = stored['model'];
  if (stored['created_time'] !== undefined) doc['created_time'] = stored['created_time'];
  return sealAgentSecrets(doc, secrets);
}
