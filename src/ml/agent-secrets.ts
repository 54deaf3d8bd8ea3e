/**
 * Secrets inside an agent. ML Commons keeps tool and LLM parameters as plain strings, so an API
 * key put there (a `ConnectorTool` header value, an LLM `api_key`) would be returned by every
 * GET and `_search`. flowd seals such parameters at rest, never renders them, and opens them
 * only to run the agent. A parameter is a secret by its name (api_key, secret_key, password,
 * access_token…), never by its value; `max_tokens` and the like are not.
 */
import type { JsonObject, JsonValue } from '../util/json.js';
import { SecretBox } from '../util/secret-box.js';
import { isObject } from './json-util.js';

const SECRET_NAME =
  /^(?:.*[_.-])?(?:api[_-]?key|apikey|secret|secret[_-]?key|client[_-]?secret|password|passwd|access[_-]?key|session[_-]?token|access[_-]?token|auth[_-]?token|bearer[_-]?token|refresh[_-]?token|private[_-]?key|credential|credentials|authorization)$/i;

/** Whether a parameter of this name holds a secret. */
export const isSecretParameter = (name: string): boolean => SECRET_NAME.test(name);

type MapFn = (key: string, value: string) => string | undefined;

function mapParams(params: JsonValue | undefined, fn: MapFn): JsonValue | undefined {
  if (!isObject(params)) return params;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== 'string') {
      out[k] = v;
      continue;
    }
    const mapped = fn(k, v);
    if (mapped !== undefined) out[k] = mapped;
  }
  return out;
}

/** The agent with `fn` applied to the parameters of its tools, its LLM and itself. */
function mapAgentParams(doc: JsonObject, fn: MapFn): JsonObject {
  const out: JsonObject = { ...doc };
  if ('parameters' in doc) out['parameters'] = mapParams(doc['parameters'], fn) ?? null;
  const llm = doc['llm'];
  if (isObject(llm) && 'parameters' in llm) out['llm'] = { ...llm, parameters: mapParams(llm['parameters'], fn) ?? null };
  const tools = doc['tools'];
  if (Array.isArray(tools)) {
    out['tools'] = tools.map((t) => (isObject(t) && 'parameters' in t ? { ...t, parameters: mapParams(t['parameters'], fn) ?? null } : t));
  }
  return out;
}

/** At rest: every secret-named parameter sealed (already sealed ones kept). */
export function sealAgentSecrets(doc: JsonObject, secrets: SecretBox): JsonObject {
  return mapAgentParams(doc, (k, v) => (isSecretParameter(k) && !SecretBox.isSealed(v) ? secrets.seal(v) : v));
}

/** What callers see: sealed parameters left out. */
export function hideAgentSecrets(doc: JsonObject): JsonObject {
  return mapAgentParams(doc, (_k, v) => (SecretBox.isSealed(v) ? undefined : v));
}

/** To run the agent (in memory only): sealed parameters opened. */
export function openAgentSecrets(doc: JsonObject, secrets: SecretBox): JsonObject {
  return mapAgentParams(doc, (_k, v) => secrets.open(v));
}
