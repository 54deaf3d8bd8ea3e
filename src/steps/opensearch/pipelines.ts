/**
 * Ingest and search pipelines share one shape: `PUT /_{kind}/pipeline/{pipeline_id}` with
 * `configurations` as the body, create-or-overwrite. The create, update and delete steps of
 * both kinds are built on these helpers so they cannot drift apart.
 */
import { stepFailure } from '../../errors.js';
import type { StepContext, StepResult } from '../step.js';
import { parseConfigurations } from './configurations.js';
import type { OpenSearchClient } from './opensearch-client.js';
import { invalidInput, requireOpenSearch, requirePresent, requireString } from './step-support.js';

export type PipelineKind = 'ingest' | 'search';

export const PIPELINE_RESOURCE = 'pipeline_id';

/** Puts the pipeline described by the step inputs; returns its id. */
export async function putPipeline(ctx: StepContext, kind: PipelineKind, stepName: string): Promise<string> {
  const client = requireOpenSearch(ctx.services, stepName);
  const pipelineId = requireString(ctx.inputs, PIPELINE_RESOURCE, ctx);
  requirePresent(ctx.inputs, 'configurations', ctx);
  const body = parseConfigurations(ctx.inputs.configurations, ctx, { expandArrayStrings: true });
  // A pipeline has no meaningful empty body: say so rather than relay OpenSearch's parse error.
  if (body === undefined) throw invalidInput('[configurations] must describe the pipeline', ctx);
  await putByKind(client, kind, pipelineId, body, ctx.signal);
  return pipelineId;
}

function putByKind(
  client: OpenSearchClient,
  kind: PipelineKind,
  id: string,
  body: Parameters<OpenSearchClient['putIngestPipeline']>[1],
  signal: AbortSignal,
): Promise<unknown> {
  return kind === 'ingest' ? client.putIngestPipeline(id, body, signal) : client.putSearchPipeline(id, body, signal);
}

/** Create step: put, record the pipeline as a resource. */
export async function createPipeline(ctx: StepContext, kind: PipelineKind, stepName: string): Promise<StepResult> {
  const pipelineId = await putPipeline(ctx, kind, stepName);
  return {
    outputs: { pipeline_id: pipelineId },
    resources: [{ workflow_step_name: stepName, resource_type: PIPELINE_RESOURCE, resource_id: pipelineId }],
  };
}

/** Update (step type or reprovision of a create step): put again under the same id. */
export async function updatePipeline(ctx: StepContext, kind: PipelineKind, stepName: string, resourceId?: string): Promise<StepResult> {
  const wanted = ctx.inputs[PIPELINE_RESOURCE];
  // A new id would create a second pipeline and orphan the recorded one: refuse it.
  if (resourceId !== undefined && typeof wanted === 'string' && wanted !== resourceId) {
    throw stepFailure(
      `Changing pipeline_id from [${resourceId}] to [${wanted}] is not supported` + ` when reprovisioning node [${ctx.nodeId}]`,
      { status: 400, code: 'step.update_not_supported' },
    );
  }
  const pipelineId = await putPipeline(ctx, kind, stepName);
  return { outputs: { pipeline_id: pipelineId } };
}

/** Deleter body: "already gone" (404) resolves inside the client. */
export function deletePipeline(client: OpenSearchClient, kind: PipelineKind, id: string, signal: AbortSignal): Promise<void> {
  return kind === 'ingest' ? client.deleteIngestPipeline(id, signal) : client.deleteSearchPipeline(id, signal);
}
