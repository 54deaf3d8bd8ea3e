/**
 * A template's `flow` section, as the engine handles it. The flow is published by provisioning:
 * the provision graph gets one more node, `publish_flow`, after every sink, whose input is the
 * flow itself. The engine's substitution then resolves `${{ deploy_model.model_id }}`-style
 * references in the flow from the outputs of the provisioned nodes (a reference also adds a
 * dependency, see template/graph.ts), and deprovision, in reverse order, unpublishes before it
 * removes what the flow used.
 */
import { validationError } from '../errors.js';
import { parseFlowSpec } from '../blocks/flow-spec.js';
import type { BlockRegistry } from '../blocks/block-registry.js';
import { PUBLISH_FLOW_STEP } from '../steps/publish-flow.js';
import type { Template, Workflow } from '../template/types.js';
import { PROVISION_WORKFLOW } from '../template/types.js';

export const PUBLISH_NODE_ID = 'publish_flow';

/** The workflow provisioning runs: the template's `provision` workflow, plus the publish node when there is a flow. */
export function provisionWorkflowOf(t: Template): Workflow | undefined {
  const wf = t.workflows[PROVISION_WORKFLOW];
  if (t.flow === undefined) return wf;
  const base: Workflow = wf ?? { user_params: {}, nodes: [], edges: [] };
  if (base.nodes.some((n) => n.id === PUBLISH_NODE_ID)) {
    throw validationError(`Node id [${PUBLISH_NODE_ID}] is reserved for publishing the template's flow; rename that node.`, {
      code: 'template.reserved_node_id',
    });
  }
  const withOutgoing = new Set(base.edges.map((e) => e.source));
  const sinks = base.nodes.filter((n) => !withOutgoing.has(n.id)).map((n) => n.id);
  return {
    ...base,
    nodes: [...base.nodes, { id: PUBLISH_NODE_ID, type: PUBLISH_FLOW_STEP, previous_node_inputs: {}, user_inputs: { flow: t.flow } }],
    edges: [...base.edges, ...sinks.map((s) => ({ source: s, dest: PUBLISH_NODE_ID }))],
  };
}

/** Create-time check of the `flow` section (400 with what to fix); a no-op without one. */
export function validateFlowSection(t: Template, blocks: BlockRegistry): void {
  if (t.flow === undefined) return;
  const ids = new Set((t.workflows[PROVISION_WORKFLOW]?.nodes ?? []).map((n) => n.id));
  parseFlowSpec(t.flow, { blockType: blocks.get, provisionNodeIds: ids });
}
