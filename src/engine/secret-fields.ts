/**
 * Secret step inputs (`credential` and whatever a step declares secret) are sealed with
 * AES-256-GCM before a template is stored and opened only when a step runs. Every value opened
 * is remembered as a secret, so that step errors are scrubbed of it before they are stored or
 * logged (step-error-text.ts), whatever message a step or a library built.
 */
import type { SecretBox } from '../util/secret-box.js';
import { SecretBox as Box } from '../util/secret-box.js';
import type { StepRegistry } from '../steps/step-registry.js';
import type { JsonObject, JsonValue, Template, WorkflowNode } from '../template/types.js';
import { rememberSecret } from '../util/secret.js';

function mapNodes(t: Template, fn: (n: WorkflowNode) => WorkflowNode): Template {
  const workflows: Template['workflows'] = {};
  for (const [name, wf] of Object.entries(t.workflows)) workflows[name] = { ...wf, nodes: wf.nodes.map(fn) };
  return { ...t, workflows };
}

export function sealTemplateSecrets(t: Template, registry: StepRegistry, box: SecretBox): Template {
  return mapNodes(t, (n) => {
    let changed: JsonObject | undefined;
    for (const [k, v] of Object.entries(n.user_inputs)) {
      if (registry.isSecret(n.type, k) && !Box.isSealed(v)) {
        changed ??= { ...n.user_inputs };
        changed[k] = box.sealJson(v);
      }
    }
    return changed ? { ...n, user_inputs: changed } : n;
  });
}

/** Remembers every scalar of an opened secret input (the values of a `credential` map…). */
function rememberLeaves(v: JsonValue): void {
  if (typeof v === 'string') rememberSecret(v);
  else if (typeof v === 'number') rememberSecret(String(v));
  else if (Array.isArray(v)) v.forEach(rememberLeaves);
  else if (v !== null && typeof v === 'object') Object.values(v).forEach(rememberLeaves);
}

export function openNodeSecrets(inputs: JsonObject, box: SecretBox): JsonObject {
  let out: JsonObject | undefined;
  for (const [k, v] of Object.entries(inputs)) {
    if (Box.isSealed(v)) {
      out ??= { ...inputs };
      const opened = box.openJson<JsonValue>(v);
      rememberLeaves(opened);
      out[k] = opened;
    }
  }
  return out ?? inputs;
}
