/**
 * `create_search_pipeline`: `PUT /_search/pipeline/{pipeline_id}` with `configurations` as the
 * body; records a `pipeline_id` resource. Reprovision puts it again (put overwrites).
 */
import type { StepDefinition } from '../step.js';
import { OPENSEARCH_PLUGIN } from './step-support.js';
import { createPipeline, PIPELINE_RESOURCE, updatePipeline } from './pipelines.js';

export const CREATE_SEARCH_PIPELINE = 'create_search_pipeline';

export const createSearchPipelineStep: StepDefinition = {
  name: CREATE_SEARCH_PIPELINE,
  inputs: ['pipeline_id', 'configurations'],
  outputs: ['pipeline_id'],
  requiredPlugins: [OPENSEARCH_PLUGIN],
  resourceType: PIPELINE_RESOURCE,
  execute: (ctx) => createPipeline(ctx, 'search', CREATE_SEARCH_PIPELINE),
  update: (ctx, resourceId) => updatePipeline(ctx, 'search', CREATE_SEARCH_PIPELINE, resourceId),
};
