/**
 * `create_index`: `PUT /{index_name}` with `configurations` as the create-index body
 * (settings, mappings, aliases). Records the index as an `index_name` resource. On reprovision
 * the index is updated through its settings, as Flow Framework's `update_index` does.
 */
import { stepFailure } from '../../errors.js';
import type { JsonObject, JsonValue } from '../../util/json.js';
import type { StepContext, StepDefinition, StepResult } from '../step.js';
import { parseConfigurations } from './configurations.js';
import { updateIndexSettings } from './update-index.js';
import { OPENSEARCH_PLUGIN, requireOpenSearch, requirePresent, requireString } from './step-support.js';

export const CREATE_INDEX = 'create_index';
export const INDEX_RESOURCE = 'index_name';

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * OpenSearch 2+ has no mapping types. The REST API rejects `{"mappings":{"_doc":{...}}}`,
 * and so does Flow Framework (MapperService.isMappingSourceTyped): one single `_doc` key.
 */
function rejectTypedMappings(body: JsonObject): void {
  const mappings = body.mappings;
  if (isObject(mappings)) {
    const keys = Object.keys(mappings);
    if (keys.length === 1 && keys[0] === '_doc') {
      throw stepFailure('The mapping definition cannot be nested under a type', {
        status: 400,
        code: 'step.typed_mapping',
      });
    }
  }
}

async function execute(ctx: StepContext): Promise<StepResult> {
  const client = requireOpenSearch(ctx.services, CREATE_INDEX);
  const indexName = requireString(ctx.inputs, 'index_name', ctx);
  requirePresent(ctx.inputs, 'configurations', ctx);
  const body = parseConfigurations(ctx.inputs.configurations, ctx, { expandArrayStrings: false });
  if (body !== undefined) rejectTypedMappings(body);
  await client.createIndex(indexName, body, ctx.signal);
  return {
    outputs: { index_name: indexName },
    resources: [{ workflow_step_name: CREATE_INDEX, resource_type: INDEX_RESOURCE, resource_id: indexName }],
  };
}

async function update(ctx: StepContext, resourceId: string): Promise<StepResult> {
  const client = requireOpenSearch(ctx.services, CREATE_INDEX);
  const indexName = requireString(ctx.inputs, 'index_name', ctx);
  // Renaming would need a new index plus a reindex: refuse instead of updating the wrong one.
  if (indexName !== resourceId) {
    throw stepFailure(
      `Changing index_name from [${resourceId}] to [${indexName}] is not supported` + ` when reprovisioning node [${ctx.nodeId}]`,
      { status: 400, code: 'step.update_not_supported' },
    );
  }
  requirePresent(ctx.inputs, 'configurations', ctx);
  await updateIndexSettings(client, indexName, ctx.inputs.configurations, ctx, ctx.signal);
  return { outputs: { index_name: indexName } };
}

export const createIndexStep: StepDefinition = {
  name: CREATE_INDEX,
  inputs: ['index_name', 'configurations'],
  outputs: ['index_name'],
  requiredPlugins: [OPENSEARCH_PLUGIN],
  resourceType: INDEX_RESOURCE,
  execute,
  update,
};
