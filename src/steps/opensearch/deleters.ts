/**
 * How OpenSearch resources are removed on deprovision and rollback. All of them need an
 * explicit `allow_delete` (indices and pipelines may hold user data), and a resource that is
 * already gone (404) counts as removed, unlike Flow Framework where it stays stuck.
 */
import type { DeleteContext, ResourceDeleter } from '../step.js';
import { CREATE_INDEX } from './create-index.js';
import { CREATE_INGEST_PIPELINE } from './create-ingest-pipeline.js';
import { CREATE_SEARCH_PIPELINE } from './create-search-pipeline.js';
import { deletePipeline } from './pipelines.js';
import { requireOpenSearch } from './step-support.js';

export const deleteIndexDeleter: ResourceDeleter = {
  createdBy: CREATE_INDEX,
  deleteStep: 'delete_index',
  requiresAllowDelete: true,
  async remove(ctx: DeleteContext) {
    await requireOpenSearch(ctx.services, 'delete_index').deleteIndex(ctx.resourceId, ctx.signal);
  },
};

export const deleteIngestPipelineDeleter: ResourceDeleter = {
  createdBy: CREATE_INGEST_PIPELINE,
  deleteStep: 'delete_ingest_pipeline',
  requiresAllowDelete: true,
  async remove(ctx: DeleteContext) {
    const client = requireOpenSearch(ctx.services, 'delete_ingest_pipeline');
    await deletePipeline(client, 'ingest', ctx.resourceId, ctx.signal);
  },
};

export const deleteSearchPipelineDeleter: ResourceDeleter = {
  createdBy: CREATE_SEARCH_PIPELINE,
  deleteStep: 'delete_search_pipeline',
  requiresAllowDelete: true,
  async remove(ctx: DeleteContext) {
    const client = requireOpenSearch(ctx.services, 'delete_search_pipeline');
    await deletePipeline(client, 'search', ctx.resourceId, ctx.signal);
  },
};
