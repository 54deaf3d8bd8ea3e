/**
 * What every OpenSearch-backed step needs before it talks to the cluster: the client (or a
 * clear failure when no cluster is configured) and its string inputs, checked at run time
 * because inputs can arrive from predecessors and substitution after validation.
 */
import { stepFailure } from '../../errors.js';
import type { JsonObject } from '../../util/json.js';
import type { StepServices } from '../services.js';
import type { OpenSearchClient } from './opensearch-client.js';

export const OPENSEARCH_PLUGIN = 'opensearch';

/** The client, or the same message validation gives when no cluster is configured. */
export function requireOpenSearch(services: StepServices, stepName: string): OpenSearchClient {
  const client = services.opensearch;
  if (client === undefined) {
    throw stepFailure(
      `The workflowStep ${stepName} requires the following plugins to be installed : [${OPENSEARCH_PLUGIN}]` +
        ' (no OpenSearch cluster is configured: set FLOWD_OPENSEARCH_URL)',
      { status: 400, code: 'step.opensearch_not_configured' },
    );
  }
  return client;
}

/** Where an input problem happened, for messages in Flow Framework's wording. */
export interface InputSite {
  workflowId: string;
  nodeId: string;
}

/** A required input that must be a non-empty string (numbers are accepted as their text). */
export function requireString(inputs: JsonObject, key: string, site: InputSite): string {
  const value = inputs[key];
  if (value === undefined || value === null) {
    throw stepFailure(`Missing required inputs [${key}] in workflow [${site.workflowId}] node [${site.nodeId}]`, {
      status: 400,
      code: 'step.missing_inputs',
    });
  }
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || text.trim() === '') {
    throw invalidInput(`[${key}] must be a non-empty string`, site);
  }
  return text;
}

/** A required input that may be any JSON value (e.g. `configurations`). */
export function requirePresent(inputs: JsonObject, key: string, site: InputSite): void {
  if (inputs[key] === undefined || inputs[key] === null) {
    throw stepFailure(`Missing required inputs [${key}] in workflow [${site.workflowId}] node [${site.nodeId}]`, {
      status: 400,
      code: 'step.missing_inputs',
    });
  }
}

export function invalidInput(message: string, site: InputSite): Error {
  return stepFailure(`Invalid input in workflow [${site.workflowId}] node [${site.nodeId}]: ${message}`, {
    status: 400,
    code: 'step.invalid_input',
  });
}
