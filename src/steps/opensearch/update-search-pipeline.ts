/**
 * `update_search_pipeline`: put the pipeline again under the same id. Nothing is recorded:
 * the resource is the one `create_search_pipeline` created.
 */
import type { StepDefinition } from '../step.js';
import { OPENSEARCH_PLUGIN } from './step-support.js';
import { updatePipeline } from './pipelines.js';

export const UPDATE_SEARCH_PIPELINE = 'update_search_pipeline';

export const updateSearchPipelineStep: StepDefinition = {
  name: UPDATE_SEARCH_PIPELINE,
  inputs: ['pipeline_id', 'configurations'],
  outputs: ['pipeline_id'],
  requiredPlugins: [OPENSEARCH_PLUGIN],
  execute: (ctx) => updatePipeline(ctx, 'search', UPDATE_SEARCH_PIPELINE),
};
