/**
 * The OpenSearch-backed step types and their deleters, for the step registry. They need a
 * cluster (FLOWD_OPENSEARCH_URL); without one, validation reports the missing `opensearch`
 * plugin and the steps fail with the same message if run anyway.
 */
import type { ResourceDeleter, StepDefinition } from '../step.js';
import { createIndexStep } from './create-index.js';
import { createIngestPipelineStep } from './create-ingest-pipeline.js';
import { createSearchPipelineStep } from './create-search-pipeline.js';
import { deleteIndexDeleter, deleteIngestPipelineDeleter, deleteSearchPipelineDeleter } from './deleters.js';
import { reindexStep } from './reindex.js';
import { updateIndexStep } from './update-index.js';
import { updateIngestPipelineStep } from './update-ingest-pipeline.js';
import { updateSearchPipelineStep } from './update-search-pipeline.js';

export { createOpenSearchClient } from './opensearch-client.js';
export type { OpenSearchClient, OpenSearchClientOptions } from './opensearch-client.js';
export { OPENSEARCH_PLUGIN } from './step-support.js';

export const openSearchSteps: StepDefinition[] = [
  createIndexStep,
  updateIndexStep,
  reindexStep,
  createIngestPipelineStep,
  updateIngestPipelineStep,
  createSearchPipelineStep,
  updateSearchPipelineStep,
];

export const openSearchDeleters: ResourceDeleter[] = [deleteIndexDeleter, deleteIngestPipelineDeleter, deleteSearchPipelineDeleter];
