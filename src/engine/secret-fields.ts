/**
 * Secret step inputs (`credential` and whatever a step declares secret, nested paths such as
 * `model.credential` included) are sealed with AES-256-GCM before a template is stored and
 * opened only when a step runs. Every value opened is remembered as a secret, so that step errors are scrubbed of it before they are stored or
 * logged (step-error-text.ts), whatever message a step or a library built.
 */
import type { SecretBox } from '../util/secret-box.js';
import { SecretBox as Box } from '../util/secret-box.js';
import type { StepRegistry } from '../steps/step-registry.js';
import type { Template, WorkflowNode } from '../template/types.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import { rememberSecret } from '../util/secret.js';

function mapNodes(t: Template, fn: (n: WorkflowNode) => WorkflowNode): Template {
  const workflows: Template['workflows'] = {};
  for (const [name, wf] of Object.entries(t.workflows)) workflows[name] = { ...wf, nodes: wf.nodes.map(fn) };
  return { ...t, workflows };
}

/**
 * Seals the value at a secret path (`credential`, `model.credential`). When a container on
 * the path is text (Flow Framework passes `model` as a JSON string), the whole top-level
 * input is sealed: part of a string cannot be. Returns `inputs` itself when nothing changed.
 */
/** Whether JSON text `s` holds an object with a value at `path`. */
function textHolds(s: string, path: string[]): boolean {
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    return false;
  }
  for (const k of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, k)) return false;
    v = (v as Record<string, unknown>)[k];
  }
  return true;
}

function sealPath(inputs: JsonObject, path: string[], box: SecretBox): JsonObject {
  const [key, ...rest] = path;
  if (key === undefined || !Object.hasOwn(inputs, key)) return inputs;
  const v = inputs[key] as JsonValue;
  if (Box.isSealed(v)) return inputs;
  let sealed: JsonValue;
  if (rest.length === 0 || (typeof v === 'string' && textHolds(v, rest))) sealed = box.sealJson(v);
  else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const inner = sealPath(v, rest, box);
    if (inner === v) return inputs;
    sealed = inner;
  } else return inputs;
  return { ...inputs, [key]: sealed };
}

export function sealTemplateSecrets(t: Template, registry: StepRegistry, box: SecretBox): Template {
  return mapNodes(t, (n) => {
    let inputs = n.user_inputs;
    for (const path of registry.secretPaths(n.type)) inputs = sealPath(inputs, path.split('.'), box);
    return inputs === n.user_inputs ? n : { ...n, user_inputs: inputs };
  });
}

/** Remembers every scalar of an opened secret input (the values of a `credential` map…). */
function rememberLeaves(v: JsonValue): void {
  if (typeof v === 'string') rememberSecret(v);
  else if (typeof v === 'number') rememberSecret(String(v));
  else if (Array.isArray(v)) v.forEach(rememberLeaves);
  else if (v !== null && typeof v === 'object') Object.values(v).forEach(rememberLeaves);
}

/** A copy of `v` with every sealed value opened (secret paths may be nested), or `v` itself. */
function openDeep(v: JsonValue, box: SecretBox): JsonValue {
  if (Box.isSealed(v)) {
    const opened = box.openJson<JsonValue>(v);
    rememberLeaves(opened);
    return opened;
  }
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const items = v.map((x) => openDeep(x, box));
    return items.some((x, i) => x !== v[i]) ? items : v;
  }
  let out: JsonObject | undefined;
  for (const [k, x] of Object.entries(v)) {
    const opened = openDeep(x, box);
    if (opened !== x) {
      out ??= { ...v };
      out[k] = opened;
    }
  }
  return out ?? v;
}

export function openNodeSecrets(inputs: JsonObject, box: SecretBox): JsonObject {
  return openDeep(inputs, box) as JsonObject;
}
