/**
 * `publish_flow`: the last node of the provision graph of a template that has a `flow`
 * section (added by engine/flow-section.ts, never written by users). Its input is the flow with
 * every `${{ node.output }}` already substituted by the engine, so the runtime publishes
 * exactly what was provisioned. Each service is a resource (`service_id`), so deprovision
 * (reverse topological order: this node first) unpublishes before models are undeployed.
 */
import { internalError, validationError } from '../errors.js';
import type { ResourceDeleter, StepContext, StepDefinition, StepResult } from './step.js';

export const PUBLISH_FLOW_STEP = 'publish_flow';

async function publish(ctx: StepContext): Promise<StepResult> {
  const flow = ctx.inputs['flow'];
  if (typeof flow !== 'object' || flow === null || Array.isArray(flow)) {
    throw validationError(`[flow] of node [${ctx.nodeId}] must be an object`, { node: ctx.nodeId });
  }
  if (!ctx.services.flows) throw internalError('publish_flow needs the runtime, which this node was started without');
  const res = await ctx.services.flows.publish(ctx.workflowId, flow, ctx.signal);
  return {
    outputs: { service_ids: res.serviceIds, mode: res.mode, version: res.version },
    resources: res.serviceIds.map((id) => ({ workflow_step_name: PUBLISH_FLOW_STEP, resource_type: 'service_id', resource_id: id })),
  };
}

export const publishFlowStep: StepDefinition = {
  name: PUBLISH_FLOW_STEP,
  inputs: ['flow'],
  outputs: ['service_ids', 'mode', 'version'],
  requiredPlugins: [],
  resourceType: 'service_id',
  // Publishing waits for every instance to load (models included).
  defaultTimeoutMs: 120_000,
  execute: publish,
  // Reprovision: a rolling republish (old instances serve until new ones are ready).
  update: (ctx) => publish(ctx),
};

export const publishFlowDeleter: ResourceDeleter = {
  createdBy: PUBLISH_FLOW_STEP,
  deleteStep: 'unpublish_flow',
  requiresAllowDelete: false,
  async remove(ctx) {
    // The first service removed unpublishes the whole flow; the others are then already gone.
    await ctx.services.flows?.unpublish(ctx.workflowId);
  },
};
