/**
 * `reindex`: `POST /_reindex` from `source_index` to `destination_index`, waiting for
 * completion. Records no resource (the destination is usually a `create_index` resource).
 * Unlike Flow Framework, a missing `requests_per_second` means unlimited instead of an NPE.
 */
import { isFlowdError, stepFailure } from '../../errors.js';
import type { JsonObject, JsonValue } from '../../util/json.js';
import type { StepContext, StepDefinition, StepResult } from '../step.js';
import type { ReindexParams } from './opensearch-client.js';
import { invalidInput, OPENSEARCH_PLUGIN, requireOpenSearch, requireString, type InputSite } from './step-support.js';

export const REINDEX = 'reindex';

const show = (v: JsonValue): string => (typeof v === 'string' ? v : JSON.stringify(v));

function parseBoolean(value: JsonValue, key: string, site: InputSite): boolean {
  // OpenSearch's Booleans.parseBoolean is strict: only true/false (or their text).
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalidInput(`[${key}] must be true or false, got [${show(value)}]`, site);
}

function parseNumber(value: JsonValue, key: string, site: InputSite): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (Number.isNaN(n)) throw invalidInput(`[${key}] must be a number, got [${show(value)}]`, site);
  return n;
}

function parsePositiveInt(value: JsonValue, key: string, site: InputSite): number {
  const n = parseNumber(value, key, site);
  if (!Number.isInteger(n) || n < 1) {
    throw invalidInput(`[${key}] must be a positive integer, got [${show(value)}]`, site);
  }
  return n;
}

/** Query parameters and body additions from the optional inputs. */
function optionalParams(inputs: JsonObject, site: InputSite): { params: ReindexParams; maxDocs?: number } {
  const params: ReindexParams = { wait_for_completion: true };
  const { refresh, requests_per_second: rps, require_alias: requireAlias, slices, max_docs: maxDocs } = inputs;
  if (refresh !== undefined && refresh !== null) params.refresh = parseBoolean(refresh, 'refresh', site);
  if (requireAlias !== undefined && requireAlias !== null) {
    params.require_alias = parseBoolean(requireAlias, 'require_alias', site);
  }
  // Negative (or absent, or infinite) means unlimited, which OpenSearch spells -1.
  let perSecond = rps === undefined || rps === null ? -1 : parseNumber(rps, 'requests_per_second', site);
  if (perSecond < 0 || !Number.isFinite(perSecond)) perSecond = -1;
  if (perSecond === 0) {
    throw invalidInput('[requests_per_second] must be greater than 0, or negative for unlimited', site);
  }
  params.requests_per_second = perSecond;
  if (slices !== undefined && slices !== null) {
    params.slices = slices === 'auto' ? 'auto' : parsePositiveInt(slices, 'slices', site);
  }
  if (maxDocs === undefined || maxDocs === null) return { params };
  return { params, maxDocs: parsePositiveInt(maxDocs, 'max_docs', site) };
}

function failureReason(failure: JsonValue | undefined): string {
  if (typeof failure === 'object' && failure !== null && !Array.isArray(failure)) {
    const cause = failure.cause;
    if (typeof cause === 'object' && cause !== null && !Array.isArray(cause) && typeof cause.reason === 'string') {
      return cause.reason;
    }
    if (typeof failure.reason === 'string') return failure.reason;
  }
  return JSON.stringify(failure ?? null);
}

async function execute(ctx: StepContext): Promise<StepResult> {
  const client = requireOpenSearch(ctx.services, REINDEX);
  const source = requireString(ctx.inputs, 'source_index', ctx);
  const destination = requireString(ctx.inputs, 'destination_index', ctx);
  const { params, maxDocs } = optionalParams(ctx.inputs, ctx);
  const body: JsonObject = { source: { index: source }, dest: { index: destination } };
  if (maxDocs !== undefined) body.max_docs = maxDocs;

  const failedMessage = `Failed to reindex from source ${source} to ${destination}`;
  let response;
  try {
    response = await client.reindex(body, params, ctx.signal);
  } catch (e) {
    // Name the step's operation but keep OpenSearch's status and code; aborts pass unchanged.
    if (!isFlowdError(e)) throw e;
    throw stepFailure(`${failedMessage}: ${e.message}`, {
      status: e.status,
      code: e.code,
      retryable: e.retryable,
      cause: e,
    });
  }
  const failures = Array.isArray(response.failures) ? response.failures : [];
  if (failures.length > 0) {
    throw stepFailure(`${failedMessage}: ${failures.length} failure(s), first: ${failureReason(failures[0])}`, {
      status: 400,
      code: 'step.reindex_failures',
    });
  }
  return { outputs: { reindex: { destination_index: destination, source_index: source } } };
}

export const reindexStep: StepDefinition = {
  name: REINDEX,
  inputs: ['source_index', 'destination_index'],
  optionalInputs: ['refresh', 'requests_per_second', 'require_alias', 'slices', 'max_docs'],
  outputs: ['reindex'],
  requiredPlugins: [OPENSEARCH_PLUGIN],
  execute,
};
