/**
 * How a step gets its inputs, as in Flow Framework. For each key the step declares, in priority:
 * 1. a `previous_node_inputs` entry naming that key → that predecessor's output;
 * 2. `user_params[key]`; 3. `user_inputs[key]`; 4. any direct predecessor's output with that key.
 * Then `${{ node.key }}` / `${{ param }}` substitution over everything. Undeclared
 * `user_inputs` pass through (substituted) so generic steps see all they were given.
 */
import { FlowdError } from '../errors.js';
import { substitute } from '../template/substitute.js';
import type { Workflow } from '../template/types.js';
import type { JsonObject, JsonValue } from '../util/json.js';
import type { CompiledNode } from '../template/graph.js';
import type { StepDefinition } from '../steps/step.js';

export interface ResolveInput {
  workflowId: string;
  compiled: CompiledNode;
  step: StepDefinition;
  workflow: Workflow;
  /** Outputs of finished nodes, by node id. */
  outputs: ReadonlyMap<string, JsonObject>;
  params: Readonly<Record<string, string>>;
  /** The node's user_inputs with secrets opened. */
  userInputs: JsonObject;
}

export function resolveInputs(r: ResolveInput): JsonObject {
  const { node, predecessors } = r.compiled;
  const subParams = { ...r.workflow.user_params, ...r.params };
  const sources = {
    params: subParams,
    output: (nodeId: string, key: string): JsonValue | undefined => r.outputs.get(nodeId)?.[key],
  };
  const inputs = substitute(r.userInputs, sources) as JsonObject;
  const declared = [...r.step.inputs, ...(r.step.runtimeRequired ?? []), ...(r.step.optionalInputs ?? [])];
  for (const key of new Set(declared)) {
    let value: JsonValue | undefined;
    for (const [pred, want] of Object.entries(node.previous_node_inputs)) {
      if (want === key) {
        value = r.outputs.get(pred)?.[key];
        if (value !== undefined) break;
      }
    }
    value ??= r.workflow.user_params[key];
    value ??= inputs[key];
    if (value === undefined) {
      for (const p of predecessors) {
        const v = r.outputs.get(p)?.[key];
        if (v !== undefined) {
          value = v;
          break;
        }
      }
    }
    if (value !== undefined) inputs[key] = typeof value === 'string' ? substitute(value, sources) : value;
  }
  const required = [...r.step.inputs, ...(r.step.runtimeRequired ?? [])];
  const missing = [...new Set(required)].filter((k) => inputs[k] === undefined);
  if (missing.length > 0) {
    throw new FlowdError('validation', `Missing required inputs [${missing.join(', ')}] in workflow [${r.workflowId}] node [${node.id}]`, {
      code: 'step.missing_inputs',
      node: node.id,
    });
  }
  return inputs;
}

/**
 * A node's `user_inputs` as its deleter needs them: `${{ node.output }}` and `${{ param }}`
 * substituted from the run that created the resource, so a `delete_url` built from a param or
 * another node's output names the real resource (unresolved placeholders stay verbatim).
 */
export function resolveForDelete(
  userInputs: JsonObject,
  workflow: Workflow,
  outputs: ReadonlyMap<string, JsonObject>,
  params: Readonly<Record<string, string>>,
): JsonObject {
  return substitute(userInputs, {
    params: { ...workflow.user_params, ...params },
    output: (nodeId: string, key: string): JsonValue | undefined => outputs.get(nodeId)?.[key],
  }) as JsonObject;
}
