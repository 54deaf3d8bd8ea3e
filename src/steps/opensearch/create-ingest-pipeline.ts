/**
 * `create_ingest_pipeline`: `PUT /_ingest/pipeline/{pipeline_id}` with `configurations` as the
 * body; records a `pipeline_id` resource. Reprovision puts it again (put overwrites).
 */
import type { StepDefinition } from '../step.js';
import { OPENSEARCH_PLUGIN } from './step-support.js';
import { createPipeline, PIPELINE_RESOURCE, updatePipeline } from './pipelines.js';

export const CREATE_INGEST_PIPELINE = 'create_ingest_pipeline';

export const createIngestPipelineStep: StepDefinition = {
  name: CREATE_INGEST_PIPELINE,
  inputs: ['pipeline_id', 'configurations'],
  // Resolved so it can feed `${{ }}` substitution in the processors (Flow Framework does too).
  optionalInputs: ['model_id'],
  outputs: ['pipeline_id'],
  requiredPlugins: [OPENSEARCH_PLUGIN],
  resourceType: PIPELINE_RESOURCE,
  execute: (ctx) => createPipeline(ctx, 'ingest', CREATE_INGEST_PIPELINE),
  update: (ctx, resourceId) => updatePipeline(ctx, 'ingest', CREATE_INGEST_PIPELINE, resourceId),
};
