/**
 * `update_ingest_pipeline`: put the pipeline again under the same id. Nothing is recorded:
 * the resource is the one `create_ingest_pipeline` created.
 */
import type { StepDefinition } from '../step.js';
import { OPENSEARCH_PLUGIN } from './step-support.js';
import { updatePipeline } from './pipelines.js';

export const UPDATE_INGEST_PIPELINE = 'update_ingest_pipeline';

export const updateIngestPipelineStep: StepDefinition = {
  name: UPDATE_INGEST_PIPELINE,
  inputs: ['pipeline_id', 'configurations'],
  outputs: ['pipeline_id'],
  requiredPlugins: [OPENSEARCH_PLUGIN],
  execute: (ctx) => updatePipeline(ctx, 'ingest', UPDATE_INGEST_PIPELINE),
};
