/**
 * `update_index`: apply the `settings` of a create-index body to an existing index. Only
 * settings are supported (as in Flow Framework); they are flattened, compared with the index's
 * current settings, and only changed keys are sent. Also used by `create_index` on reprovision.
 */
import { stepFailure } from '../../errors.js';
import type { JsonObject, JsonValue } from '../../util/json.js';
import type { StepContext, StepDefinition, StepResult } from '../step.js';
import { parseConfigurations } from './configurations.js';
import { changedSettings, flattenSettings } from './index-settings.js';
import type { OpenSearchClient } from './opensearch-client.js';
import { OPENSEARCH_PLUGIN, requireOpenSearch, requirePresent, requireString, type InputSite } from './step-support.js';

export const UPDATE_INDEX = 'update_index';

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const badRequest = (message: string): Error => stepFailure(message, { status: 400, code: 'step.update_index' });

/** Sends the changed settings of `configurations` to `indexName`; returns what was sent. */
export async function updateIndexSettings(
  client: OpenSearchClient,
  indexName: string,
  configurations: JsonValue | undefined,
  site: InputSite,
  signal: AbortSignal,
): Promise<JsonObject> {
  const config = parseConfigurations(configurations, site, { expandArrayStrings: false });
  if (config === undefined) {
    throw badRequest(`Failed to update index settings for index ${indexName}, index configuration is not given`);
  }
  const settings = config.settings;
  if (!isObject(settings)) {
    throw badRequest(`Failed to update index settings for index ${indexName}, settings are not found in the index configuration`);
  }
  const current = await client.getIndexSettings(indexName, signal);
  const changed = changedSettings(flattenSettings(settings), flattenSettings(current.settings), flattenSettings(current.defaults));
  if (Object.keys(changed).length === 0) {
    throw badRequest(`Failed to update index settings for index ${indexName}, no settings have been updated`);
  }
  await client.putIndexSettings(indexName, changed, signal);
  return changed;
}

async function execute(ctx: StepContext): Promise<StepResult> {
  const client = requireOpenSearch(ctx.services, UPDATE_INDEX);
  const indexName = requireString(ctx.inputs, 'index_name', ctx);
  requirePresent(ctx.inputs, 'configurations', ctx);
  await updateIndexSettings(client, indexName, ctx.inputs.configurations, ctx, ctx.signal);
  return { outputs: { index_name: indexName } };
}

export const updateIndexStep: StepDefinition = {
  name: UPDATE_INDEX,
  inputs: ['index_name', 'configurations'],
  outputs: ['index_name'],
  requiredPlugins: [OPENSEARCH_PLUGIN],
  execute,
};
